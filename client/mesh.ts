/**
 * Mesh: the signaling socket plus one PeerLink (RTCPeerConnection + `chat` channel) per
 * remote peer of the room. A plain EventTarget, usable without any element, and in Node
 * with an injected WebSocket and RTCPeerConnection.
 *
 * Flow, as in the reference design: join with `new-peer`; the server's `welcome` lists
 * the peers already there, and they will offer to us; a later `new-peer` notice names a
 * newcomer, and we offer to it; `peer-disconnected` ends that peer's connection.
 */
import {
  LIMITS,
  defaultPeerName,
  encode,
  encodeChannelMessage,
  parseServerMessage,
  protocolError,
  type ChatMessage,
  type ErrorCode,
  type IceServer,
  type NegotiationOptions,
  type NewPeerRequest,
  type PeerSummary,
  type RelayRequest,
  type ServerMessage,
} from '../protocol/index.js';
import { PeerLink, type PeerConnectionConstructor } from './peer-link.js';
import { makeDtlsCertificate } from './dtls-certificate.js';
import type { MeshEventMap, MeshEventName, PeerInfo } from './mesh-events.js';

/** The part of the WebSocket API the mesh uses (the browser's, or `ws` in Node). */
export interface SignalingSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}
export type SocketConstructor = new (url: string) => SignalingSocket;

export interface MeshOptions {
  /** Signaling server URL, e.g. `ws://localhost:8080`. */
  readonly server: string;
  /** Room to join; default `lobby`. */
  readonly room?: string;
  /** Display name; default: the server's `guest-xxxx`. */
  readonly name?: string;
  /** WebSocket constructor; default `globalThis.WebSocket`; null: none. */
  readonly WebSocket?: SocketConstructor | null;
  /** RTCPeerConnection constructor; default `globalThis.RTCPeerConnection`; null: none. */
  readonly RTCPeerConnection?: PeerConnectionConstructor | null;
  /** ICE servers; default: the ones the signaling server hands out in `welcome`. */
  readonly iceServers?: readonly IceServer[];
  readonly negotiation?: Partial<NegotiationOptions>;
  /**
   * Reconnecting to the signaling server after the socket drops: exponential backoff
   * with jitter, from `initialDelayMs` up to `maxDelayMs`. `false`: do not reconnect.
   */
  readonly reconnect?: false | { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
}

/**
 * `reconnecting`: the signaling socket dropped and the mesh is trying again (open data
 * channels keep working meanwhile); `disconnected`: it dropped and will not retry.
 */
export type MeshStatus = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'disconnected' | 'closed';

/** What happened to one `send`. */
export interface SendResult {
  readonly message: ChatMessage | null;
  /** Peers whose open channel took the message. */
  readonly sent: readonly string[];
  /** Peers still connecting: the message waits and goes out when their channel opens. */
  readonly queued: readonly string[];
  readonly error?: ErrorCode;
}

const OPEN = 1;
/** How long a closed channel waits for the server's peer-disconnected before falling back to the relay. */
const CHANNEL_CLOSE_GRACE_MS = 1500;
const SEEN_PER_PEER = 4096;

export interface Mesh {
  addEventListener<K extends MeshEventName>(type: K, listener: (event: CustomEvent<MeshEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends MeshEventName>(type: K, listener: (event: CustomEvent<MeshEventMap[K]>) => void, options?: boolean | EventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export class Mesh extends EventTarget {
  readonly server: string;
  readonly room: string;
  readonly name: string | undefined;
  #socket: SignalingSocket | null = null;
  #selfId: string | null = null;
  #status: MeshStatus = 'idle';
  #iceServers: readonly IceServer[] = [];
  readonly #links = new Map<string, PeerLink>();
  /** Peers reached through the server's chat relay (no direct connection possible). */
  readonly #relayed = new Map<string, { name: string }>();
  /** Everyone in the room as the server introduced them (id → name), however we reach them. */
  readonly #roster = new Map<string, string>();
  /** Whether the server relays chat (from `welcome`). */
  #relayAllowed = false;
  /** Relay messages waiting for the signaling socket (during an outage). */
  readonly #relayOutbox: { to: string; message: ChatMessage }[] = [];
  readonly #seen = new Map<string, Set<string>>();
  readonly #Socket: SocketConstructor | undefined;
  readonly #PeerConnection: PeerConnectionConstructor | undefined;
  #counter = 0;
  readonly #session = randomToken();
  /** The server's resume token: rejoining with it keeps our id. */
  #resume: string | null = null;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the next reconnect attempt is due (ms since the epoch), while reconnecting. */
  #nextAttemptAt: number | null = null;
  /** One DTLS certificate for all our connections (made while the socket connects). */
  #certificate: RTCCertificate | null = null;

  constructor(readonly options: MeshOptions) {
    super();
    this.server = options.server;
    this.room = options.room || 'lobby';
    this.name = options.name?.trim() || undefined;
    this.#Socket = options.WebSocket === undefined ? (globalThis.WebSocket as unknown as SocketConstructor | undefined) : (options.WebSocket ?? undefined);
    this.#PeerConnection =
      options.RTCPeerConnection === undefined ? (globalThis.RTCPeerConnection as PeerConnectionConstructor | undefined) : (options.RTCPeerConnection ?? undefined);
  }

  /** Our server-assigned id, once welcomed. */
  get selfId(): string | null {
    return this.#selfId;
  }

  /** The name the others see: ours, or the server's `guest-xxxx` once welcomed. */
  get displayName(): string | null {
    return this.name ?? (this.#selfId ? defaultPeerName(this.#selfId) : null);
  }

  get status(): MeshStatus {
    return this.#status;
  }

  /** The other peers of the room and the state of our connection to each. */
  get peers(): PeerInfo[] {
    const direct: PeerInfo[] = [...this.#links.values()].map((link) => ({ id: link.remoteId, name: link.name, state: link.peerState, transport: 'direct' }));
    const relayed: PeerInfo[] = [...this.#relayed].map(([id, { name }]) =>
      this.#relayAllowed ? { id, name, state: 'connected', transport: 'relayed' } : { id, name, state: 'failed', transport: 'none' },
    );
    return [...direct, ...relayed];
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
    return this.#links.size;
  }

  /** Chat messages waiting for the channel to one peer to open or drain. */
  pendingTo(id: string): number {
    return this.#links.get(id)?.pendingChat ?? 0;
  }

  /** The RTCPeerConnection to one peer, for inspection (stats, states). */
  connectionTo(id: string): RTCPeerConnection | undefined {
    return this.#links.get(id)?.pc;
  }

  /** When the next reconnect attempt is due (ms since the epoch), while reconnecting. */
  get nextAttemptAt(): number | null {
    return this.#nextAttemptAt;
  }

  /** Opens the signaling socket and joins the room. */
  connect(): void {
    if (this.#status !== 'idle') return;
    if (!this.#PeerConnection) {
      this.#error('webrtc-unsupported', 'This browser cannot make direct (WebRTC) connections: chat will go through the signaling server if it relays messages.');
    }
    if (!this.#Socket) {
      this.#status = 'closed';
      this.#error('signaling-unavailable', 'This environment has no WebSocket.');
      return;
    }
    this.#status = 'connecting';
    this.#open();
    if (this.#PeerConnection) void makeDtlsCertificate(this.#PeerConnection).then((certificate) => (this.#certificate = certificate));
  }

  #open(): void {
    const Socket = this.#Socket;
    if (!Socket) return;
    let socket: SignalingSocket;
    try {
      socket = new Socket(this.server);
    } catch (error) {
      this.#status = 'closed';
      this.#error('signaling-unavailable', `Cannot connect to "${this.server}": ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.#socket = socket;
    socket.addEventListener('open', () => {
      if (this.#socket !== socket) return;
      const join: NewPeerRequest = {
        type: 'new-peer',
        room: this.room,
        ...(this.name ? { name: this.name } : {}),
        ...(this.#resume ? { resume: this.#resume } : {}),
        ...(this.#PeerConnection ? {} : { webrtc: false as const }),
      };
      this.#sendSignal(join);
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket) this.#onServerFrame(event.data);
    });
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#status === 'closed') return;
      const wasJoined = this.#status === 'joined';
      if (this.options.reconnect === false) {
        this.#status = 'disconnected';
      } else {
        this.#status = 'reconnecting';
        this.#scheduleReconnect();
      }
      // Say it once per outage, not at every failed attempt.
      if (wasJoined) this.#error('signaling-closed', 'The connection to the signaling server was lost. Open chats keep working; reconnecting…');
      else if (this.#attempt <= 1) this.#error('signaling-unavailable', `The signaling server at ${this.server} could not be reached.`);
      this.#emitStatus();
    });
    socket.addEventListener('error', () => {});
  }

  #scheduleReconnect(): void {
    const settings = this.options.reconnect || {};
    const initial = settings.initialDelayMs ?? 250;
    const max = settings.maxDelayMs ?? 10_000;
    // Exponential backoff with jitter: between half and all of the capped delay.
    const capped = Math.min(max, initial * 2 ** this.#attempt);
    const delay = capped / 2 + Math.random() * (capped / 2);
    this.#attempt++;
    this.#nextAttemptAt = Date.now() + delay;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#nextAttemptAt = null;
      if (this.#status === 'reconnecting') this.#open();
    }, delay);
  }

  /** Reconnects now instead of waiting for the backoff timer. */
  reconnectNow(): void {
    if (this.#status !== 'reconnecting' || this.#socket) return;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#nextAttemptAt = null;
    this.#open();
  }

  /** Asks for an ICE restart towards one peer (e.g. after a network change). */
  restartIce(id: string): void {
    this.#links.get(id)?.handle({ type: 'restart-ice' });
  }

  /** Sends a chat message to every peer of the room over the data channels. */
  send(text: string): SendResult {
    const trimmed = text.trim();
    if (trimmed === '') return { message: null, sent: [], queued: [], error: 'missing-field' };
    if (trimmed.length > LIMITS.maxChatTextLength) {
      this.#error('too-large', `A message may have at most ${LIMITS.maxChatTextLength} characters.`);
      return { message: null, sent: [], queued: [], error: 'too-large' };
    }
    const message: ChatMessage = {
      type: 'chat',
      id: `${this.#session}-${++this.#counter}`,
      text: trimmed,
      at: Date.now(),
      name: this.displayName ?? 'guest',
    };
    const frame = encodeChannelMessage(message);
    const sent: string[] = [];
    const queued: string[] = [];
    for (const link of this.#links.values()) {
      const outcome = link.sendChat(frame);
      if (outcome === 'sent') sent.push(link.remoteId);
      else if (outcome === 'queued') queued.push(link.remoteId);
    }
    for (const id of this.#relayed.keys()) {
      if (!this.#relayAllowed) continue;
      if (this.#sendRelay(id, message)) sent.push(id);
      else {
        this.#relayOutbox.push({ to: id, message });
        queued.push(id);
      }
    }
    if (sent.length === 0 && queued.length === 0) {
      this.#error('not-connected');
      return { message, sent, queued, error: 'not-connected' };
    }
    return { message, sent, queued };
  }

  /** Leaves: closes every peer connection and the signaling socket. */
  close(): void {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    for (const link of this.#links.values()) link.close('close');
    this.#links.clear();
    this.#relayed.clear();
    this.#roster.clear();
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, 'bye');
  }

  // ---- signaling ---------------------------------------------------------------------

  #sendSignal(message: NewPeerRequest | RelayRequest): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return;
    socket.send(encode(message));
    this.#emit('signal', { direction: 'out', message, ...(message.type === 'new-peer' ? {} : { peer: message.to }), at: Date.now() });
  }

  #onServerFrame(data: unknown): void {
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.#error(parsed.error.code, `The server sent a bad message: ${parsed.error.message}`);
      return;
    }
    const message = parsed.value;
    const peer = 'from' in message ? message.from : message.type === 'new-peer' || message.type === 'peer-disconnected' ? message.id : undefined;
    this.#emit('signal', { direction: 'in', message, ...(peer === undefined ? {} : { peer }), at: Date.now() });
    this.#onServerMessage(message);
  }

  #onServerMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome': {
        const rejoined = this.#selfId !== null;
        if (rejoined && message.id !== this.#selfId) {
          // The server gave us a new identity: connections made under the old one are
          // unknown to the others now.
          for (const id of [...this.#links.keys()]) this.#removePeer(id);
        }
        this.#selfId = message.id;
        this.#resume = message.resume;
        this.#status = 'joined';
        this.#attempt = 0;
        this.#iceServers = this.options.iceServers ?? message.iceServers;
        this.#relayAllowed = message.limits.relay;
        this.#emit('welcome', { id: message.id, room: message.room, peers: message.peers });
        if (!this.#PeerConnection && !this.#relayAllowed) {
          this.#error(
            'relay-disabled',
            'This browser cannot make direct (WebRTC) connections, and this server does not relay messages, so you cannot chat here. Please use a browser with WebRTC (a current Chrome, Edge, Firefox or Safari).',
          );
        }
        this.#roster.clear();
        for (const peer of message.peers) this.#roster.set(peer.id, peer.name);
        for (const id of [...this.#relayed.keys()]) if (!this.#roster.has(id)) this.#removePeer(id);
        for (const pending of this.#relayOutbox.splice(0)) if (this.#relayed.has(pending.to)) this.#sendRelay(pending.to, pending.message);
        // A rejoin: links still open stay; half-made links to peers that are not here
        // any more are dropped (those here will offer again, below).
        const listed = new Set(message.peers.map((p) => p.id));
        for (const [id, link] of this.#links) if (!listed.has(id) && !link.isOpen) this.#removePeer(id);
        // The peers already here offer to us (the reference's flow): we wait as answerer.
        for (const peer of message.peers) this.#addPeer(peer, 'answerer');
        this.#emitStatus();
        return;
      }
      case 'new-peer':
        // A newcomer: we were here first, so we offer. (After an outage a peer we are
        // still connected to may announce itself again: its open link stays.)
        this.#roster.set(message.id, message.name);
        this.#addPeer(message.webrtc === false ? { id: message.id, name: message.name, webrtc: false } : { id: message.id, name: message.name }, 'offerer');
        return;
      case 'offer': {
        const link = this.#links.get(message.from) ?? this.#addPeer({ id: message.from, name: defaultPeerName(message.from) }, 'answerer');
        link?.handle({ type: 'remote-offer', sdp: message.sdp });
        return;
      }
      case 'answer':
        this.#links.get(message.from)?.handle({ type: 'remote-answer', sdp: message.sdp });
        return;
      case 'candidate':
        this.#links.get(message.from)?.handle({ type: 'remote-candidate', candidate: message.candidate });
        return;
      case 'peer-disconnected':
        this.#roster.delete(message.id);
        this.#removePeer(message.id);
        return;
      case 'relay': {
        const link = this.#links.get(message.from);
        const member = this.#roster.get(message.from);
        if (member === undefined) return;
        // The other side fell back to the relay: so do we, unless our channel still works.
        if ((!link || !link.isOpen) && !this.#relayed.has(message.from)) this.#toRelay(message.from, member, false);
        const name = link?.name ?? member;
        this.#deliver(message.from, name, message.message);
        return;
      }
      case 'error':
        // A signal to a peer that has just left races its peer-disconnected: expected, and
        // already in the signal log; not worth alarming the user.
        if (message.code === 'unknown-peer') return;
        this.#error(message.code, message.message);
        return;
    }
  }

  // ---- peers -------------------------------------------------------------------------

  #addPeer(peer: PeerSummary, role: 'offerer' | 'answerer'): PeerLink | undefined {
    const selfId = this.#selfId;
    const PeerConnection = this.#PeerConnection;
    if (!selfId || peer.id === selfId) return undefined;
    if (!PeerConnection || peer.webrtc === false) {
      // One side has no WebRTC: this pair chats through the server's relay, if allowed.
      const known = this.#relayed.has(peer.id);
      this.#relayed.set(peer.id, { name: peer.name });
      if (!known) {
        this.#emit('peer-join', { id: peer.id, name: peer.name });
        this.#emit('peer-state', { id: peer.id, state: this.#relayAllowed ? 'connected' : 'failed' });
        if (!this.#relayAllowed && PeerConnection) {
          this.#error('relay-disabled', `${peer.name} cannot make direct (WebRTC) connections and this server does not relay messages: you cannot chat with ${peer.name}.`, peer.id);
        }
      }
      return undefined;
    }
    const existing = this.#links.get(peer.id);
    // Only an open link survives a re-introduction (after a signaling outage): a half-made
    // one may have lost signals while the server was away, and the other side starts over.
    if (existing && existing.isOpen && !existing.closed) {
      existing.name = peer.name;
      return existing;
    }
    if (existing) this.#removePeer(peer.id, false);
    const id = peer.id;
    let link: PeerLink;
    try {
      link = new PeerLink(
        id,
        peer.name,
        selfId,
        role,
        PeerConnection,
        {
          iceServers: this.#iceServers.map((server) => ({ ...server, urls: typeof server.urls === 'string' ? server.urls : [...server.urls] })),
          ...(this.#certificate ? { certificates: [this.#certificate] } : {}),
        },
        {
          signal: (message) => this.#sendSignal(message),
          note: (code, detail) => this.#emit('signal', { direction: 'note', message: detail === undefined ? { type: 'note', code } : { type: 'note', code, detail }, peer: id, at: Date.now() }),
          channelOpen: () => this.#emit('channel-open', { id }),
          channelClose: () => {
            this.#emit('channel-close', { id });
            // A closed data channel never reopens: the link is over. If the connection
            // failed and the server relays, go on through the relay; otherwise drop it
            // (if the peer is still in the room, the server will introduce it again).
            if (this.#links.get(id) !== link) return;
            if (!this.#relayAllowed) {
              this.#removePeer(id);
              return;
            }
            // Usually the peer is leaving and the server's peer-disconnected follows at
            // once. If it is still in the room after a moment, its side gave up on the
            // direct connection: go on through the relay.
            setTimeout(() => {
              if (this.#links.get(id) !== link || this.#status === 'closed') return;
              if (this.#roster.has(id)) this.#toRelay(id, link.name, true);
              else this.#removePeer(id);
            }, CHANNEL_CLOSE_GRACE_MS);
          },
          channelMessage: (message) => this.#onChatMessage(link, message),
          badMessage: (error) => this.#error('bad-peer-message', `${link.name} sent a message that does not parse: ${error.message}`, id),
          stateChange: (state) => this.#emit('peer-state', { id, state }),
          failed: (reason) => {
            if (this.#links.get(id) !== link) return;
            if (this.#relayAllowed) {
              this.#error('peer-failed', `${link.name}: ${reason} Messages to ${link.name} now go through the signaling server (relayed).`, id);
              this.#toRelay(id, link.name, false);
              return;
            }
            this.#error('peer-failed', `${link.name}: ${reason}`, id);
            this.#links.delete(id);
            this.#emit('peer-leave', { id });
          },
        },
        this.options.negotiation,
      );
    } catch (error) {
      this.#error('webrtc-unsupported', `Cannot create a peer connection: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
    this.#links.set(id, link);
    this.#emit('peer-join', { id, name: peer.name });
    link.start();
    return link;
  }

  #removePeer(id: string, announce = true): void {
    const link = this.#links.get(id);
    const relayed = this.#relayed.delete(id);
    if (!link && !relayed) return;
    if (link) {
      this.#links.delete(id);
      link.close('peer-left');
    }
    if (announce) this.#emit('peer-leave', { id });
  }

  /** Moves a peer from its direct connection to the chat relay. */
  #toRelay(id: string, name: string, announce: boolean): void {
    const link = this.#links.get(id);
    if (link) {
      this.#links.delete(id);
      link.close('close');
      if (announce) this.#error('peer-failed', `The direct connection to ${name} is gone: messages to ${name} now go through the signaling server (relayed).`, id);
    }
    this.#relayed.set(id, { name });
    this.#emit('peer-state', { id, state: 'connected' });
  }

  #sendRelay(to: string, message: ChatMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN || this.#status !== 'joined') return false;
    socket.send(encode({ type: 'relay', to, message }));
    return true;
  }

  #onChatMessage(link: PeerLink, message: ChatMessage): void {
    this.#deliver(link.remoteId, link.name, message);
  }

  /** Hands a chat message to the application once, however it travelled. */
  #deliver(from: string, name: string, message: ChatMessage): void {
    let seen = this.#seen.get(from);
    if (!seen) this.#seen.set(from, (seen = new Set()));
    if (seen.has(message.id)) return;
    seen.add(message.id);
    if (seen.size > SEEN_PER_PEER) seen.delete(seen.values().next().value as string);
    // The name the server introduced is the one we trust, not the one in the message.
    this.#emit('message', { from, name, text: message.text, at: message.at, id: message.id });
  }

  // ---- events ------------------------------------------------------------------------

  #error(code: ErrorCode, message?: string, peer?: string): void {
    const error = protocolError(code, message);
    this.#emit('error', peer === undefined ? { code, message: error.message } : { code, message: error.message, peer });
  }

  #emitStatus(): void {
    this.#emit('status', { status: this.#status, ...(this.#nextAttemptAt === null ? {} : { nextAttemptAt: this.#nextAttemptAt }) });
  }

  #emit<K extends MeshEventName>(type: K, detail: MeshEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function randomToken(): string {
  const bytes = new Uint8Array(6);
  globalThis.crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
