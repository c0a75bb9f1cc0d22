/**
 * End-to-end encryption of relayed chat (protocol version 5, protocol/relay-payload.ts):
 * for each peer reached through the server's relay, this side sends its ECDH key
 * (`relay-key`), derives the pair's AES-GCM key once the peer's arrives
 * (relay-crypto.ts), and from then on relays only sealed messages. Chat written before
 * the keys are in waits; a side without WebCrypto says so with an empty `relay-key`, and
 * the pair relays clear text, shown as such.
 *
 * Each pair key is a TrustChannel of its own: identities and safety codes go over it
 * sealed, and its fingerprints are the two ECDH keys, so comparing codes proves that
 * nobody swapped keys in between, exactly as over a direct connection. A new key (the
 * peer started over, or the server swapped it) is a new channel: what was verified over
 * the old one does not carry over.
 *
 * Two ratchets hold against a hostile server: a pair that was sealed never goes back to
 * clear text (an empty `relay-key` after that is refused), and from protocol version 9
 * each sealed payload carries its number in the sender's sequence, authenticated with it,
 * so a replay is refused and a drop or reorder is said.
 */
import type { ChannelMessage, ChatMessage, RelayKeyMessage, RelayPayload, SealedMessage } from '../protocol/index.js';
import { deriveRelayKey, newRelayKeyPair, relayKeyFingerprint, seal, unseal, type RelayKeyPair } from './relay-crypto.js';
import type { ConnectionFingerprints } from './safety-code.js';
import type { TrustChannel, TrustMessage } from './trust-channel.js';

/** `pending`: keys not yet swapped; `sealed`: encrypted end to end; `plain`: one side cannot encrypt. */
export type SealState = 'pending' | 'sealed' | 'plain';

/** Chat held per peer while the keys are swapped; beyond it the oldest is dropped. */
const MAX_WAITING = 500;
/** How far back numbers of sealed payloads are remembered: an older one is refused as a replay. */
const SEQUENCE_WINDOW = 1024;
/** Peers remembered as once sealed, for the ratchet (a peer that leaves and comes back keeps it). */
const MAX_EVER_SEALED = 4096;
/** Pair keys whose numbering is remembered (a key the server cycles back to keeps its window). */
const MAX_NUMBERINGS = 1024;

/** The numbers of one pair key, both ways: kept for the session, not per channel. */
interface Numbering {
  /** The number of the last payload sealed to the peer under this key. */
  sent: number;
  /** The highest number received, and the numbers received in the window below it. */
  highest: number;
  readonly seen: Set<number>;
  /** The peer numbers its payloads under this key (from then on an unnumbered one is refused). */
  numbered: boolean;
}

export interface SealedRelayHooks {
  selfId(): string | null;
  /** The protocol's encoder and parser of channel messages (passed in, so this lazily loaded module does not carry a copy of the protocol). */
  encode(message: ChannelMessage): string;
  parse(text: string): ChannelMessage | null;
  /** Puts a payload on the server's relay to `to`. */
  post(to: string, payload: RelayPayload): 'sent' | 'queued' | 'dropped';
  /** Whether the peer and the server speak protocol version 9 (numbered sealed payloads). */
  numbered(id: string): boolean;
  /** The pair's state changed (to `sealed` or `plain`), or it was sealed under a new key (`channel` is that key's). */
  state(id: string, state: SealState, channel: TrustChannel): void;
  /** A sealed message opened (chat, or a trust message). */
  received(id: string, message: ChannelMessage, channel: TrustChannel): void;
  /** A sealed message that did not open, was replayed, or clear chat where the pair encrypts. */
  rejected(id: string, why: string): void;
  /** Someone tried to take the encryption of a sealed pair away: refused. */
  downgrade(id: string, why: string): void;
  /** Sealed payloads from the peer are missing (`count` of them) or one came out of order. */
  gap(id: string, what: 'missing' | 'reordered', count: number): void;
}

/** One pair key: the channel that identities and codes use while it lasts, and its sequence numbers. */
class SealedChannel implements TrustChannel {
  readonly kind = 'relay';
  closed = false;

  constructor(
    readonly pair: SealedPair,
    readonly key: CryptoKey,
    readonly peerKey: string,
    readonly numbers: Numbering,
  ) {}

  send(message: TrustMessage): boolean {
    return this.pair.relay.sealAndPost(this, message);
  }

  fingerprints(): Promise<ConnectionFingerprints | null> {
    return this.pair.relay.fingerprintsOf(this);
  }
}

class SealedPair {
  /** The current pair key's channel; null until both keys are in. */
  channel: SealedChannel | null = null;
  offered = false;
  state: SealState = 'pending';
  closed = false;
  waiting: ChatMessage[] = [];
  /** Opening is asynchronous: a chain keeps what the peer sent in order. */
  inbound: Promise<void> = Promise.resolve();

  constructor(
    readonly relay: SealedRelay,
    readonly id: string,
  ) {}
}

export class SealedRelay {
  readonly #pairs = new Map<string, SealedPair>();
  readonly #everSealed = new Set<string>();
  readonly #numberings = new Map<string, Numbering>();
  #ownKeys: Promise<RelayKeyPair | null> | null = null;
  /** Sealing is asynchronous: one chain keeps everything we send in order. */
  #outbound: Promise<void> = Promise.resolve();
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

  /** Whether the pair with this peer was sealed at some time in this session: it never goes back to clear text. */
  wasSealed(id: string): boolean {
    return this.#everSealed.has(id);
  }

  /** The pair's current key as a channel for codes and identities, once sealed. */
  channelOf(id: string): TrustChannel | null {
    const pair = this.#pairs.get(id);
    return pair?.state === 'sealed' ? pair.channel : null;
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
    if (pair.state === 'sealed' && pair.channel) return this.sealAndPost(pair.channel, message) ? 'sent' : 'dropped';
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

  /** The peer left: forget the pair (not that it was sealed). */
  drop(id: string): void {
    const pair = this.#pairs.get(id);
    if (!pair) return;
    pair.closed = true;
    if (pair.channel) pair.channel.closed = true;
    pair.waiting = [];
    this.#pairs.delete(id);
  }

  sealAndPost(channel: SealedChannel, message: ChannelMessage): boolean {
    const { pair } = channel;
    const selfId = this.hooks.selfId();
    if (channel.closed || pair.closed || !selfId) return false;
    const text = this.hooks.encode(message);
    // Numbered in the order sent (the sealing that follows is asynchronous, the chain keeps the order).
    const n = this.hooks.numbered(pair.id) ? ++channel.numbers.sent : undefined;
    this.#outbound = this.#outbound.then(async () => {
      const { iv, data } = await seal(channel.key, text, selfId, pair.id, n);
      if (!channel.closed && !pair.closed) this.hooks.post(pair.id, n === undefined ? { type: 'sealed', iv, data } : { type: 'sealed', iv, data, n });
    });
    return true;
  }

  async fingerprintsOf(channel: SealedChannel): Promise<ConnectionFingerprints | null> {
    const own = await this.#own;
    if (!own || channel.closed) return null;
    return { local: await relayKeyFingerprint(own.publicKey), remote: await relayKeyFingerprint(channel.peerKey), source: 'relay-key' };
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
    if (pair.state === 'plain') this.hooks.received(pair.id, payload, pair.channel ?? PLAIN);
    else this.hooks.rejected(pair.id, 'came unencrypted although this pair encrypts');
  }

  async #receiveKey(pair: SealedPair, message: RelayKeyMessage): Promise<void> {
    const own = await this.#own;
    const selfId = this.hooks.selfId();
    if (!message.key && (pair.state === 'sealed' || this.#everSealed.has(pair.id))) {
      // The ratchet: once sealed, never clear. A real peer keeps its WebCrypto for the page's life.
      this.hooks.downgrade(pair.id, 'sent a relay key that would turn encryption off');
      return;
    }
    if (!message.key || !own || !selfId) {
      if (!pair.offered) await this.#offer(pair);
      this.#settle(pair, 'plain');
      return;
    }
    if (message.key === pair.channel?.peerKey) {
      if (!pair.offered) await this.#offer(pair);
      return;
    }
    // A peer that starts over with a new key has lost ours: send it again.
    const again = pair.offered && pair.channel !== null;
    let key: CryptoKey;
    try {
      key = await deriveRelayKey(own, selfId, message.key, pair.id);
    } catch {
      this.hooks.rejected(pair.id, 'sent a relay key that is not a P-256 point');
      return;
    }
    if (pair.closed) return;
    if (pair.channel) pair.channel.closed = true;
    pair.channel = new SealedChannel(pair, key, message.key, this.#numbering(pair.id, message.key));
    // Our key goes out before any sealed message, so the peer can open them.
    if (!pair.offered || again) await this.#offer(pair);
    this.#settle(pair, 'sealed', true);
  }

  async #open(pair: SealedPair, sealed: SealedMessage): Promise<void> {
    const selfId = this.hooks.selfId();
    const channel = pair.channel;
    if (channel && sealed.n === undefined && (channel.numbers.numbered || this.hooks.numbered(pair.id))) {
      this.hooks.rejected(pair.id, 'came without its sequence number');
      return;
    }
    const text = channel && selfId ? await unseal(channel.key, sealed, pair.id, selfId) : null;
    const message = text === null ? null : this.hooks.parse(text);
    if (!message || !channel) {
      this.hooks.rejected(pair.id, text === null ? 'did not pass its integrity check' : 'does not parse once opened');
      return;
    }
    if (sealed.n !== undefined && !this.#inSequence(channel, sealed.n)) {
      this.hooks.rejected(pair.id, 'was relayed before: a replay');
      return;
    }
    this.hooks.received(pair.id, message, channel);
  }

  /** Notes a payload's number (its seal checked out); false for a replay. Says what is missing or late. */
  #inSequence(channel: SealedChannel, n: number): boolean {
    const numbers = channel.numbers;
    numbers.numbered = true;
    if (numbers.seen.has(n) || n <= numbers.highest - SEQUENCE_WINDOW) return false;
    if (n > numbers.highest + 1) this.hooks.gap(channel.pair.id, 'missing', n - numbers.highest - 1);
    else if (n < numbers.highest) this.hooks.gap(channel.pair.id, 'reordered', 1);
    numbers.seen.add(n);
    numbers.highest = Math.max(numbers.highest, n);
    if (numbers.seen.size > SEQUENCE_WINDOW) numbers.seen.delete(numbers.seen.values().next().value as number);
    return true;
  }

  /** The numbering of the pair key with `peerKey`: the same object each time that key comes back. */
  #numbering(id: string, peerKey: string): Numbering {
    const key = `${id}\n${peerKey}`;
    let numbers = this.#numberings.get(key);
    if (!numbers) {
      this.#numberings.set(key, (numbers = { sent: 0, highest: 0, seen: new Set(), numbered: false }));
      if (this.#numberings.size > MAX_NUMBERINGS) this.#numberings.delete(this.#numberings.keys().next().value as string);
    }
    return numbers;
  }

  #settle(pair: SealedPair, state: SealState, rekeyed = false): void {
    if (pair.state === state && !rekeyed) return;
    pair.state = state;
    if (state === 'sealed') {
      this.#everSealed.add(pair.id);
      if (this.#everSealed.size > MAX_EVER_SEALED) this.#everSealed.delete(this.#everSealed.values().next().value as string);
    }
    const waiting = pair.waiting;
    pair.waiting = [];
    for (const message of waiting) this.send(pair.id, message);
    // A new key is a new connection for identities and codes: they start again over it.
    this.hooks.state(pair.id, state, pair.channel ?? PLAIN);
  }
}

/** Where a pair relays clear text: a channel that carries nothing and has no keys. */
const PLAIN: TrustChannel = { kind: 'relay', closed: true, send: () => false, fingerprints: () => Promise.resolve(null) };
