/**
 * Mesh: one group chat. A thin coordinator of its parts, each of which owns one thing:
 * - SignalingConnection: the WebSocket to the signaling server (join, reconnect, resume,
 *   signals queued while not joined);
 * - PeerDirectory: who is in the room and how chat reaches each peer (the only writer
 *   of a peer's transport);
 * - PeerLink: one RTCPeerConnection and its `chat` channel per directly reached peer,
 *   driven by the protocol's negotiation machine;
 * - RelayTransport: chat through the server for pairs that cannot connect directly.
 * A plain EventTarget, usable without any element, and in Node with an injected
 * WebSocket and RTCPeerConnection.
 *
 * Flow, as in the reference design: join with `new-peer`; the server's `welcome` lists
 * the peers already there, and they will offer to us; a later `new-peer` notice names a
 * newcomer, and we offer to it; `peer-disconnected` ends that peer's connection.
 */
import {
  LIMITS,
  defaultPeerName,
  encodeChannelMessage,
  epochVerdict,
  parseChannelMessage,
  protocolError,
  type ChannelMessage,
  type ChatMessage,
  type ClientMessage,
  type ErrorCode,
  type IceServer,
  type NegotiationOptions,
  type NoteCode,
  type PeerSummary,
  type RelayPayload,
  type RelayedMessage,
  type ServerMessage,
  FILE_VERSION,
  SEALED_RELAY_VERSION,
  SEALED_SEQUENCE_VERSION,
  VERIFY_VERSION,
  HISTORY_VERSION,
  MAX_RECEIPT_IDS,
  RECEIPT_VERSION,
  RENAME_VERSION,
  NAME_FORBIDDEN,
  lineSigningText,
  MAX_LINE_SIGNATURES,
  SIGNED_LINES_VERSION,
  HISTORY_LIMITS,
} from '../protocol/index.js';
import { PeerLink, type PeerConnectionConstructor } from './peer-link.js';
import { makeDtlsCertificate } from './dtls-certificate.js';
import { AfterForming } from './after-forming.js';
import { refusedIceServers } from './ice-server-check.js';
import { PeerDirectory, type PeerEntry } from './peer-directory.js';
import { RelayTransport } from './relay-transport.js';
import type { HistorySettings, MeshHistory } from './mesh-history.js';
import type { Claims, MeshTrust } from './mesh-trust.js';
import type { FileLimits, MeshFiles } from './mesh-files.js';
import type { VerificationOutcome } from './peer-verification.js';
import { SignalingConnection, type ReconnectSettings, type SocketConstructor } from './signaling-connection.js';
import type { MeshEventMap, MeshEventName, PeerInfo, PeerPath } from './mesh-events.js';

export type { SignalingSocket, SocketConstructor } from './signaling-connection.js';

export interface MeshOptions {
  /**
   * Signaling server URL, e.g. `ws://localhost:8080`; or several separated by spaces
   * (processes of one service, `--redis`): one at random, the next on each reconnect.
   */
  readonly server: string;
  /** Room to join; default `lobby`. */
  readonly room?: string;
  /** Display name; default: the server's `guest-xxxx`. */
  readonly name?: string;
  /** WebSocket constructor; default `globalThis.WebSocket`; null: none. */
  readonly WebSocket?: SocketConstructor | null;
  /** RTCPeerConnection constructor; default `globalThis.RTCPeerConnection`; null: none. */
  readonly RTCPeerConnection?: PeerConnectionConstructor | null;
  /** ICE servers; default: the ones the signaling server hands out in `welcome` (and renews). */
  readonly iceServers?: readonly IceServer[];
  /**
   * `relay`: only TURN candidates, so peers never learn this browser's addresses ("hide
   * my IP address"; needs a TURN server). Default `all`.
   */
  readonly iceTransportPolicy?: RTCIceTransportPolicy;
  /**
   * Which long-lived identity key of this profile to use (README, "Verifying who you talk
   * to"): `default`, another name, or `ephemeral` (a new key for this page only, nothing
   * kept). Default `default`.
   */
  readonly identity?: string;
  /** Files offered by peers larger than this (bytes) are declined at once. Default 2 GiB; settable later (`maxFileSize`). */
  readonly maxFileSize?: number;
  /** Raster images up to this size (bytes) are accepted without asking. Default 10 MB; 0: ask for every file. */
  readonly autoAcceptImages?: number;
  /**
   * What a peer's files can make this side hold (README, "Files and images"): waiting
   * offers per peer (20), images accepted without asking per peer and minute (50 MB, 20
   * files), the session's quota of received bytes (200 MB), and how long an accepted
   * transfer may take to start (30 s).
   */
  readonly fileLimits?: Pick<FileLimits, 'maxPendingOffers' | 'autoAcceptBytesPerMinute' | 'autoAcceptFilesPerMinute' | 'receivedQuota' | 'startTimeout'>;
  /**
   * History for late joiners: the room's recent public messages are kept (default the
   * last 200 of the last 24 hours), passed on to peers that join later, and asked of the
   * peers already here on joining. `false`: none of that.
   */
  readonly history?: false | HistorySettings;
  /**
   * The `resume` token of an earlier welcome (see `resumeToken`): joining with it keeps
   * that id, e.g. after a reload. A token whose id is in use elsewhere takes it over.
   */
  readonly resume?: string;
  /**
   * Tells the server this page keeps its token across a reload: if its socket drops
   * without a clean close, peers wait a moment for it (`returning`) instead of saying it left.
   */
  readonly persist?: boolean;
  /** How long a peer whose page went away saying it would be back (`returning`) is waited for, in ms. Default 10 000. */
  readonly returnGraceMs?: number;
  readonly negotiation?: Partial<NegotiationOptions>;
  /**
   * Reconnecting to the signaling server after the socket drops: exponential backoff
   * with jitter, from `initialDelayMs` up to `maxDelayMs`. `false`: do not reconnect.
   */
  readonly reconnect?: false | ReconnectSettings;
}

/**
 * `reconnecting`: the signaling socket dropped and the mesh is trying again (open data
 * channels keep working meanwhile); `disconnected`: it dropped and will not retry;
 * `refused`: the server refused the join (`refusal` says why): a full room is asked again
 * every 10 s (`nextAttemptAt`), a name or room it refuses is not.
 */
export type MeshStatus = 'idle' | 'connecting' | 'joined' | 'refused' | 'reconnecting' | 'disconnected' | 'closed';

/** What happened to one `send`. */
export interface SendResult {
  readonly message: ChatMessage | null;
  /** Peers whose open channel (or the relay) took the message. */
  readonly sent: readonly string[];
  /** Peers still connecting (or the relay while the server is away): the message waits and goes out later. */
  readonly queued: readonly string[];
  /** Sent before the chat joined the room: held, and sent to the peers there once joined (`message-status` then says to how many). */
  readonly waiting?: true;
  readonly error?: ErrorCode;
}

/** How often, at most, `typing` goes out while someone types. */
const TYPING_EVERY_MS = 2000;
/** How long a closed channel waits for the server's peer-disconnected before falling back to the relay. */
const CHANNEL_CLOSE_GRACE_MS = 1500;
/** Work that can wait while our connections form (identity keys) waits at most this long. */
const FORMING_WAIT_MS = 2000;
/** How long a peer whose page went away saying it would be back (a reload) is waited for. */
const RETURN_GRACE_MS = 10_000;
/** How long our public messages wait to be signed (one batch for a burst). */
const SIGN_DELAY_MS = 250;
/** How long a `bye` waits for the direct channel to prove it still works (it came through the server). */
const BYE_PROBE_MS = 2000;
/** How often a join refused because the room is full is asked again. */
const ROOM_FULL_RETRY_MS = 10_000;
/** How long a join refused for its rate waits when the server does not say. */
const JOIN_RETRY_MS = 2000;
/** The codes with which a server refuses a join (an `error` before the welcome: nothing else was sent yet). */
const JOIN_REFUSALS: ReadonlySet<ErrorCode> = new Set([
  'room-full',
  'rate-limited',
  'server-unavailable',
  'too-large',
  'bad-value',
  'missing-field',
  'wrong-type',
]);
/** After a rejoin, how long a peer the new welcome did not list may take to come back. */
const ROSTER_GRACE_MS = 15_000;
const SEEN_PER_PEER = 4096;
/** Messages held while not yet in the room, at most. */
const MAX_UNSENT = 100;
/** Receipts wait this long to go out together. */
const RECEIPT_BATCH_MS = 100;
/** Our messages whose receipts are followed (the latest). */
const FOLLOWED_MESSAGES = 500;

// The typed event methods of the class below (declaration merging is how an EventTarget
// subclass gets them without redeclaring every method).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Mesh {
  addEventListener<K extends MeshEventName>(
    type: K,
    listener: (event: CustomEvent<MeshEventMap[K]>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends MeshEventName>(
    type: K,
    listener: (event: CustomEvent<MeshEventMap[K]>) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Mesh extends EventTarget {
  readonly server: string;
  readonly room: string;
  #name: string | undefined;
  readonly #options: MeshOptions;
  /** Safety codes and identity keys (client/mesh-trust.ts), loaded when first needed. */
  #trust: MeshTrust | null = null;
  #trustLoading: Promise<MeshTrust | null> | null = null;
  /** Work that waits while a connection of ours is still forming (the identity exchange). */
  readonly #afterForming = new AfterForming(() => {
    for (const link of this.#peers.links()) if (!link.isOpen && !link.closed) return true;
    return false;
  }, FORMING_WAIT_MS);
  /** The room's recent messages for late joiners (client/mesh-history.ts), loaded at its first use; never with `history: false`. */
  #history: MeshHistory | null = null;
  #historyLoading: Promise<MeshHistory | null> | null = null;
  /** What was asked of it while it loads: done on it in that order once it is there. */
  #historyCalls: ((history: MeshHistory) => void)[] = [];
  /** Peers blocked here (`block`): nothing of theirs is shown, and they are not told. */
  readonly #blocked = new Set<string>();
  /** Whether this side said it is away. */
  #away = false;
  /** Peers that said they are away. */
  readonly #awayPeers = new Set<string>();
  /** Our recent messages: who can confirm each, and who did. */
  readonly #followed = new Map<string, { readonly to: ReadonlySet<string>; readonly delivered: Set<string> }>();
  /** Ids of messages received per peer, to confirm in the next batch. */
  readonly #toConfirm = new Map<string, string[]>();
  #confirmTimer: ReturnType<typeof setTimeout> | null = null;
  /** The peers our first welcome listed: the ones to ask for history. */
  readonly #historySources = new Set<string>();
  /** Files (client/mesh-files.ts), loaded at the first file sent or offered. */
  #files: MeshFiles | null = null;
  #filesLoading: Promise<MeshFiles | null> | null = null;
  /** Offers larger than this are declined (bytes). */
  maxFileSize: number;
  /** Raster images up to this size are accepted without asking (bytes; 0: never). */
  autoAcceptImages: number;
  #connection: SignalingConnection | null = null;
  #selfId: string | null = null;
  #status: MeshStatus = 'idle';
  #iceServers: readonly IceServer[] = [];
  readonly #peers = new PeerDirectory();
  #relay: RelayTransport | null = null;
  /** Whether the server relays chat (from `welcome`). */
  #relayAllowed = false;
  /** The protocol version the server announced in its welcome. */
  #serverVersion = 1;
  /** Peers told that this side relays clear text (the trust module did not load). */
  readonly #clearAnnounced = new Set<string>();
  /** Message ids seen per sender: a message shows once, however many ways it came. */
  readonly #seen = new Map<string, Set<string>>();
  /** Peers whose page went away saying it would be back (a reload), with the timer that gives up on them. */
  readonly #returning = new Map<string, ReturnType<typeof setTimeout>>();
  /** Peers a rejoin's welcome did not list, with the timer that forgets them. */
  readonly #unconfirmed = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #Socket: SocketConstructor | undefined;
  /** ICE servers the browser refused (see client/ice-server-check.ts), left out. */
  #refusedIceServers: WeakSet<IceServer> | null = null;
  /** TURN failures already reported ("url code"): one error each, not one per connection. */
  readonly #turnErrorsSaid = new Set<string>();
  readonly #PeerConnection: PeerConnectionConstructor | undefined;
  /** One DTLS certificate for all our connections (made while the socket connects). */
  #certificate: RTCCertificate | null = null;

  constructor(options: MeshOptions) {
    super();
    this.#options = options;
    this.server = options.server;
    this.room = options.room || 'lobby';
    this.#name = options.name?.trim() || undefined;
    this.maxFileSize = options.maxFileSize ?? 2 ** 31;
    this.autoAcceptImages = options.autoAcceptImages ?? 10_000_000;
    this.#Socket = options.WebSocket === undefined ? (globalThis.WebSocket as unknown as SocketConstructor | undefined) : (options.WebSocket ?? undefined);
    this.#PeerConnection =
      options.RTCPeerConnection === undefined
        ? (globalThis.RTCPeerConnection as PeerConnectionConstructor | undefined)
        : (options.RTCPeerConnection ?? undefined);
  }

  /** The display name asked for (undefined: the server's `guest-xxxx`; see `displayName`). */
  get name(): string | undefined {
    return this.#name;
  }

  /**
   * Takes a new display name without leaving (protocol version 8): the server checks it,
   * keeps it for peers who join later and tells the room (`peer-rename` there). False
   * (with an `error`) for a name the protocol refuses; false too, with nothing said, when
   * not joined or the server is older: then rejoin (the element does) to be renamed.
   */
  rename(name: string): boolean {
    const trimmed = name.trim();
    // The server's rules for names (protocol/limits.ts), checked here first.
    const refused: [ErrorCode, string] | null =
      trimmed === ''
        ? ['missing-field', 'it is empty']
        : trimmed.length > LIMITS.maxNameLength
          ? ['too-large', `it is longer than ${LIMITS.maxNameLength} characters`]
          : NAME_FORBIDDEN.test(trimmed)
            ? ['bad-value', 'it has control characters']
            : null;
    if (refused) {
      this.#error(refused[0], `That name cannot be used: ${refused[1]}.`);
      return false;
    }
    if (this.#status !== 'joined' || this.#serverVersion < RENAME_VERSION || !this.#connection) return false;
    if (this.#connection.rename(trimmed) !== 'sent') return false;
    this.#renamedFrom = { name: this.#name };
    this.#name = trimmed;
    return true;
  }

  /** The name before a rename the server has not refused (yet): a refusal puts it back. */
  #renamedFrom: { readonly name: string | undefined } | null = null;

  /** The server refused our new name (a stricter limit than ours): the old one stands, here and in later rejoins. */
  #renameRefused(error: Extract<ServerMessage, { type: 'error' }>): void {
    const asked = this.#name;
    this.#name = this.#renamedFrom!.name;
    this.#renamedFrom = null;
    this.#connection?.keepName(this.#name);
    this.#error(error.code, `The server refused the name “${asked ?? ''}” (${error.message}): you are still ${this.displayName ?? 'as before'}.`);
  }

  /** Our server-assigned id, once welcomed. */
  get selfId(): string | null {
    return this.#selfId;
  }

  /** The name the others see: ours, or the server's `guest-xxxx` once welcomed. */
  get displayName(): string | null {
    return this.#name ?? (this.#selfId ? defaultPeerName(this.#selfId) : null);
  }

  get status(): MeshStatus {
    return this.#status;
  }

  /** The other peers of the room and the state of our connection to each. */
  get peers(): PeerInfo[] {
    return this.#peers.list(this.#relayAllowed).map((listed) => {
      const flags = {
        ...(this.#awayPeers.has(listed.id) ? { away: true } : {}),
        ...(this.#blocked.has(listed.id) ? { blocked: true } : {}),
        ...(this.#muted.has(listed.id) ? { muted: true } : {}),
        ...(this.#returning.has(listed.id) ? { state: 'reconnecting' as const } : {}),
      };
      const peer = flags.away || flags.blocked || flags.muted || flags.state ? { ...listed, ...flags } : listed;
      if (peer.transport !== 'relayed') return peer;
      const state = this.#sealable(this.#peers.get(peer.id)!) ? this.#trust?.sealed.stateOf(peer.id) : 'plain';
      return state === 'sealed' || state === 'plain' ? { ...peer, encrypted: state === 'sealed' } : peer;
    });
  }

  /** Whether this browser can make WebRTC connections at all. */
  get webrtc(): boolean {
    return this.#PeerConnection !== undefined;
  }

  /** False when nothing can carry our chat: no WebRTC here and the server does not relay. */
  get canChat(): boolean {
    return this.webrtc || this.#status !== 'joined' || this.#relayAllowed;
  }

  /** The peer connections currently held (closed ones are dropped): for tests and tools. */
  get connectionCount(): number {
    let count = 0;
    for (const link of this.#peers.links()) if (!link.closed) count++;
    return count;
  }

  /**
   * Which way chat to one peer runs: `host`, `nat` or `turn` for a direct connection (from
   * its selected ICE candidate pair), `server` through the relay; null while not known.
   */
  pathTo(id: string): PeerPath | null {
    return this.#peers.path(id, this.#relayAllowed);
  }

  /** Chat messages waiting for the channel to one peer to open or drain. */
  pendingTo(id: string): number {
    return this.#peers.link(id)?.pendingChat ?? 0;
  }

  /** The RTCPeerConnection to one peer, for inspection (stats, states). */
  connectionTo(id: string): RTCPeerConnection | undefined {
    return this.#peers.link(id)?.pc;
  }

  /** The signaling server in use, or to be tried next (one of `server`'s URLs). */
  get serverUrl(): string {
    return this.#connection?.url ?? this.server;
  }

  /** When the next attempt is due (ms since the epoch): to reconnect, or to join again after a refusal. */
  get nextAttemptAt(): number | null {
    return this.#joinRetryAt ?? (this.#status === 'reconnecting' ? (this.#connection?.nextAttemptAt ?? null) : null);
  }

  /** Why the server refused the last join, in words, while it stands (null once joined). */
  get refusal(): string | null {
    return this.#refusal;
  }

  #refusal: string | null = null;
  #joinRetryAt: number | null = null;
  #joinTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * The server refused our join: say why in words a person can act on, and either ask
   * again when it makes sense (the rate: when the server says; a full room: every 10 s, so
   * the chat joins by itself when a place frees up) or stop (a room or name it refuses).
   */
  #joinRefused(error: Extract<ServerMessage, { type: 'error' }>): void {
    const { code, field } = error;
    const { retryAfterMs } = error;
    const wait =
      code === 'room-full'
        ? ROOM_FULL_RETRY_MS
        : code === 'rate-limited' || code === 'server-unavailable'
          ? Math.max(250, retryAfterMs ?? JOIN_RETRY_MS)
          : null;
    const seconds = Math.ceil((wait ?? 0) / 1000);
    const words =
      code === 'room-full'
        ? `The room “${this.room}” is full. The chat joins by itself when a place frees up (it asks again every ${seconds} s).`
        : wait !== null
          ? `The server is busy with joins just now: joining again in ${seconds} s.`
          : field === 'room'
            ? `The room name “${this.room}” cannot be used (${error.message}): use up to ${LIMITS.maxRoomLength} letters, digits, “_”, “.” or “-”.`
            : field === 'name'
              ? `The name “${this.#name ?? ''}” cannot be used (${error.message}): at most ${LIMITS.maxNameLength} characters, no control characters.`
              : `The server refused to join: ${error.message}`;
    this.#refusal = words;
    this.#clearJoinRetry();
    if (wait === null) {
      // Nothing to wait for: the same join would be refused again.
      this.#connection?.close();
      this.#setStatus('refused', false);
    } else {
      this.#joinRetryAt = Date.now() + wait;
      this.#joinTimer = setTimeout(() => {
        this.#joinTimer = null;
        this.#joinRetryAt = null;
        if (!this.#connection?.joinAgain()) return;
        if (this.#status === 'refused') this.#setStatus('connecting');
      }, wait);
      if (code === 'room-full') this.#setStatus('refused', false);
    }
    this.#error(code, words, undefined);
    this.#emitStatus();
  }

  #clearJoinRetry(): void {
    if (this.#joinTimer !== null) clearTimeout(this.#joinTimer);
    this.#joinTimer = null;
    this.#joinRetryAt = null;
  }

  /** Opens the signaling socket and joins the room. */
  connect(): void {
    if (this.#status !== 'idle') return;
    if (!this.#PeerConnection) {
      this.#error(
        'webrtc-unsupported',
        'This browser cannot make direct (WebRTC) connections: chat will go through the signaling server if it relays messages.',
      );
    }
    if (!this.#Socket) {
      this.#setStatus('closed');
      this.#error('signaling-unavailable', 'This environment has no WebSocket.');
      return;
    }
    const connection = new SignalingConnection(
      {
        url: this.server,
        room: this.room,
        name: this.#name,
        webrtc: this.webrtc,
        Socket: this.#Socket,
        reconnect: this.#options.reconnect,
        resume: this.#options.resume,
        persist: this.#options.persist === true,
      },
      {
        message: (message) => this.#onServerMessage(message),
        badMessage: (error) => this.#error(error.code, `The server sent a bad message: ${error.message}`),
        unknownMessage: () => {},
        sent: (message) => this.#emitSignalOut(message),
        dropped: (wasJoined, attempt, retrying) => this.#onDropped(wasJoined, attempt, retrying),
        unusable: (reason) => {
          this.#setStatus('closed');
          this.#error('signaling-unavailable', reason);
        },
      },
    );
    this.#connection = connection;
    this.#relay = new RelayTransport(connection);
    this.#setStatus('connecting');
    connection.open();
    if (this.#PeerConnection) void makeDtlsCertificate(this.#PeerConnection).then((certificate) => (this.#certificate = certificate));
  }

  /**
   * The secret that proves our id to the server (from the last welcome): kept across a
   * reload (`resume` option) it brings the same id back. A credential: keep it per tab
   * (sessionStorage), never in the page's URL or a shared store.
   */
  get resumeToken(): string | null {
    return this.#connection?.resumeToken ?? null;
  }

  /**
   * Messages this side had before (a transcript kept across a reload): shown already, so
   * the same ones coming again (history, a resend) are not shown twice; public ones are
   * passed on to later joiners like any other.
   */
  remember(
    lines: readonly {
      readonly id: string;
      readonly from: string;
      readonly name: string;
      readonly text: string;
      readonly at: number;
      readonly private?: boolean;
    }[],
  ): void {
    for (const { private: secret, ...line } of lines) {
      if (!this.#firstSight(line.from, line.id) || secret) continue;
      this.#withHistory((history) => history.record(line));
    }
  }

  /** Forgets the messages kept for later joiners: none of them is passed on from here any more. */
  clearHistory(): void {
    this.#withHistory((history) => history.forget(), false);
  }

  /** Reconnects now instead of waiting for the backoff timer. */
  reconnectNow(): void {
    if (this.#status === 'reconnecting') this.#connection?.reconnectNow();
  }

  /** Asks for an ICE restart towards one peer (e.g. after a network change). */
  restartIce(id: string): void {
    this.#peers.link(id)?.handle({ type: 'restart-ice' });
  }

  /**
   * Compares safety codes with a peer over the direct connection (commit, then reveal):
   * resolves with the code both sides now show (`verify-code` fires on both), or why
   * there is none (no open direct connection, a peer too old to compare, a reveal that
   * does not match its commitment).
   */
  async verify(id: string): Promise<VerificationOutcome> {
    const link = this.#peers.link(id);
    const peer = this.#peers.get(id);
    if (peer && !link && this.#trust?.sealed.stateOf(id) === 'sealed') return this.#trust.verifier.start(id, this.#trust.channel(id, null)!);
    if (!link || !peer || !link.isOpen) return { ok: false, reason: 'There is no open direct connection or sealed relay to this peer to compare codes over.' };
    if (peer.version < VERIFY_VERSION) return { ok: false, reason: `${peer.name} runs an older version that cannot compare safety codes.` };
    const trust = await this.#loadTrust();
    return trust ? trust.verifier.start(id, trust.channel(id, link)!) : { ok: false, reason: 'Safety codes are unavailable on this page.' };
  }

  /**
   * What the user said after comparing the code with the peer's person: it matches, or it
   * does not (then someone may be in the middle). Fires `peer-verify`; false if no code
   * was compared on the current connection. `code`: the code the person read; if the
   * connection has another one by now (its keys changed, a new comparison finished), the
   * answer is not taken (false, and `verify-failed` says to compare again).
   */
  confirmVerification(id: string, match: boolean, code?: string): boolean {
    const channel = this.#trust?.channel(id, this.#peers.link(id) ?? null);
    const name = this.#peers.get(id)?.name ?? 'a peer';
    if (code !== undefined && channel && this.#trust!.verifier.codeOf(channel) !== code) {
      this.#error('verify-failed', `The connection to ${name} changed since code ${code} was shown: compare the new code again.`, id);
      return false;
    }
    const confirmed = channel ? this.#trust!.verifier.confirm(channel, match, name) : null;
    if (confirmed === null) return false;
    code = confirmed;
    this.#emit('peer-verify', { id, match, code });
    if (match) void this.#trust!.identities.remember(id, name, channel!);
    if (!match) this.#error('verify-mismatch', `The safety codes with ${name} do not match: someone may be reading this connection.`, id);
    return true;
  }

  /**
   * Loads the trust features (a sibling file in the drop-in build) once; in order for
   * every caller. If the file cannot be loaded (a page that serves p2p-chat.js without its
   * chunks/ folder), chat goes on without safety codes and identities, and says so once.
   */
  #loadTrust(): Promise<MeshTrust | null> {
    this.#trustLoading ??= import('./mesh-trust.js').then(
      ({ createTrust }) => (this.#trust = this.#createTrust(createTrust)),
      (error: unknown) => {
        this.#error(
          'verify-failed',
          `Safety codes, identity keys and relay encryption are unavailable: ${error instanceof Error ? error.message : String(error)}`,
        );
        return null;
      },
    );
    return this.#trustLoading;
  }

  #createTrust(createTrust: typeof import('./mesh-trust.js').createTrust): MeshTrust {
    return createTrust({
      selfId: () => this.#selfId,
      identityName: this.#options.identity?.trim() || 'default',
      encode: encodeChannelMessage,
      parse: channelMessageOrNull,
      nameOf: (id) => this.#peers.get(id)?.name ?? defaultPeerName(id),
      isRelayed: (id) => this.#peers.get(id)?.transport === 'relayed',
      post: (to, payload) => this.#relay?.post(to, payload) ?? 'dropped',
      numbered: (id) => this.#serverVersion >= SEALED_SEQUENCE_VERSION && (this.#peers.get(id)?.version ?? 1) >= SEALED_SEQUENCE_VERSION,
      relayedChat: (from, message) => this.#onRelayedChat(from, message),
      sealState: (id, state) => {
        if (this.#peers.get(id)?.transport === 'relayed') this.#emit('peer-state', { id, state: 'connected', path: 'server', encrypted: state === 'sealed' });
      },
      warn: (code, message, id) => this.#error(code, message, id),
      note: (id, detail) => this.#note(id, 'stale-signal-ignored', detail),
      settled: (id, outcome) => {
        if (outcome.ok) {
          const { code, fingerprints, startedByPeer } = outcome;
          this.#emit('verify-code', { id, code, local: fingerprints.local, remote: fingerprints.remote, source: fingerprints.source, startedByPeer });
        } else this.#error('verify-failed', `Comparing safety codes failed: ${outcome.reason}`, id);
      },
      identity: (id, identity) => this.#emit('peer-identity', { id, ...identity }),
    });
  }

  /** Whether codes can be compared with a peer now: an open direct connection to a peer of protocol version 4 or later, or a sealed relay. */
  canVerify(id: string): boolean {
    const link = this.#peers.link(id);
    if (!link) return this.#trust?.sealed.stateOf(id) === 'sealed';
    return link.isOpen && (this.#peers.get(id)?.version ?? 1) >= VERIFY_VERSION;
  }

  /**
   * The safety code of the current connection to a peer, what the user said of it, and
   * the peer's identity (its key, and whether this profile verified it before).
   */
  verificationOf(id: string): Claims {
    return this.#trust?.claims(id, this.#peers.link(id) ?? null) ?? { code: null, match: null, identity: null };
  }

  /** This profile's identity key fingerprint (`AB12 CD34 …`), once loaded. */
  ownIdentityKey(): Promise<string | null> {
    return this.#loadTrust().then((trust) => trust?.identities.ownKey() ?? null);
  }

  /** Sends a chat message to every peer of the room, directly or through the relay. */
  send(text: string): SendResult {
    return this.#send(text, null);
  }

  /**
   * Says "I am typing" to the room (or to peer `to` only, while writing privately), at
   * most every 2 s however often it is called; over direct channels only, never stored.
   */
  typing(to: string | null = null): void {
    const now = Date.now();
    if (now - this.#typingSentAt < TYPING_EVERY_MS) return;
    this.#typingSentAt = now;
    for (const link of this.#peers.links()) if (to === null || link.remoteId === to) link.sendTyping();
  }

  #typingSentAt = 0;

  /**
   * Says whether this side is away (its page hidden) or active, to every peer on a direct
   * channel that speaks protocol version 7 (and to later ones, when away); never stored.
   * `<p2p-chat>` calls it from the page's visibility.
   */
  setPresence(state: 'active' | 'away'): void {
    if (this.#away === (state === 'away')) return;
    this.#away = state === 'away';
    for (const peer of this.#peers.entries()) {
      if (peer.link && peer.version >= RECEIPT_VERSION) peer.link.sendControl({ type: 'presence', state });
    }
  }

  /**
   * Blocks a peer, here only: its messages, typing, presence and the earlier messages it
   * passes on are no longer shown (no events), its files are declined; it is not told,
   * and the connection stays. For this session (a peer that rejoins with a new id is not
   * blocked).
   */
  block(id: string): void {
    this.#blocked.add(id);
    this.#awayPeers.delete(id);
  }

  unblock(id: string): void {
    this.#blocked.delete(id);
  }

  /** The ids blocked here. */
  get blocked(): string[] {
    return [...this.#blocked];
  }

  /** Peers muted here (`mute`): shown as ever, but they raise no notification. */
  readonly #muted = new Set<string>();

  /**
   * Mutes a peer, here only: its messages are shown but raise no notification or title
   * count (`notify`), and its typing is not shown; it is not told. For this session.
   */
  mute(id: string): void {
    this.#muted.add(id);
  }

  unmute(id: string): void {
    this.#muted.delete(id);
  }

  /** Whether a peer is muted here. */
  isMuted(id: string): boolean {
    return this.#muted.has(id);
  }

  /** Sends a private message to one peer of the room (directly, or through the sealed relay); only that peer gets it. */
  sendTo(id: string, text: string): SendResult {
    return this.#send(text, id);
  }

  #send(text: string, to: string | null): SendResult {
    const trimmed = text.trim();
    if (trimmed === '') return { message: null, sent: [], queued: [], error: 'missing-field' };
    if (trimmed.length > LIMITS.maxChatTextLength) {
      this.#error('too-large', `A message may have at most ${LIMITS.maxChatTextLength} characters.`);
      return { message: null, sent: [], queued: [], error: 'too-large' };
    }
    const message: ChatMessage = {
      type: 'chat',
      // Unguessable: nobody (the server included) can make a message that passes for this one.
      id: randomToken(16),
      text: trimmed,
      at: Date.now(),
      name: this.displayName ?? 'guest',
      ...(to === null ? {} : { private: true as const }),
    };
    if (to === null && this.#selfId === null && (this.#status === 'idle' || this.#status === 'connecting')) {
      // Not in the room yet (the page's script ran before the join): it goes out once joined.
      this.#unsent.push(message);
      if (this.#unsent.length > MAX_UNSENT) this.#unsent.shift();
      return { message, sent: [], queued: [], waiting: true };
    }
    if (to !== null && !this.#peers.has(to)) {
      this.#error('unknown-peer', 'That peer is not in the room: the private message was not sent.', to);
      return { message: null, sent: [], queued: [], error: 'unknown-peer' };
    }
    // The message ends the typing: the next keystroke may say so again at once.
    this.#typingSentAt = 0;
    return this.#dispatch(message, to);
  }

  /** Messages sent before the first welcome, sent to the room once joined. */
  #unsent: ChatMessage[] = [];

  /** Puts a message on every way that reaches its peers (or the one of `to`). */
  #dispatch(message: ChatMessage, to: string | null): SendResult {
    const frame = encodeChannelMessage(message);
    const sent: string[] = [];
    const queued: string[] = [];
    for (const peer of this.#peers.entries()) {
      if (to !== null && peer.id !== to) continue;
      let outcome: 'sent' | 'queued' | 'closed' | 'dropped' = 'dropped';
      if (peer.link) outcome = peer.link.sendChat(frame);
      else if (peer.transport === 'relayed') outcome = this.#sendRelayed(peer, message);
      if (outcome === 'sent') sent.push(peer.id);
      else if (outcome === 'queued') queued.push(peer.id);
    }
    if (sent.length === 0 && queued.length === 0) {
      this.#error('not-connected', 'No peer is connected: the message reached nobody.');
      return { message, sent, queued, error: 'not-connected' };
    }
    this.#follow(message.id, sent, queued);
    if (to === null && this.#options.history !== false) {
      const line = { id: message.id, from: this.#selfId ?? '', name: message.name, text: message.text, at: message.at };
      this.#withHistory((history) => history.record(line));
      this.#queueSignature(message);
    }
    return { message, sent, queued };
  }

  /** Our public messages not signed yet (the last `limit`: only those can be passed on), and the timer that signs them. */
  #unsigned: ChatMessage[] = [];
  #signTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * Signs our public messages a moment after they went out, in batches, and sends the
   * signatures to the peers (`history-sig`): they keep each with its line and pass it on,
   * so a newcomer can tell a line was not changed by whoever passed it on.
   */
  #queueSignature(message: ChatMessage): void {
    this.#unsigned.push(message);
    // At most the most history may keep (its own limit is applied once it has loaded).
    if (this.#unsigned.length > HISTORY_LIMITS.maxLines) this.#unsigned.splice(0, this.#unsigned.length - HISTORY_LIMITS.maxLines);
    this.#signTimer ??= setTimeout(() => void this.#signBatch(), SIGN_DELAY_MS);
  }

  async #signBatch(): Promise<void> {
    this.#signTimer = null;
    const batch = this.#unsigned;
    this.#unsigned = [];
    const selfId = this.#selfId;
    const history = await this.#loadHistory();
    const trust = await this.#loadTrust();
    if (!history || !trust || !selfId || this.#status === 'closed') return;
    const sigs: { id: string; sig: string }[] = [];
    for (const message of batch.slice(-history.limit)) {
      const sig = await trust.identities.signLine(lineSigningText(this.room, { from: selfId, id: message.id, at: message.at, text: message.text }));
      if (!sig) return;
      history.sign(selfId, message.id, sig);
      sigs.push({ id: message.id, sig });
    }
    for (let start = 0; start < sigs.length; start += MAX_LINE_SIGNATURES) {
      const frame = { type: 'history-sig' as const, sigs: sigs.slice(start, start + MAX_LINE_SIGNATURES) };
      for (const peer of this.#peers.entries()) if (peer.link?.isOpen && peer.version >= SIGNED_LINES_VERSION) peer.link.sendControl(frame);
    }
  }

  /**
   * Offers a file to every peer of the room, or to those of `to`: each gets its own
   * transfer (resolves with their ids). Progress, completion (verified block by block) and
   * refusals come as `file-progress`, `file-complete` and `file-error`; a peer reached
   * through the server relay is refused (`file-needs-direct`): files never go through the
   * server.
   */
  async sendFile(file: Blob, options: { to?: string | readonly string[]; name?: string } = {}): Promise<string[]> {
    const to = options.to === undefined ? [...this.#peers.entries()].map((p) => p.id) : typeof options.to === 'string' ? [options.to] : options.to;
    const files = await this.#loadFiles();
    const name = options.name ?? (file as Partial<File>).name ?? 'file';
    return files ? files.send(file, name, to) : [];
  }

  /** Accepts a file a peer offered (`file-offer`); false if there is no such offer. */
  acceptFile(id: string): boolean {
    return this.#files?.accept(id) ?? false;
  }

  declineFile(id: string): boolean {
    return this.#files?.decline(id) ?? false;
  }

  /** Cancels a transfer either way; the other side is told. */
  cancelFile(id: string): boolean {
    return this.#files?.cancel(id) ?? false;
  }

  #loadFiles(): Promise<MeshFiles | null> {
    this.#filesLoading ??= import('./mesh-files.js').then(
      ({ MeshFiles }) =>
        (this.#files = new MeshFiles({
          reach: (id) => {
            const peer = this.#peers.get(id);
            const link = peer?.link;
            if (link?.isOpen && peer!.version >= FILE_VERSION) return link;
            const name = peer?.name ?? 'This peer';
            if (peer?.transport === 'relayed')
              return { code: 'file-needs-direct', message: `Files need a direct connection: ${name} is reached through the server relay.` };
            if (link?.isOpen) return { code: 'file-needs-direct', message: `${name} runs an older version that cannot take files.` };
            return { code: 'not-connected', message: `${name} is not connected: the file was not sent.` };
          },
          parse: channelMessageOrNull,
          emit: (type, detail) => this.#emit(type, detail),
          limits: () => ({ ...this.#options.fileLimits, maxFileSize: this.maxFileSize, autoAcceptImages: this.autoAcceptImages }),
        })),
      (error: unknown) => {
        this.#error('file-failed', `Files are unavailable: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      },
    );
    return this.#filesLoading;
  }

  /**
   * Loads history for late joiners (a sibling file in the drop-in build) once, and does
   * what was asked of it meanwhile, in order. If the file cannot be loaded, chat goes on
   * without history, and says so once.
   */
  #loadHistory(): Promise<MeshHistory | null> {
    this.#historyLoading ??= import('./mesh-history.js').then(
      ({ MeshHistory, showEarlier }) => {
        const history = new MeshHistory(this.#options.history || {}, {
          send: (peer, message) => this.#peers.link(peer)?.sendControl(message) ?? false,
          deliver: (entries) =>
            showEarlier(entries, {
              room: this.room,
              trust: () => this.#loadTrust(),
              nameOf: (peer) => this.#peers.get(peer)?.name,
              firstSight: (from, id) => this.#firstSight(from, id),
              blocked: (peer) => this.#blocked.has(peer),
              error: (message, peer) => this.#error('bad-peer-message', message, peer),
              show: (messages) => this.#emit('history', { messages }),
            }),
        });
        // All in one go: nothing asked later comes before what waited.
        while (this.#historyCalls.length > 0) this.#historyCalls.shift()!(history);
        return (this.#history = history);
      },
      (error: unknown) => {
        this.#historyCalls = [];
        this.#error('bad-peer-message', `History for late joiners is unavailable: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      },
    );
    return this.#historyLoading;
  }

  /**
   * Does `call` on the history now, or once it has loaded (after what was asked before);
   * never with `history: false`. `load` false: only if it is there or on its way (a peer
   * gone, a close: nothing to do on a history not kept yet).
   */
  #withHistory(call: (history: MeshHistory) => void, load = true): void {
    if (this.#history) return call(this.#history);
    if (this.#options.history === false || (!load && !this.#historyLoading)) return;
    this.#historyCalls.push(call);
    void this.#loadHistory();
  }

  /** Leaves: closes every peer connection and the signaling socket. */
  close(): void {
    if (this.#status === 'closed') return;
    for (const timer of this.#unconfirmed.values()) clearTimeout(timer);
    this.#unconfirmed.clear();
    for (const timer of this.#returning.values()) clearTimeout(timer);
    this.#returning.clear();
    if (this.#signTimer) clearTimeout(this.#signTimer);
    this.#clearJoinRetry();
    this.#afterForming.clear();
    for (const peer of this.#peers.clear()) peer.link?.close('close');
    // Transfers end with the mesh: no file line stays "moving" after leaving.
    this.#files?.close();
    this.#relay?.clear();
    this.#withHistory((history) => history.close(), false);
    if (this.#confirmTimer) clearTimeout(this.#confirmTimer);
    this.#connection?.close();
    this.#setStatus('closed');
  }

  // ---- signaling ---------------------------------------------------------------------

  #onDropped(wasJoined: boolean, attempt: number, retrying: boolean): void {
    if (this.#status === 'closed') return;
    // The reconnect joins again by itself.
    this.#clearJoinRetry();
    this.#setStatus(retrying ? 'reconnecting' : 'disconnected', false);
    // Say it once per outage, not at every failed attempt.
    const open = [...this.#peers.links()].some((link) => link.isOpen);
    const again = retrying ? ' Reconnecting…' : '';
    if (wasJoined) this.#error('signaling-closed', `The connection to the signaling server was lost.${open ? ' Open chats keep working.' : ''}${again}`);
    // A browser cannot tell a refused TLS certificate from a server that is down: say both.
    else if (attempt <= 1)
      this.#error(
        'signaling-unavailable',
        `The signaling server at ${this.#connection?.url ?? this.server} could not be reached: check the address and, for wss://, that this browser trusts its certificate.${again}`,
      );
    this.#emitStatus();
  }

  #onServerMessage(message: ServerMessage): void {
    this.#emitSignalIn(message);
    switch (message.type) {
      case 'welcome':
        return this.#onWelcome(message);
      case 'new-peer':
        // A newcomer: we were here first, so we offer. (After an outage a peer we are
        // still connected to may announce itself again: its open link stays.)
        this.#addPeer(
          {
            id: message.id,
            name: message.name,
            ...(message.webrtc === false ? { webrtc: false } : {}),
            ...(message.version ? { version: message.version } : {}),
          },
          'offerer',
        );
        return;
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'bye':
        return this.#onSignal(message);
      case 'peer-renamed':
        return this.#onPeerRenamed(message.id, message.name);
      case 'peer-disconnected':
        if (message.returning && this.#peers.has(message.id)) this.#awaitReturn(message.id);
        else this.#removePeer(message.id);
        return;
      case 'relay':
        return this.#onRelayed(message.from, message.message);
      case 'ice-servers':
        return this.#onIceServers(message.iceServers);
      case 'error':
        // A signal to a peer that has just left races its peer-disconnected: expected, and
        // already in the signal log; not worth alarming the user.
        if (message.code === 'unknown-peer') return;
        if (this.#connection && !this.#connection.joined && JOIN_REFUSALS.has(message.code)) return this.#joinRefused(message);
        if (message.field === 'name' && this.#renamedFrom) return this.#renameRefused(message);
        this.#error(message.code, message.message);
        return;
    }
  }

  #onWelcome(message: Extract<ServerMessage, { type: 'welcome' }>): void {
    const connection = this.#connection;
    const rejoined = this.#selfId !== null;
    if (rejoined && message.id !== this.#selfId) {
      // The server gave us a new identity: connections and signals made under the old one
      // mean nothing to the others now.
      connection?.dropQueued();
      for (const peer of [...this.#peers.entries()]) this.#removePeer(peer.id);
    }
    if (!rejoined) {
      for (const peer of message.peers) this.#historySources.add(peer.id);
      // Those that will be asked once their channels open (channelOpen below).
      const direct = message.peers.filter((peer) => (peer.version ?? 1) >= HISTORY_VERSION && peer.webrtc !== false && this.#PeerConnection);
      if (direct.length > 0) this.#withHistory((history) => history.expect(direct.map((peer) => peer.id)));
    }
    this.#selfId = message.id;
    this.#refusal = null;
    this.#renamedFrom = null;
    this.#clearJoinRetry();
    this.#iceServers = this.#options.iceServers ?? message.iceServers;
    this.#relayAllowed = message.limits.relay;
    this.#serverVersion = message.version ?? 1;
    this.#setStatus('joined', false);
    this.#emit('welcome', { id: message.id, room: message.room, peers: message.peers });
    if (!this.#PeerConnection && !this.#relayAllowed) {
      this.#error(
        'relay-disabled',
        'This browser cannot make direct (WebRTC) connections, and this server does not relay messages, so you cannot chat here. Please use a browser with WebRTC (a current Chrome, Edge, Firefox or Safari).',
      );
    }
    // A rejoin: peers the welcome does not list may simply not have rejoined yet (the
    // server restarted). An open channel will tell if they are gone; a relayed peer is
    // forgotten unless the server introduces it again soon.
    const listed = new Set(message.peers.map((p) => p.id));
    for (const peer of [...this.#peers.entries()]) {
      if (listed.has(peer.id)) continue;
      if (peer.link?.isOpen || peer.transport === 'relayed') this.#awaitReintroduction(peer.id);
      else this.#removePeer(peer.id);
    }
    // What was said while the server was away goes out now, before anything new.
    connection?.flushQueued();
    // The peers already here offer to us (the reference's flow): we wait as answerer.
    for (const peer of message.peers) this.#addPeer(peer, 'answerer');
    // What the page said before it was in the room: to the peers here, waiting on their channels.
    for (const held of this.#unsent.splice(0)) {
      this.#dispatch(held, null);
      const of = this.#followed.get(held.id)?.to.size ?? 0;
      if (of > 0) this.#emit('message-status', { id: held.id, delivered: 0, of, peers: [] });
    }
    if (rejoined) {
      // Negotiations caught in the outage may have lost signals both ways: restart them.
      for (const link of this.#peers.links()) {
        const state = link.negotiation;
        if (!link.closed && state.started && (state.signalingState !== 'stable' || state.makingOffer)) link.handle({ type: 'restart-ice' });
      }
    }
    this.#emitStatus();
  }

  /** Renewed ICE servers (fresh TURN credentials): for new connections, and for ICE restarts of the others. */
  #onIceServers(iceServers: readonly IceServer[]): void {
    if (this.#options.iceServers) return;
    this.#iceServers = iceServers;
    for (const link of this.#peers.links()) {
      try {
        link.pc.setConfiguration({ ...link.pc.getConfiguration(), iceServers: this.#rtcIceServers() });
      } catch {
        // A connection that cannot take it keeps its servers until it is replaced.
      }
    }
  }

  /** Our ICE servers but those the browser refused. */
  #iceServersInUse(): IceServer[] {
    const refused = this.#refusedIceServers;
    return this.#iceServers.filter((server) => !refused?.has(server));
  }

  #rtcIceServers(): RTCIceServer[] {
    return this.#iceServersInUse().map(toRtcIceServer);
  }

  /**
   * The browser refused a connection with our ICE servers: find the ones it refuses, say
   * which (naming each), and leave them out from now on. False if none was to blame.
   */
  #leaveOutRefusedIceServers(PeerConnection: PeerConnectionConstructor): boolean {
    const inUse = this.#iceServersInUse();
    const refused = refusedIceServers(PeerConnection, inUse.map(toRtcIceServer));
    const set = (this.#refusedIceServers ??= new WeakSet());
    for (const bad of refused) {
      set.add(inUse[bad.index]!);
      this.#error('bad-ice-server', `This browser refuses the ICE server ${bad.urls} (${bad.reason}): it is left out.`);
    }
    return refused.length > 0;
  }

  #awaitReintroduction(id: string): void {
    if (this.#unconfirmed.has(id)) return;
    this.#unconfirmed.set(
      id,
      setTimeout(() => {
        this.#unconfirmed.delete(id);
        const peer = this.#peers.get(id);
        if (peer && !peer.link?.isOpen) this.#removePeer(id);
      }, ROSTER_GRACE_MS),
    );
  }

  /** The server says a peer took a new name: the list, its connection and what it sends from now on use it. */
  #onPeerRenamed(id: string, name: string): void {
    const peer = this.#peers.get(id);
    if (!peer || peer.name === name) return;
    const previous = peer.name;
    this.#peers.introduce(id, name, peer.version, peer.webrtc);
    this.#renamed(id, previous);
  }

  /** A peer's name changed (told, or introduced again under another): what shows it, and what was verified under the old one, follow. */
  #renamed(id: string, previous: string): void {
    const peer = this.#peers.get(id);
    if (!peer || peer.name === previous) return;
    if (peer.link) peer.link.name = peer.name;
    if (!this.#blocked.has(id)) this.#emit('peer-rename', { id, name: peer.name, previous });
    const trust = this.#trust;
    if (trust) void trust.identities.renamed(id, trust.channel(id, peer.link));
  }

  /**
   * The peer's page went away saying it would be back (a reload with persist): its entry,
   * its connection and what we send it wait for it; it leaves only if it is not back in time.
   */
  #awaitReturn(id: string): void {
    if (this.#returning.has(id)) return;
    const grace = this.#options.returnGraceMs ?? RETURN_GRACE_MS;
    this.#returning.set(
      id,
      setTimeout(() => {
        this.#returning.delete(id);
        this.#removePeer(id);
      }, grace),
    );
    this.#note(id, 'peer-returning', `its page went away; waiting up to ${grace / 1000} s for it to come back`);
    this.#emit('peer-state', { id, state: 'reconnecting' });
  }

  /** The peer is back (introduced again) or gone: its reintroduction is no longer awaited. */
  #stopAwaiting(id: string): boolean {
    const pending = this.#unconfirmed.get(id);
    if (pending !== undefined) clearTimeout(pending);
    this.#unconfirmed.delete(id);
    const returning = this.#returning.get(id);
    if (returning !== undefined) clearTimeout(returning);
    return this.#returning.delete(id);
  }

  /** Offers, answers, candidates and byes: routed to the connection they belong to. */
  #onSignal(message: RelayedMessage): void {
    const peer = this.#peers.get(message.from);
    if (peer?.transport === 'relayed') {
      // This pair chats through the relay for good: a second, direct connection would
      // list the peer twice and send every message both ways.
      this.#note(message.from, 'stale-signal-ignored', `${message.type}: this pair is relayed`);
      return;
    }
    let link = peer?.link ?? undefined;
    if (link) {
      const verdict = epochVerdict(link.negotiation, message);
      if (verdict === 'stale') {
        this.#note(message.from, 'stale-signal-ignored', `${message.type} for an earlier connection`);
        return;
      }
      // The other side made a new connection (its old one is gone): ours must follow.
      if (verdict === 'new-connection') link = this.#replaceLink(message.from, 'answerer');
    } else if (message.type === 'offer') {
      link = this.#addPeer({ id: message.from, name: peer?.name ?? defaultPeerName(message.from), ...(peer ? { version: peer.version } : {}) }, 'answerer');
    }
    if (!link) return;
    const epoch = message.epoch === undefined ? {} : { epoch: message.epoch };
    switch (message.type) {
      case 'offer':
        return link.handle({ type: 'remote-offer', sdp: message.sdp, ...epoch });
      case 'answer':
        return link.handle({ type: 'remote-answer', sdp: message.sdp, ...epoch });
      case 'candidate':
        return link.handle({ type: 'remote-candidate', candidate: message.candidate, ...epoch });
      case 'bye':
        void this.#onBye(message.from, link);
        return;
    }
  }

  /**
   * The peer says it gave up on the direct connection. The news came through the server,
   * which could forge it: if our channel still reads open, ask the peer on the channel
   * itself first; only a peer that does not answer there is taken at its word.
   */
  async #onBye(id: string, link: PeerLink): Promise<void> {
    if (link.isOpen && (await link.probe(BYE_PROBE_MS))) {
      if (this.#peers.link(id) !== link) return;
      const dropped = this.#relay?.discard(id) ?? 0;
      this.#note(id, 'stale-signal-ignored', `bye ignored: the direct channel still answers${dropped ? ` (${dropped} relayed message(s) dropped)` : ''}`);
      return;
    }
    if (this.#peers.link(id) !== link) return;
    this.#fallBack(id, link, `${link.name} gave up on the direct connection.`);
  }

  /**
   * Whether chat with this peer is relayed sealed (end to end encrypted): both sides and
   * the server speak protocol version 5. A server that claims an older version gets the
   * pair's clear text, and the peer list says so.
   */
  #sealable(peer: PeerEntry): boolean {
    // The ratchet: a pair sealed once stays sealed, whatever versions are claimed later.
    return (this.#serverVersion >= SEALED_RELAY_VERSION && peer.version >= SEALED_RELAY_VERSION) || this.#trust?.sealed.wasSealed(peer.id) === true;
  }

  /** Chat for a relayed peer: through the sealed relay where the pair can seal. */
  #sendRelayed(peer: PeerEntry, message: ChatMessage): 'sent' | 'queued' | 'dropped' {
    const relay = this.#relay;
    if (!relay) return 'dropped';
    if (!this.#sealable(peer)) return relay.post(peer.id, message);
    if (this.#trust) return this.#trust.sealed.send(peer.id, message);
    void this.#loadTrust().then((trust) => {
      if (trust) return trust.sealed.send(peer.id, message);
      this.#announceClear(peer.id);
      relay.post(peer.id, message);
    });
    return 'queued';
  }

  /**
   * A peer whose pair can carry no identity (a version before identities, or relayed
   * where the pair cannot seal) is unproven: if this profile verified its name, say so
   * rather than let a server that claims an old version silence the warning.
   */
  #checkProvable(peer: PeerEntry): void {
    const direct = peer.transport !== 'relayed' && peer.webrtc && this.#PeerConnection !== undefined;
    const provable = peer.version >= VERIFY_VERSION && (direct || this.#sealable(peer));
    if (provable) return;
    void this.#loadTrust().then((trust) => trust?.identities.unprovable(peer.id, peer.name));
  }

  /** Starts the sealed relay with a peer whose pair just went to the relay. */
  #startSealing(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer || !this.#sealable(peer)) return;
    void this.#loadTrust().then((trust) => {
      if (!trust) return this.#announceClear(id);
      // Sealed already (the peer moved to the relay first): that key is the pair's connection now.
      trust.relayed(id);
      return trust.sealed.start(id);
    });
  }

  /** Without the trust module (its file did not load), this side cannot seal: it tells the peer once, and relays clear text. */
  #announceClear(id: string): void {
    if (this.#clearAnnounced.has(id)) return;
    this.#clearAnnounced.add(id);
    this.#relay?.post(id, { type: 'relay-key' });
  }

  /** What the relay brought from a peer: clear chat, or (sealable pairs) keys and sealed messages, in order. */
  #onRelayed(from: string, payload: RelayPayload): void {
    const peer = this.#peers.get(from);
    if (!peer || !this.#relay) return;
    if (!this.#sealable(peer)) {
      if (payload.type === 'chat') this.#onRelayedChat(from, payload);
      return;
    }
    void this.#loadTrust().then((trust) => {
      if (trust) return trust.sealed.receive(from, payload);
      this.#announceClear(from);
      if (payload.type === 'chat') this.#onRelayedChat(from, payload);
    });
  }

  #onRelayedChat(from: string, message: ChatMessage): void {
    const peer = this.#peers.get(from);
    if (!peer || !this.#relay) return;
    if (peer.transport === 'relayed') {
      this.#deliver(from, peer.name, message);
      return;
    }
    const link = peer.link;
    // An older peer (protocol 1) says nothing before falling back: its relayed chat is the
    // sign. Safe to follow only if our own channel is not open (so not shown as P2P).
    if (link && peer.version < 2 && !link.isOpen && this.#relayAllowed) {
      this.#fallBack(from, link, `${peer.name} moved to the relay.`);
      this.#deliver(from, peer.name, message);
      return;
    }
    // Our channel to this peer counts as working: never show server-carried text as P2P.
    this.#relay.hold(from, message);
  }

  // ---- peers -------------------------------------------------------------------------

  #addPeer(peer: PeerSummary, role: 'offerer' | 'answerer'): PeerLink | undefined {
    const selfId = this.#selfId;
    const PeerConnection = this.#PeerConnection;
    if (!selfId || peer.id === selfId) return undefined;
    // Back from a reload: a new page that kept only what it saved; it may ask for history again.
    if (this.#stopAwaiting(peer.id)) this.#withHistory((history) => history.peerGone(peer.id), false);
    const previousName = this.#peers.get(peer.id)?.name;
    const { entry, added } = this.#peers.introduce(peer.id, peer.name, peer.version ?? 1, peer.webrtc !== false);
    if (previousName !== undefined) this.#renamed(peer.id, previousName);
    this.#withHistory((history) => history.peerJoined(peer.id));
    // Every announcement, not only the first: a server may announce a peer again with an older version.
    this.#checkProvable(entry);
    if (!PeerConnection || peer.webrtc === false) {
      // One side has no WebRTC: this pair chats through the server's relay, if allowed.
      if (!added && entry.transport !== 'direct') return undefined;
      entry.link?.close('close');
      this.#peers.setRelayed(peer.id, this.#relayAllowed);
      if (added) {
        this.#emit('peer-join', { id: peer.id, name: peer.name });
        this.#emit('peer-state', this.#relayAllowed ? { id: peer.id, state: 'connected', path: 'server' } : { id: peer.id, state: 'failed' });
        if (this.#relayAllowed) this.#startSealing(peer.id);
        if (!this.#relayAllowed && PeerConnection) {
          this.#error(
            'relay-disabled',
            `${peer.name} cannot make direct (WebRTC) connections and this server does not relay messages: you cannot chat with ${peer.name}.`,
            peer.id,
          );
        }
      }
      return undefined;
    }
    // A relayed pair stays relayed when re-introduced (after a rejoin).
    if (entry.transport === 'relayed') return undefined;
    const existing = entry.link;
    // Only an open link survives a re-introduction (after a signaling outage): a half-made
    // one may have lost signals while the server was away, and the other side starts over.
    if (existing && existing.isOpen && !existing.closed) {
      existing.name = peer.name;
      return existing;
    }
    const link = existing ? this.#replaceLink(peer.id, role) : this.#createLink(peer.id, peer.name, entry.version, role);
    if (added) this.#emit('peer-join', { id: peer.id, name: peer.name });
    if (!link && !existing) this.#goOnRelayed(peer.id, []);
    return link;
  }

  /** A new connection to a peer in place of the old one, taking over what it had not delivered. */
  #replaceLink(id: string, role: 'offerer' | 'answerer'): PeerLink | undefined {
    const peer = this.#peers.get(id);
    if (!peer) return undefined;
    const old = peer.link;
    const undelivered = old?.takeUndelivered() ?? [];
    old?.close('close');
    const link = this.#createLink(id, peer.name, peer.version, role);
    if (!link) {
      this.#goOnRelayed(id, undelivered);
      return undefined;
    }
    for (const frame of undelivered) link.sendChat(frame);
    if (old)
      this.#note(
        id,
        'connection-replaced',
        `a new connection replaces the old one${undelivered.length ? `; ${undelivered.length} message(s) carried over` : ''}`,
      );
    return link;
  }

  #createLink(id: string, name: string, version: number, role: 'offerer' | 'answerer'): PeerLink | undefined {
    const selfId = this.#selfId;
    const PeerConnection = this.#PeerConnection;
    if (!selfId || !PeerConnection) return undefined;
    let link: PeerLink;
    try {
      link = new PeerLink(
        {
          remoteId: id,
          name,
          selfId,
          role,
          epoch: randomToken(8),
          peerVersion: version,
          PeerConnection,
          configuration: {
            iceServers: this.#rtcIceServers(),
            ...(this.#options.iceTransportPolicy ? { iceTransportPolicy: this.#options.iceTransportPolicy } : {}),
            ...(this.#certificate ? { certificates: [this.#certificate] } : {}),
          },
          negotiation: this.#options.negotiation,
        },
        {
          signal: (message) => this.#connection?.send(message),
          note: (code, detail) => this.#note(id, code, detail),
          channelOpen: () => {
            this.#emit('channel-open', { id });
            if (version >= HISTORY_VERSION && this.#historySources.has(id)) this.#withHistory((history) => history.ask(id));
            if (version >= RECEIPT_VERSION && this.#away) link.sendControl({ type: 'presence', state: 'away' });
            if (version >= VERIFY_VERSION)
              this.#afterForming.run(() => {
                if (this.#peers.link(id) === link && link.isOpen) void this.#loadTrust().then((trust) => trust?.opened(id, trust.channel(id, link)!));
              });
            this.#afterForming.check();
          },
          channelClose: () => {
            this.#emit('channel-close', { id });
            this.#afterForming.check();
            // A closed data channel never reopens: the link is over. Usually the peer is
            // leaving and the server's peer-disconnected follows at once. If it is still in
            // the room after a moment, its side gave up on the direct connection.
            if (this.#peers.link(id) !== link) return;
            setTimeout(() => {
              if (this.#peers.link(id) !== link || this.#status === 'closed' || this.#returning.has(id)) return;
              // Without the server we cannot know whether the peer is still here: the next
              // welcome decides (listed: a new connection; not listed: gone).
              if (this.#status !== 'joined') return;
              this.#fallBack(id, link, `The direct connection to ${link.name} is gone.`);
            }, CHANNEL_CLOSE_GRACE_MS);
          },
          channelMessage: (message) => {
            this.#deliver(id, link.name, message);
            if (version >= RECEIPT_VERSION) this.#confirm(id, message.id);
          },
          receipt: (ids) => this.#receipted(id, ids),
          presence: (state) => {
            if (this.#blocked.has(id) || (state === 'away') === this.#awayPeers.has(id)) return;
            if (state === 'away') this.#awayPeers.add(id);
            else this.#awayPeers.delete(id);
            this.#emit('presence', { id, state });
          },
          typing: () => {
            if (!this.#blocked.has(id) && !this.#muted.has(id)) this.#emit('typing', { id });
          },
          // In the order they came: the loading promise runs its callbacks in order.
          verifyMessage: (message) => void this.#loadTrust().then((trust) => trust?.verifier.receive(id, trust.channel(id, link)!, message)),
          identityMessage: (message) => void this.#loadTrust().then((trust) => trust?.identities.receive(id, trust.channel(id, link)!, message)),
          fileMessage: (message) => {
            if (this.#blocked.has(id) && message.type === 'file-offer') link.sendControl({ type: 'file-decline', id: message.id });
            else void this.#loadFiles().then((files) => files?.control(id, link, message));
          },
          historyMessage: (message) => this.#withHistory((history) => history.receive(id, message)),
          fileChannel: (channel) => void this.#loadFiles().then((files) => (files ? files.channel(id, channel) : channel.close())),
          badMessage: (error) => this.#error('bad-peer-message', `${link.name} sent a message that does not parse: ${error.message}`, id),
          stateChange: (state) => {
            if (this.#peers.link(id) !== link) return;
            this.#emit('peer-state', { id, state: this.#returning.has(id) ? 'reconnecting' : state, ...(link.path ? { path: link.path } : {}) });
          },
          pathChange: (path) => {
            if (this.#peers.link(id) === link) this.#emit('peer-state', { id, state: link.peerState, path });
          },
          failed: (reason) => {
            if (this.#peers.link(id) === link && !this.#returning.has(id)) this.#fallBack(id, link, `${link.name}: ${reason}`);
          },
          turnError: (url, code, text) => this.#turnError(url, code, text),
        },
      );
    } catch (error) {
      if (this.#leaveOutRefusedIceServers(PeerConnection)) return this.#createLink(id, name, version, role);
      this.#error('webrtc-unsupported', `Cannot create a peer connection to ${name}: ${error instanceof Error ? error.message : String(error)}`, id);
      // No direct connection can be made: the pair goes through the relay, and the peer is
      // told (bye) so that it does not wait for one.
      this.#connection?.send({ type: 'bye', to: id });
      this.#peers.setRelayed(id, this.#relayAllowed);
      return undefined;
    }
    this.#peers.setDirect(id, link);
    link.start();
    return link;
  }

  /** Says once per TURN server and kind of failure what went wrong, naming the server. */
  #turnError(url: string, code: number, text: string): void {
    const key = `${url} ${code}`;
    if (this.#turnErrorsSaid.has(key) || this.#turnErrorsSaid.size > 32) return;
    this.#turnErrorsSaid.add(key);
    const what =
      code === 401 || code === 403 || code === 437 || code === 438
        ? `refused the credentials (${code} ${text})`
        : code === 701
          ? 'could not be reached'
          : `failed (${code} ${text})`;
    this.#error('turn-failed', `The TURN server ${url} ${what}: pairs that need it will use the relay.`);
  }

  /**
   * The direct connection to a peer is over for good while the peer is still here: go on
   * through the relay (if the server relays), re-sending what the dead channel may not
   * have delivered, and showing what the peer relayed meanwhile.
   */
  #fallBack(id: string, link: PeerLink, reason: string): void {
    if (this.#peers.link(id) !== link) return;
    const undelivered = link.takeUndelivered();
    this.#peers.setRelayed(id, this.#relayAllowed);
    link.close('close');
    // Transfers ran over the direct connection: they end with it (files never go through the relay).
    this.#files?.peerGone(id);
    const relay = this.#relay;
    if (!this.#relayAllowed || !relay) {
      this.#error('peer-failed', reason, id);
      this.#removePeer(id);
      return;
    }
    this.#error('peer-failed', `${reason} Messages to ${link.name} now go through the signaling server (relayed).`, id);
    this.#goOnRelayed(id, undelivered);
  }

  /**
   * A pair now chats through the relay (or, with relaying off, not at all): say so, send
   * what the direct connection had not delivered, show what the peer relayed meanwhile.
   */
  #goOnRelayed(id: string, undelivered: readonly string[]): void {
    const peer = this.#peers.get(id);
    const relay = this.#relay;
    if (!peer || !this.#relayAllowed || !relay) {
      this.#emit('peer-state', { id, state: 'failed' });
      return;
    }
    this.#emit('peer-state', { id, state: 'connected', path: 'server' });
    this.#startSealing(id);
    this.#checkProvable(peer);
    for (const frame of undelivered) {
      const parsed = parseChannelMessage(frame);
      if (parsed.ok && parsed.value.type === 'chat') this.#sendRelayed(peer, parsed.value);
    }
    for (const message of relay.release(id)) this.#deliver(id, peer.name, message);
  }

  #removePeer(id: string): void {
    this.#stopAwaiting(id);
    this.#relay?.discard(id);
    this.#trust?.sealed.drop(id);
    this.#files?.peerGone(id);
    this.#withHistory((history) => history.peerGone(id), false);
    this.#trust?.forget(id);
    this.#awayPeers.delete(id);
    this.#clearAnnounced.delete(id);
    const peer = this.#peers.remove(id);
    if (!peer) return;
    peer.link?.close('peer-left');
    this.#emit('peer-leave', { id });
    this.#afterForming.check();
  }

  /** Hands a chat message to the application once, however it travelled. */
  #deliver(from: string, name: string, message: ChatMessage): void {
    if (!this.#firstSight(from, message.id) || this.#blocked.has(from)) return;
    // The name the server introduced is the one we trust, not the one in the message.
    this.#emit('message', { from, name, text: message.text, at: message.at, id: message.id, ...(message.private ? { private: true } : {}) });
    if (!message.private) {
      const line = { id: message.id, from, name, text: message.text, at: message.at };
      this.#withHistory((history) => history.record(line));
    }
  }

  /** Follows a message we sent: the peers that can confirm it are those on a direct channel that speak receipts. */
  #follow(id: string, sent: readonly string[], queued: readonly string[]): void {
    const to = new Set([...sent, ...queued].filter((peer) => this.#peers.link(peer) && (this.#peers.get(peer)?.version ?? 1) >= RECEIPT_VERSION));
    if (to.size === 0) return;
    this.#followed.set(id, { to, delivered: new Set() });
    if (this.#followed.size > FOLLOWED_MESSAGES) this.#followed.delete(this.#followed.keys().next().value as string);
  }

  /** A peer confirmed messages of ours: each counts once, only from a peer it went to. */
  #receipted(peer: string, ids: readonly string[]): void {
    for (const id of ids) {
      const followed = this.#followed.get(id);
      if (!followed?.to.has(peer) || followed.delivered.has(peer)) continue;
      followed.delivered.add(peer);
      this.#emit('message-status', { id, delivered: followed.delivered.size, of: followed.to.size, peers: [...followed.delivered] });
    }
  }

  /** Confirms a message that came on the channel (again, too: the sender may have sent it twice), in the next batch. */
  #confirm(peer: string, id: string): void {
    let ids = this.#toConfirm.get(peer);
    if (!ids) this.#toConfirm.set(peer, (ids = []));
    ids.push(id);
    this.#confirmTimer ??= setTimeout(() => {
      this.#confirmTimer = null;
      for (const [to, all] of this.#toConfirm) {
        const link = this.#peers.link(to);
        for (let at = 0; link && at < all.length; at += MAX_RECEIPT_IDS) link.sendControl({ type: 'receipt', ids: all.slice(at, at + MAX_RECEIPT_IDS) });
      }
      this.#toConfirm.clear();
    }, RECEIPT_BATCH_MS);
  }

  /** Whether message `id` of `from` is new here (live or passed on); notes it as seen, the latest SEEN_PER_PEER per sender. */
  #firstSight(from: string, id: string): boolean {
    let seen = this.#seen.get(from);
    if (!seen) this.#seen.set(from, (seen = new Set()));
    if (seen.has(id)) return false;
    seen.add(id);
    if (seen.size > SEEN_PER_PEER) seen.delete(seen.values().next().value as string);
    return true;
  }

  // ---- events ------------------------------------------------------------------------

  #note(peer: string, code: NoteCode, detail?: string): void {
    const message = detail === undefined ? { type: 'note' as const, code } : { type: 'note' as const, code, detail };
    this.#emit('signal', { direction: 'note', message, peer, at: Date.now() });
  }

  /** The learning log sees every frame, but never the resume token (it is a credential). */
  #emitSignalOut(message: ClientMessage): void {
    if (message.type === 'relay') return;
    if (message.type === 'new-peer') {
      const { resume: _hidden, ...shown } = message;
      void _hidden;
      this.#emit('signal', { direction: 'out', message: shown, at: Date.now() });
      return;
    }
    if (message.type === 'rename') return this.#emit('signal', { direction: 'out', message, at: Date.now() });
    this.#emit('signal', { direction: 'out', message, peer: message.to, at: Date.now() });
  }

  #emitSignalIn(message: ServerMessage): void {
    const peer =
      'from' in message
        ? message.from
        : message.type === 'new-peer' || message.type === 'peer-disconnected' || message.type === 'peer-renamed'
          ? message.id
          : undefined;
    const shown: ServerMessage = message.type === 'welcome' ? { ...message, resume: 'hidden' } : message;
    this.#emit('signal', { direction: 'in', message: shown, ...(peer === undefined ? {} : { peer }), at: Date.now() });
  }

  #error(code: ErrorCode, message?: string, peer?: string): void {
    const error = protocolError(code, message);
    this.#emit('error', peer === undefined ? { code, message: error.message } : { code, message: error.message, peer });
  }

  #setStatus(status: MeshStatus, emit = true): void {
    if (this.#status === status) return;
    this.#status = status;
    if (emit) this.#emitStatus();
  }

  #emitStatus(): void {
    const nextAttemptAt = this.nextAttemptAt;
    const reason = this.#refusal;
    this.#emit('status', { status: this.#status, ...(nextAttemptAt === null ? {} : { nextAttemptAt }), ...(reason === null ? {} : { reason }) });
  }

  #emit<K extends MeshEventName>(type: K, detail: MeshEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** An ICE server as RTCPeerConnection takes it (a copy: `urls` is mutable there). */
function toRtcIceServer(server: IceServer): RTCIceServer {
  return { ...server, urls: typeof server.urls === 'string' ? server.urls : [...server.urls] };
}

/** The channel message in `text`, or null: the parser the on-demand modules are handed (so they carry no copy of the protocol). */
function channelMessageOrNull(text: string): ChannelMessage | null {
  const parsed = parseChannelMessage(text);
  return parsed.ok ? parsed.value : null;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** `bytes` random bytes as hex, from the platform's cryptographic generator (one per message: kept cheap). */
function randomToken(bytes: number): string {
  const buffer = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  let hex = '';
  for (const byte of buffer) hex += HEX[byte];
  return hex;
}
