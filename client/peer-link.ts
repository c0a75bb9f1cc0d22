/**
 * One remote peer: an RTCPeerConnection and its `chat` data channel, driven by the
 * protocol's negotiation state machine. Browser callbacks become machine events; the
 * machine's effects are carried out one after another (never two browser operations on
 * the same connection at once), each result fed back as the next event.
 */
import {
  CHAT_CHANNEL_LABEL,
  encodeChannelMessage,
  parseChannelMessage,
  type ChatMessage,
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
} from '../protocol/index.js';
import type { PeerState } from './mesh-events.js';

const BROWSER_OPERATIONS = new Set<Effect['type']>(['create-channel', 'create-offer', 'create-answer', 'apply-remote-description', 'add-candidate']);

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
  /** The peer sent something on the channel that does not parse. */
  badMessage(error: ProtocolError): void;
  stateChange(state: PeerState): void;
  /** The machine closed the connection for good (ICE gave up, or a fatal error). */
  failed(reason: string): void;
}

export class PeerLink {
  readonly pc: RTCPeerConnection;
  channel: RTCDataChannel | null = null;
  #state: NegotiationState;
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #peerState: PeerState = 'connecting';
  /** Chat frames sent before the channel opened; flushed in order on open. */
  readonly #outbox: string[] = [];
  /**
   * Whether the other side listens on the channel. The side that received the channel
   * (ondatachannel) listens from the start; the side that created it waits for `ready`.
   */
  #peerListening = false;

  constructor(
    readonly remoteId: string,
    public name: string,
    selfId: string,
    role: Role,
    PeerConnection: PeerConnectionConstructor,
    configuration: RTCConfiguration,
    readonly hooks: PeerLinkHooks,
    options: Partial<NegotiationOptions> = {},
  ) {
    this.#state = initialNegotiationState(selfId, remoteId, role, options);
    this.pc = new PeerConnection(configuration);
    this.pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate ? (event.candidate.toJSON() as IceCandidate) : null;
      this.handle({ type: 'local-candidate', candidate: candidate && candidate.candidate === '' ? null : candidate });
    });
    this.pc.addEventListener('iceconnectionstatechange', () => {
      this.handle({ type: 'ice-connection-state', state: this.pc.iceConnectionState as IceConnectionState });
      this.#updatePeerState();
    });
    this.pc.addEventListener('connectionstatechange', () => this.#updatePeerState());
    this.pc.addEventListener('datachannel', (event) => {
      if (event.channel.label === CHAT_CHANNEL_LABEL) this.#attach(event.channel, false);
    });
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
    return this.channel?.readyState === 'open';
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  start(): void {
    this.handle({ type: 'start' });
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

  /** Moves frames from the outbox to the open channel; false while it is not open. */
  #flush(): boolean {
    const channel = this.channel;
    if (!channel || channel.readyState !== 'open') return false;
    if (!this.#peerListening) return true;
    let sent = 0;
    while (sent < this.#outbox.length && channel.bufferedAmount < HIGH_WATER_BYTES) channel.send(this.#outbox[sent++]!);
    if (sent > 0) this.#outbox.splice(0, sent);
    return true;
  }

  /** Feeds one event to the machine; its effects join the queue. */
  handle(event: NegotiationEvent): void {
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
    this.#chain = this.#chain.then(() => this.#run(effect)).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.handle({ type: 'operation-failed', operation: effect.type, message });
    });
  }

  async #run(effect: Effect): Promise<void> {
    const pc = this.pc;
    switch (effect.type) {
      case 'create-channel':
        this.#attach(pc.createDataChannel(effect.label), true);
        return;
      case 'create-offer': {
        if (pc.signalingState === 'closed') return;
        await pc.setLocalDescription(await pc.createOffer(effect.iceRestart ? { iceRestart: true } : {}));
        const local = pc.localDescription;
        if (local) this.handle({ type: 'local-description-ready', description: { type: 'offer', sdp: local.sdp } });
        return;
      }
      case 'create-answer': {
        if (pc.signalingState === 'closed') return;
        await pc.setLocalDescription(await pc.createAnswer());
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
      case 'send-signal':
        this.hooks.signal(effect.message);
        return;
      case 'schedule':
        this.#clearTimer();
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.handle({ type: 'timer-fired', timer: effect.timer });
        }, effect.ms);
        return;
      case 'cancel':
        this.#clearTimer();
        return;
      case 'note':
        this.hooks.note(effect.code, effect.detail);
        return;
      case 'close':
        this.#shutdown();
        if (effect.reason === 'ice-failed') this.hooks.failed('ICE could not be restored after several restarts.');
        return;
    }
  }

  #attach(channel: RTCDataChannel, created: boolean): void {
    if (this.channel && this.channel !== channel) this.channel.close();
    this.channel = channel;
    this.#peerListening = !created;
    const opened = () => {
      if (this.channel !== channel) return;
      // We listen now: tell the creator it may send.
      if (!created) channel.send(encodeChannelMessage({ type: 'ready' }));
      this.handle({ type: 'channel-opened' });
      this.#updatePeerState();
      this.hooks.channelOpen();
      this.#flush();
    };
    // A received channel is often open already, and then fires no `open` event.
    if (channel.readyState === 'open') queueMicrotask(opened);
    else channel.addEventListener('open', opened);
    channel.addEventListener('close', () => {
      if (this.channel !== channel) return;
      this.handle({ type: 'channel-closed' });
      this.#updatePeerState();
      this.hooks.channelClose();
    });
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    channel.addEventListener('bufferedamountlow', () => this.#flush());
    channel.addEventListener('message', (event: MessageEvent) => {
      if (this.channel !== channel) return;
      const parsed = parseChannelMessage(event.data);
      if (!parsed.ok) return this.hooks.badMessage(parsed.error);
      if (parsed.value.type === 'ready') {
        this.#peerListening = true;
        this.#flush();
        return;
      }
      this.hooks.channelMessage(parsed.value);
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
    const open = this.channel?.readyState === 'open';
    const ice = this.pc.iceConnectionState;
    if (open && (ice === 'disconnected' || ice === 'failed')) return 'reconnecting';
    if (open) return 'connected';
    return this.#state.channelState === 'closed' ? 'closed' : 'connecting';
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #shutdown(): void {
    this.#clearTimer();
    this.#outbox.length = 0;
    const channel = this.channel;
    this.channel = null;
    channel?.close();
    this.pc.close();
    this.#updatePeerState();
  }

  /** Closes the connection: `peer-left` when the server said so, `close` when we leave. */
  close(reason: 'peer-left' | 'close'): void {
    this.handle({ type: reason });
  }
}
