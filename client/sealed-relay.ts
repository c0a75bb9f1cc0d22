/**
 * End-to-end encryption of relayed chat (protocol version 5, protocol/relay-payload.ts):
 * for each peer reached through the server's relay, this side sends its ECDH key
 * (`relay-key`), derives the pair's AES-GCM key once the peer's arrives
 * (relay-crypto.ts), and from then on relays only sealed messages. Chat written before
 * the keys are in waits; a side without WebCrypto says so with an empty `relay-key`, and
 * the pair relays clear text, shown as such.
 *
 * A sealed pair is also a TrustChannel: identities and safety codes go over it sealed,
 * and its fingerprints are the two ECDH keys, so comparing codes proves that nobody
 * swapped keys in between, exactly as over a direct connection.
 */
import type { ChannelMessage, ChatMessage, RelayKeyMessage, RelayPayload, SealedMessage } from '../protocol/index.js';
import { deriveRelayKey, newRelayKeyPair, relayKeyFingerprint, seal, unseal, type RelayKeyPair } from './relay-crypto.js';
import type { ConnectionFingerprints } from './safety-code.js';
import type { TrustChannel, TrustMessage } from './trust-channel.js';

/** `pending`: keys not yet swapped; `sealed`: encrypted end to end; `plain`: one side cannot encrypt. */
export type SealState = 'pending' | 'sealed' | 'plain';

/** Chat held per peer while the keys are swapped; beyond it the oldest is dropped. */
const MAX_WAITING = 500;

export interface SealedRelayHooks {
  selfId(): string | null;
  /** The protocol's encoder and parser of channel messages (passed in, so this lazily loaded module does not carry a copy of the protocol). */
  encode(message: ChannelMessage): string;
  parse(text: string): ChannelMessage | null;
  /** Puts a payload on the server's relay to `to`. */
  post(to: string, payload: RelayPayload): 'sent' | 'queued' | 'dropped';
  /** The pair's state changed (to `sealed` or `plain`). */
  state(id: string, state: SealState, channel: TrustChannel): void;
  /** A sealed message opened (chat, or a trust message). */
  received(id: string, message: ChannelMessage, channel: TrustChannel): void;
  /** A sealed message that did not open, or clear chat where the pair encrypts. */
  rejected(id: string, why: string): void;
}

class SealedPair implements TrustChannel {
  key: CryptoKey | null = null;
  peerKey: string | null = null;
  offered = false;
  state: SealState = 'pending';
  closed = false;
  waiting: ChatMessage[] = [];
  /** Sealing and opening are asynchronous: chains keep each direction in order. */
  outbound: Promise<void> = Promise.resolve();
  inbound: Promise<void> = Promise.resolve();

  constructor(
    readonly relay: SealedRelay,
    readonly id: string,
  ) {}

  send(message: TrustMessage): boolean {
    return this.relay.sealAndPost(this, message);
  }

  fingerprints(): Promise<ConnectionFingerprints | null> {
    return this.relay.fingerprintsOf(this);
  }
}

export class SealedRelay {
  readonly #pairs = new Map<string, SealedPair>();
  #ownKeys: Promise<RelayKeyPair | null> | null = null;
  /** WebCrypto is there (not on an insecure page): looked at once, when the relay starts. */
  readonly #canEncrypt = typeof crypto !== 'undefined' && !!crypto.subtle;

  constructor(readonly hooks: SealedRelayHooks) {}

  /**
   * This page's ECDH key pair, or null where WebCrypto is missing (an insecure page). Made
   * when a first pair needs it: most meshes never relay, and making it at load cost each
   * page of a forming mesh ~2 ms of main thread (profile, bench/README).
   */
  get #own(): Promise<RelayKeyPair | null> {
    this.#ownKeys ??= this.#canEncrypt ? newRelayKeyPair().catch(() => null) : Promise.resolve(null);
    return this.#ownKeys;
  }

  stateOf(id: string): SealState | null {
    return this.#pairs.get(id)?.state ?? null;
  }

  /** The pair as a channel for codes and identities, once sealed. */
  channelOf(id: string): TrustChannel | null {
    const pair = this.#pairs.get(id);
    return pair?.state === 'sealed' ? pair : null;
  }

  /** The pair chats through the relay from now on: offer our key (once). */
  async start(id: string): Promise<void> {
    const pair = this.#pair(id);
    if (!pair.offered) await this.#offer(pair);
  }

  /** Chat for a relayed peer: sealed, or waiting for the keys, or clear if the pair cannot encrypt. */
  send(id: string, message: ChatMessage): 'sent' | 'queued' | 'dropped' {
    const pair = this.#pair(id);
    if (pair.state === 'plain') return this.hooks.post(id, message);
    if (pair.state === 'sealed') return this.sealAndPost(pair, message) ? 'sent' : 'dropped';
    pair.waiting.push(message);
    if (pair.waiting.length > MAX_WAITING) pair.waiting.shift();
    if (!pair.offered) void this.#offer(pair);
    return 'queued';
  }

  /** What a relayed peer sent, in the order it came. */
  receive(id: string, payload: RelayPayload): Promise<void> {
    const pair = this.#pair(id);
    pair.inbound = pair.inbound.then(() => this.#receive(pair, payload));
    return pair.inbound;
  }

  /** The peer left: forget the pair. */
  drop(id: string): void {
    const pair = this.#pairs.get(id);
    if (!pair) return;
    pair.closed = true;
    pair.waiting = [];
    this.#pairs.delete(id);
  }

  sealAndPost(pair: SealedPair, message: ChannelMessage): boolean {
    const key = pair.key;
    const selfId = this.hooks.selfId();
    if (pair.closed || !key || !selfId) return false;
    const text = this.hooks.encode(message);
    pair.outbound = pair.outbound.then(async () => {
      const { iv, data } = await seal(key, text, selfId, pair.id);
      if (!pair.closed) this.hooks.post(pair.id, { type: 'sealed', iv, data });
    });
    return true;
  }

  async fingerprintsOf(pair: SealedPair): Promise<ConnectionFingerprints | null> {
    const own = await this.#own;
    if (!own || !pair.peerKey || pair.closed) return null;
    return { local: await relayKeyFingerprint(own.publicKey), remote: await relayKeyFingerprint(pair.peerKey), source: 'relay-key' };
  }

  #pair(id: string): SealedPair {
    let pair = this.#pairs.get(id);
    if (!pair) this.#pairs.set(id, (pair = new SealedPair(this, id)));
    return pair;
  }

  async #offer(pair: SealedPair): Promise<void> {
    pair.offered = true;
    const own = await this.#own;
    const offer: RelayKeyMessage = own ? { type: 'relay-key', key: own.publicKey } : { type: 'relay-key' };
    this.hooks.post(pair.id, offer);
    if (!own) this.#settle(pair, 'plain');
  }

  async #receive(pair: SealedPair, payload: RelayPayload): Promise<void> {
    if (pair.closed) return;
    if (payload.type === 'relay-key') return this.#receiveKey(pair, payload);
    if (payload.type === 'sealed') return this.#open(pair, payload);
    // Clear chat: fine where the pair cannot encrypt; elsewhere someone stripped or forged it.
    if (pair.state === 'plain') this.hooks.received(pair.id, payload, pair);
    else this.hooks.rejected(pair.id, 'came unencrypted although this pair encrypts');
  }

  async #receiveKey(pair: SealedPair, message: RelayKeyMessage): Promise<void> {
    const own = await this.#own;
    const selfId = this.hooks.selfId();
    if (!message.key || !own || !selfId) {
      if (!pair.offered) await this.#offer(pair);
      this.#settle(pair, 'plain');
      return;
    }
    if (message.key === pair.peerKey) {
      if (!pair.offered) await this.#offer(pair);
      return;
    }
    // A peer that starts over with a new key has lost ours: send it again.
    const again = pair.offered && pair.peerKey !== null;
    let key: CryptoKey;
    try {
      key = await deriveRelayKey(own, selfId, message.key, pair.id);
    } catch {
      this.hooks.rejected(pair.id, 'sent a relay key that is not a P-256 point');
      return;
    }
    if (pair.closed) return;
    pair.key = key;
    pair.peerKey = message.key;
    // Our key goes out before any sealed message, so the peer can open them.
    if (!pair.offered || again) await this.#offer(pair);
    this.#settle(pair, 'sealed', true);
  }

  async #open(pair: SealedPair, sealed: SealedMessage): Promise<void> {
    const selfId = this.hooks.selfId();
    const text = pair.key && selfId ? await unseal(pair.key, sealed, pair.id, selfId) : null;
    const message = text === null ? null : this.hooks.parse(text);
    if (!message) {
      this.hooks.rejected(pair.id, text === null ? 'did not pass its integrity check' : 'does not parse once opened');
      return;
    }
    this.hooks.received(pair.id, message, pair);
  }

  #settle(pair: SealedPair, state: SealState, rekeyed = false): void {
    if (pair.state === state && !rekeyed) return;
    pair.state = state;
    const waiting = pair.waiting;
    pair.waiting = [];
    for (const message of waiting) this.send(pair.id, message);
    // A new key is a new connection for identities and codes: they start again over it.
    this.hooks.state(pair.id, state, pair);
  }
}
