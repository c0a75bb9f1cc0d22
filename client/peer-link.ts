/**
 * One remote peer: an RTCPeerConnection and its `chat` data channel, driven by the
 * protocol's negotiation state machine. Browser callbacks become machine events; the
 * machine's effects are carried out one after another (never two browser operations on
 * the same connection at once), each result fed back as the next event.
 *
 * Delivery: the channel is ordered and reliable, so a `pong` to a `ping` sent after a
 * chat frame proves that frame arrived. Frames not proven yet are kept (bounded) and,
 * with those still waiting to go out, handed to whatever carries chat next if this
 * connection dies (`takeUndelivered`): a message is never lost because the path under
 * the channel died while the channel still read `open`.
 */
import {
  CHAT_CHANNEL_LABEL,
  FILE_CHANNEL_PREFIX,
  encodeChannelMessage,
  parseChannelMessage,
  type ChatMessage,
  type FileMessage,
  type HistoryMessage,
  type IdentityMessage,
  type ReceiptMessage,
  type PresenceMessage,
  type VerifyCommitMessage,
  type VerifyRevealMessage,
  type ProtocolError,
  negotiate,
  initialNegotiationState,
  type Effect,
  type IceCandidate,
  type IceConnectionState,
  type NegotiationEvent,
  type NegotiationOptions,
  type NegotiationState,
  type NoteCode,
  type RelayRequest,
  type Role,
  type SdpType,
  type TimerName,
} from '../protocol/index.js';
import type { PeerState } from './mesh-events.js';
import { browserIceTransport, hostAddressOf, ownAddressOf, readConnectionPath, type ConnectionPath } from './connection-path.js';

const BROWSER_OPERATIONS = new Set<Effect['type']>([
  'create-channel',
  'create-offer',
  'create-answer',
  'apply-remote-description',
  'add-candidate',
  'rollback',
]);
/** Frames sent but not yet proven delivered, kept for a hand-over; the oldest go first past this. */
const MAX_UNCONFIRMED = 5000;
/**
 * How long after a frame goes out its delivery is checked (one ping for everything sent
 * meanwhile): a ping per message would double the packets of a conversation (bench: rtt,
 * burst), and what is unconfirmed only matters if the path dies.
 */
const CONFIRM_AFTER_MS = 250;

/** Backpressure: stop handing frames to the channel above this many buffered bytes... */
const HIGH_WATER_BYTES = 1024 * 1024;
/** ...and resume when it drains below this. */
const LOW_WATER_BYTES = 256 * 1024;

export type PeerConnectionConstructor = new (configuration?: RTCConfiguration) => RTCPeerConnection;

export interface PeerLinkHooks {
  signal(message: RelayRequest): void;
  note(code: NoteCode, detail?: string): void;
  channelOpen(): void;
  channelClose(): void;
  channelMessage(message: ChatMessage): void;
  /** A safety-code comparison message (protocol version 4). */
  verifyMessage(message: VerifyCommitMessage | VerifyRevealMessage): void;
  /** The peer's long-lived key and its signature over this connection (protocol version 4). */
  identityMessage(message: IdentityMessage): void;
  /** The peer is typing (ephemeral). */
  typing(): void;
  /** An offer or answer about a file (protocol version 6), on the chat channel. */
  fileMessage(message: FileMessage): void;
  /** The peer is away (its page hidden) or back (protocol version 7). */
  presence(state: 'active' | 'away'): void;
  /** The peer confirms messages of ours it received (protocol version 7). */
  receipt(ids: readonly string[]): void;
  /** History for late joiners (protocol version 7): a request, a line or the end. */
  historyMessage(message: HistoryMessage): void;
  /** The peer opened a transfer's data channel (`file-<id>`). */
  fileChannel(channel: RTCDataChannel): void;
  /** The peer sent something on the channel that does not parse. */
  badMessage(error: ProtocolError): void;
  stateChange(state: PeerState): void;
  /** The machine closed the connection for good (ICE gave up, or a fatal error). */
  failed(reason: string): void;
  /** The selected candidate pair says the connection now runs another way (host, NAT, TURN). */
  pathChange(path: ConnectionPath): void;
  /** A TURN server refused our credentials or did not answer (icecandidateerror). */
  turnError(url: string, code: number, text: string): void;
}

export interface PeerLinkSettings {
  readonly remoteId: string;
  readonly name: string;
  readonly selfId: string;
  readonly role: Role;
  /** This connection's epoch (random): signals for an older connection are told apart. */
  readonly epoch: string;
  /** The remote peer's protocol version: `ping`/`pong` only from version 2. */
  readonly peerVersion: number;
  readonly PeerConnection: PeerConnectionConstructor;
  readonly configuration: RTCConfiguration;
  readonly negotiation?: Partial<NegotiationOptions> | undefined;
  /** Delay before the delivery check (a ping); default 250 ms. */
  readonly confirmAfterMs?: number;
}

/** How long the channel's creator waits for `ready` before it asks (a ping), and how many times. */
const READY_WAIT_MS = 500;
const READY_ASKS = 20;

/** Per RTCPeerConnection constructor: whether `setLocalDescription()` without a description works (unknown until tried). */
const implicitLocalDescription = new WeakMap<object, boolean>();

export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly remoteId: string;
  readonly peerVersion: number;
  name: string;
  #channel: RTCDataChannel | null = null;
  #state: NegotiationState;
  #chain: Promise<void> = Promise.resolve();
  readonly #timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  #peerState: PeerState = 'connecting';
  #path: ConnectionPath | null = null;
  #pathReadsLeft = 0;
  /** This gathering's end was signalled (Firefox says it twice: an empty candidate, then null). */
  #gatheringEndSent = false;
  #followedIce: EventTarget | null = null;
  readonly #configuration: RTCConfiguration;
  /** Host addresses the peer signalled (to tell a peer-reflexive candidate from a NAT). */
  readonly #remoteHosts = new Set<string>();
  /** Our own host and server-reflexive addresses (a peer on this machine or behind our NAT shows up at one). */
  readonly #ownAddresses = new Set<string>();
  /** Chat frames sent before the channel opened; flushed in order on open. */
  readonly #outbox: string[] = [];
  /** Frames handed to the channel and not yet proven delivered (by a later pong). */
  readonly #unconfirmed: { readonly frame: string; readonly seq: number }[] = [];
  #sentSeq = 0;
  #pingCount = 0;
  /** The ping in flight that confirms frames up to `seq`. */
  #pingInFlight: { readonly n: number; readonly seq: number } | null = null;
  #confirmTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #confirmAfterMs: number;
  readonly #probes = new Map<number, (alive: boolean) => void>();
  /**
   * Whether the other side listens on the channel. The side that received the channel
   * (ondatachannel) listens from the start; the side that created it waits for `ready`.
   */
  #peerListening = false;

  constructor(
    settings: PeerLinkSettings,
    readonly hooks: PeerLinkHooks,
  ) {
    this.remoteId = settings.remoteId;
    this.name = settings.name;
    this.peerVersion = settings.peerVersion;
    this.#confirmAfterMs = settings.confirmAfterMs ?? CONFIRM_AFTER_MS;
    this.#state = initialNegotiationState(settings.selfId, settings.remoteId, settings.role, settings.negotiation ?? {}, settings.epoch);
    this.#configuration = settings.configuration;
    this.pc = new settings.PeerConnection(settings.configuration);
    this.pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate ? (event.candidate.toJSON() as IceCandidate) : null;
      const own = candidate ? ownAddressOf(candidate.candidate) : null;
      if (own !== null && this.#ownAddresses.size < 64) this.#ownAddresses.add(own);
      const done = !candidate || candidate.candidate === '';
      // One end marker per gathering (an ICE restart's gathering ends again, even empty).
      if (!done || !this.#gatheringEndSent) this.handle({ type: 'local-candidate', candidate: done ? null : candidate });
      this.#gatheringEndSent = done;
      if (done && this.pc.iceGatheringState === 'complete' && this.#hasNoLocalCandidate()) this.handle({ type: 'no-local-candidates' });
    });
    this.pc.addEventListener('icegatheringstatechange', () => {
      if (this.pc.iceGatheringState === 'gathering') this.#gatheringEndSent = false;
    });
    this.pc.addEventListener('icecandidateerror', (event) => {
      const { url, errorCode, errorText } = event as RTCPeerConnectionIceErrorEvent;
      if (typeof url === 'string' && /^turns?:/.test(url)) this.hooks.turnError(url, errorCode, errorText);
    });
    this.pc.addEventListener('iceconnectionstatechange', () => {
      const ice = this.pc.iceConnectionState as IceConnectionState;
      this.handle({ type: 'ice-connection-state', state: ice });
      this.#updatePeerState();
      // Connected (again, maybe over another pair after a restart): which way?
      if (ice === 'connected' || ice === 'completed') this.#watchPath();
    });
    this.pc.addEventListener('connectionstatechange', () => this.#updatePeerState());
    this.pc.addEventListener('datachannel', (event) => {
      if (event.channel.label === CHAT_CHANNEL_LABEL) this.#attach(event.channel, false);
      else if (event.channel.label.startsWith(FILE_CHANNEL_PREFIX)) this.hooks.fileChannel(event.channel);
    });
  }

  /** How the connection runs (from the selected candidate pair), once known. */
  get path(): ConnectionPath | null {
    return this.#path;
  }

  /**
   * Reads the selected pair now and, since browsers settle on (or report) it a little
   * after `connected` (Firefox later than Chromium), again each second ten times. A
   * second `connected`/`completed` while reading starts the count again, not a second loop.
   */
  #watchPath(): void {
    this.#followPairChanges();
    const running = this.#pathReadsLeft > 0;
    this.#pathReadsLeft = 10;
    if (!running) void this.#readPath();
  }

  /**
   * ICE may move to a better pair long after `connected` (a TURN pair answers first, the
   * pair through the NATs a moment later). Where the browser says so (Chromium:
   * RTCIceTransport's selectedcandidatepairchange), read the path again then (browsers
   * only: see browserIceTransport).
   */
  #followPairChanges(): void {
    const ice = browserIceTransport(this.pc);
    if (!ice || ice === this.#followedIce) return;
    this.#followedIce = ice;
    ice.addEventListener('selectedcandidatepairchange', () => this.#watchPath());
  }

  async #readPath(): Promise<void> {
    if (this.#state.closed) {
      this.#pathReadsLeft = 0;
      return;
    }
    let path: ConnectionPath | null = null;
    try {
      path = await readConnectionPath(this.pc, this.#remoteHosts, this.#ownAddresses);
    } catch {
      // No stats (closing): nothing to say.
    }
    if (this.#state.closed) return;
    if (path !== null && path !== this.#path) {
      this.#path = path;
      this.hooks.pathChange(path);
    }
    if (--this.#pathReadsLeft > 0) setTimeout(() => void this.#readPath(), 1000);
  }

  get role(): Role {
    return this.#state.role;
  }

  get peerState(): PeerState {
    return this.#peerState;
  }

  get negotiation(): NegotiationState {
    return this.#state;
  }

  get isOpen(): boolean {
    return this.#channel?.readyState === 'open';
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  start(): void {
    this.handle({ type: 'start' });
  }

  /** Says "typing" on the open channel (nothing if it is not open). */
  sendTyping(): void {
    if (this.#channel?.readyState === 'open') this.#channel.send(encodeChannelMessage({ type: 'typing' }));
  }

  /** A transfer's own data channel (ordered, reliable), for the file sender. */
  openFileChannel(id: string): RTCDataChannel {
    // Below the chat channel, for browsers that schedule data channels by priority (no difference measured here yet: bench/README.md).
    const channel = this.pc.createDataChannel(`${FILE_CHANNEL_PREFIX}${id}`, { priority: 'very-low' } as RTCDataChannelInit);
    channel.binaryType = 'arraybuffer';
    return channel;
  }

  /** The largest message the connection takes (SCTP's `maxMessageSize`), when known. */
  get maxMessageSize(): number | null {
    return this.pc.sctp?.maxMessageSize ?? null;
  }

  /** A control message beside the chat: safety codes, identity (protocol version 4), files (version 6), history (version 7); on the open channel only (false if it is not open). */
  sendControl(message: VerifyCommitMessage | VerifyRevealMessage | IdentityMessage | FileMessage | HistoryMessage | ReceiptMessage | PresenceMessage): boolean {
    const channel = this.#channel;
    if (!channel || channel.readyState !== 'open') return false;
    channel.send(encodeChannelMessage(message));
    return true;
  }

  /**
   * Sends a chat frame now, or as soon as the channel opens. Frames leave in the order
   * given, and wait in the outbox while the channel's buffer is full (backpressure).
   */
  sendChat(frame: string): 'sent' | 'queued' | 'closed' {
    if (this.#state.closed) return 'closed';
    this.#outbox.push(frame);
    return this.#flush() ? 'sent' : 'queued';
  }

  /** Chat frames waiting for the channel to open or drain. */
  get pendingChat(): number {
    return this.#outbox.length;
  }

  /** Frames sent on the channel whose arrival is not proven yet. */
  get unconfirmedChat(): number {
    return this.#unconfirmed.length;
  }

  /**
   * Everything this connection may not have delivered, oldest first: frames never sent
   * and frames sent but not proven. The link forgets them: the caller sends them on.
   */
  takeUndelivered(): string[] {
    const frames = [...this.#unconfirmed.map((u) => u.frame), ...this.#outbox];
    this.#unconfirmed.length = 0;
    this.#outbox.length = 0;
    return frames;
  }

  /**
   * Whether the peer still answers on this channel within `timeoutMs` (a ping, answered by
   * its pong): false at once if the channel is not open or the peer cannot answer.
   */
  probe(timeoutMs: number): Promise<boolean> {
    const channel = this.#channel;
    if (!channel || channel.readyState !== 'open' || this.peerVersion < 2) return Promise.resolve(false);
    const n = ++this.#pingCount;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#probes.delete(n);
        resolve(false);
      }, timeoutMs);
      this.#probes.set(n, (alive) => {
        clearTimeout(timer);
        resolve(alive);
      });
      if (!sendPing(channel, n)) {
        this.#probes.get(n)?.(false);
        this.#probes.delete(n);
      }
    });
  }

  /** The creator, not hearing `ready`, asks with a ping: the pong (or anything) says the peer listens. */
  #askIfListening(channel: RTCDataChannel, asked: number): void {
    setTimeout(() => {
      if (this.#channel !== channel || this.#peerListening || channel.readyState !== 'open' || this.peerVersion < 2 || asked >= READY_ASKS) return;
      sendPing(channel, ++this.#pingCount);
      this.#askIfListening(channel, asked + 1);
    }, READY_WAIT_MS);
  }

  /** Moves frames from the outbox to the open channel; false while it is not open. */
  #flush(): boolean {
    const channel = this.#channel;
    if (!channel || channel.readyState !== 'open') return false;
    if (!this.#peerListening) return true;
    let sent = 0;
    while (sent < this.#outbox.length && channel.bufferedAmount < HIGH_WATER_BYTES) {
      const frame = this.#outbox[sent++]!;
      channel.send(frame);
      this.#unconfirmed.push({ frame, seq: ++this.#sentSeq });
    }
    if (sent > 0) {
      this.#outbox.splice(0, sent);
      // Trimmed in batches: a long burst must not shift the whole array at every frame.
      if (this.#unconfirmed.length > MAX_UNCONFIRMED * 1.1) this.#unconfirmed.splice(0, this.#unconfirmed.length - MAX_UNCONFIRMED);
      this.#confirmLater();
    }
    return true;
  }

  /** A moment after frames go out, one ping after the newest: its pong confirms them all. */
  #confirmLater(): void {
    if (this.#pingInFlight || this.#confirmTimer !== null || this.peerVersion < 2 || this.#unconfirmed.length === 0) return;
    this.#confirmTimer = setTimeout(() => {
      this.#confirmTimer = null;
      this.#ping();
    }, this.#confirmAfterMs);
  }

  #ping(): void {
    const channel = this.#channel;
    if (this.#pingInFlight || !channel || channel.readyState !== 'open' || this.#unconfirmed.length === 0) return;
    const n = ++this.#pingCount;
    this.#pingInFlight = { n, seq: this.#sentSeq };
    // If the channel is closing, what is unconfirmed stays for takeUndelivered.
    sendPing(channel, n);
  }

  #onPong(n: number): void {
    const inFlight = this.#pingInFlight;
    if (inFlight && inFlight.n <= n) {
      let confirmed = 0;
      while (confirmed < this.#unconfirmed.length && this.#unconfirmed[confirmed]!.seq <= inFlight.seq) confirmed++;
      this.#unconfirmed.splice(0, confirmed);
      this.#pingInFlight = null;
      this.#confirmLater();
    }
    const probe = this.#probes.get(n);
    if (probe) {
      this.#probes.delete(n);
      probe(true);
    }
  }

  /** Feeds one event to the machine; its effects join the queue. */
  handle(event: NegotiationEvent): void {
    if (event.type === 'remote-candidate' && event.candidate) {
      const host = hostAddressOf(event.candidate.candidate);
      if (host !== null && this.#remoteHosts.size < 64) {
        this.#remoteHosts.add(host);
        // A check from this address came first and was read as a NAT's (prflx): read again.
        if (this.#path === 'nat') this.#watchPath();
      }
    }
    const { state, effects } = negotiate(this.#state, event);
    this.#state = state;
    for (const effect of effects) this.#enqueue(effect);
  }

  #enqueue(effect: Effect): void {
    // Browser operations on the connection run one at a time, in order. Signals, notes,
    // timers and close touch no description, so they happen at once: the machine only
    // emits them when they are safe (an offer's signal comes after its local description).
    if (!BROWSER_OPERATIONS.has(effect.type)) {
      this.#run(effect).catch(() => {});
      return;
    }
    this.#chain = this.#chain
      .then(() => this.#run(effect))
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        const sdpType: SdpType | undefined = effect.type === 'apply-remote-description' ? effect.description.type : undefined;
        this.handle({ type: 'operation-failed', operation: effect.type, message, ...(sdpType ? { sdpType } : {}) });
      });
  }

  /**
   * Makes and applies the local offer or answer. Where the browser can, in one call
   * (`setLocalDescription()` without a description): one trip to WebRTC's thread instead
   * of two, and no SDP handed through script and parsed again, which a busy page forming a
   * mesh waits for. Only in the state that call would answer for (our operations run one at
   * a time, so the state cannot change before it runs); an ICE restart, and a WebRTC that
   * wants the description (Node's), use createOffer/createAnswer.
   */
  async #makeLocalDescription(type: 'offer' | 'answer', iceRestart: boolean): Promise<void> {
    const pc = this.pc;
    const implicit = implicitLocalDescription.get(pc.constructor);
    if (!iceRestart && implicit !== false && pc.signalingState === (type === 'offer' ? 'stable' : 'have-remote-offer')) {
      try {
        await (pc.setLocalDescription as () => Promise<void>)();
        implicitLocalDescription.set(pc.constructor, true);
        return;
      } catch (error) {
        if (implicit === true) throw error;
        // Not known yet whether this WebRTC can: take this failure as "it cannot".
        implicitLocalDescription.set(pc.constructor, false);
      }
    }
    await pc.setLocalDescription(type === 'offer' ? await pc.createOffer(iceRestart ? { iceRestart: true } : {}) : await pc.createAnswer());
  }

  async #run(effect: Effect): Promise<void> {
    const pc = this.pc;
    switch (effect.type) {
      case 'create-channel':
        this.#attach(pc.createDataChannel(effect.label), true);
        return;
      case 'create-offer': {
        if (pc.signalingState === 'closed') return;
        await this.#makeLocalDescription('offer', effect.iceRestart === true);
        const local = pc.localDescription;
        if (local) this.handle({ type: 'local-description-ready', description: { type: 'offer', sdp: local.sdp } });
        return;
      }
      case 'create-answer': {
        if (pc.signalingState === 'closed') return;
        await this.#makeLocalDescription('answer', false);
        const local = pc.localDescription;
        if (local) this.handle({ type: 'local-description-ready', description: { type: 'answer', sdp: local.sdp } });
        return;
      }
      case 'apply-remote-description':
        if (pc.signalingState === 'closed') return;
        await pc.setRemoteDescription(effect.description);
        this.handle({ type: 'remote-description-applied', sdpType: effect.description.type });
        return;
      case 'add-candidate':
        if (pc.signalingState === 'closed') return;
        if (effect.candidate === null) await pc.addIceCandidate();
        else await pc.addIceCandidate(effect.candidate);
        return;
      case 'rollback':
        if (pc.signalingState === 'closed' || pc.signalingState === 'stable') return;
        await pc.setLocalDescription({ type: 'rollback' });
        return;
      case 'send-signal':
        this.hooks.signal(effect.message);
        return;
      case 'schedule': {
        this.#clearTimer(effect.timer);
        const timer = setTimeout(() => {
          this.#timers.delete(effect.timer);
          this.handle({ type: 'timer-fired', timer: effect.timer });
        }, effect.ms);
        this.#timers.set(effect.timer, timer);
        return;
      }
      case 'cancel':
        this.#clearTimer(effect.timer);
        return;
      case 'note':
        this.hooks.note(effect.code, effect.detail);
        return;
      case 'close': {
        // Read from the connection before it is closed.
        const why = effect.reason === 'ice-failed' ? this.#whyFailed() : null;
        this.#shutdown();
        if (why !== null) this.hooks.failed(why);
        return;
      }
    }
  }

  /**
   * Whether our local description (the current gathering round's) holds no candidate: the
   * browser's own word, where counting `icecandidate` events is not (@roamhq/wrtc reports
   * the end of a round before its candidates at times).
   */
  #hasNoLocalCandidate(): boolean {
    const sdp = this.pc.localDescription?.sdp;
    return sdp !== undefined && !sdp.includes('a=candidate:');
  }

  /** Why ICE gave up, in words a user can act on. */
  #whyFailed(): string {
    if (this.pc.localDescription?.sdp.includes('a=candidate:')) return 'ICE could not be restored after several restarts.';
    // Not one address to connect from: only TURN could give one (relay-only), and it did not.
    const turn = (this.#configuration.iceServers ?? []).flatMap((server) => server.urls).filter((url) => /^turns?:/.test(url));
    return turn.length > 0
      ? `No network address to connect from: the TURN server (${turn.join(', ')}) refused the credentials or did not answer.`
      : 'No network address to connect from: "hide my IP address" (relay only) needs a TURN server, and none is configured.';
  }

  #attach(channel: RTCDataChannel, created: boolean): void {
    if (this.#channel && this.#channel !== channel) this.#channel.close();
    this.#channel = channel;
    this.#peerListening = !created;
    const opened = () => {
      if (this.#channel !== channel) return;
      // We listen now: tell the creator it may send.
      if (!created) channel.send(encodeChannelMessage({ type: 'ready' }));
      this.handle({ type: 'channel-opened' });
      this.#updatePeerState();
      this.hooks.channelOpen();
      this.#flush();
      if (created) this.#askIfListening(channel, 0);
    };
    // A received channel is often open already, and then fires no `open` event.
    if (channel.readyState === 'open') queueMicrotask(opened);
    else channel.addEventListener('open', opened);
    channel.addEventListener('close', () => {
      if (this.#channel !== channel) return;
      this.handle({ type: 'channel-closed' });
      this.#updatePeerState();
      this.hooks.channelClose();
    });
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    channel.addEventListener('bufferedamountlow', () => this.#flush());
    channel.addEventListener('message', (event: MessageEvent) => {
      if (this.#channel !== channel) return;
      // Whatever the peer sends on this channel shows it has it and listens: its `ready`
      // may have been lost (measured: a Firefox creator now and then never gets it, though
      // the peer's later messages arrive; the chat then waited in the outbox for ever).
      if (!this.#peerListening) {
        this.#peerListening = true;
        this.#flush();
      }
      const parsed = parseChannelMessage(event.data);
      if (!parsed.ok) {
        // A newer peer may send message types this version does not know: not an error.
        if (parsed.error.code !== 'unknown-type') this.hooks.badMessage(parsed.error);
        return;
      }
      const message = parsed.value;
      switch (message.type) {
        case 'ready':
          return;
        case 'typing':
          this.hooks.typing();
          return;
        case 'ping':
          if (channel.readyState === 'open') channel.send(encodeChannelMessage({ type: 'pong', n: message.n }));
          return;
        case 'pong':
          this.#onPong(message.n);
          return;
        case 'verify-commit':
        case 'verify-reveal':
          this.hooks.verifyMessage(message);
          return;
        case 'identity':
          this.hooks.identityMessage(message);
          return;
        case 'chat':
          this.hooks.channelMessage(message);
          return;
        case 'receipt':
          this.hooks.receipt(message.ids);
          return;
        case 'presence':
          this.hooks.presence(message.state);
          return;
        case 'history-request':
        case 'history':
        case 'history-sig':
        case 'history-end':
          this.hooks.historyMessage(message);
          return;
        default:
          this.hooks.fileMessage(message);
      }
    });
  }

  #updatePeerState(): void {
    const next = this.#derivePeerState();
    if (next === this.#peerState) return;
    this.#peerState = next;
    this.hooks.stateChange(next);
  }

  #derivePeerState(): PeerState {
    if (this.#state.closed) return this.#state.iceRestarts > 0 || this.pc.connectionState === 'failed' ? 'failed' : 'closed';
    const open = this.#channel?.readyState === 'open';
    const ice = this.pc.iceConnectionState;
    if (open && (ice === 'disconnected' || ice === 'failed')) return 'reconnecting';
    if (open) return 'connected';
    return this.#state.channelState === 'closed' ? 'closed' : 'connecting';
  }

  #clearTimer(name: TimerName): void {
    const timer = this.#timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(name);
  }

  #shutdown(): void {
    if (this.#confirmTimer !== null) clearTimeout(this.#confirmTimer);
    this.#confirmTimer = null;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const probe of this.#probes.values()) probe(false);
    this.#probes.clear();
    // Frames still held stay for takeUndelivered: the caller decides where they go.
    const channel = this.#channel;
    this.#channel = null;
    channel?.close();
    this.pc.close();
    this.#updatePeerState();
  }

  /** Closes the connection: `peer-left` when the server said so, `close` when we leave. */
  close(reason: 'peer-left' | 'close'): void {
    this.handle({ type: reason });
  }
}

/** Sends `ping` n; false if the channel would not take it (closing). */
function sendPing(channel: RTCDataChannel, n: number): boolean {
  try {
    channel.send(encodeChannelMessage({ type: 'ping', n }));
    return true;
  } catch {
    return false;
  }
}
