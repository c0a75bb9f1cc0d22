/**
 * The identity exchange of each direct connection: once the channel opens, each side
 * sends its long-lived public key with a signature over both ids and both DTLS
 * fingerprints as it sees them (identity-keys.ts). The receiver checks the signature
 * against its own view of the connection and the key against the one it remembered for
 * that peer's name:
 *
 * - `new`: a valid signature, a key this profile has not verified (compare codes once);
 * - `verified`: the key this profile verified before (no codes to compare again);
 * - `changed`: another key than the remembered one, or a signature that does not fit this
 *   connection (someone in the middle, who cannot sign with the peer's real key).
 */
import type { IdentityMessage } from '../protocol/index.js';
import type { ConnectionFingerprints } from './safety-code.js';
import type { TrustChannel } from './trust-channel.js';
import { bindingText, keyFingerprint, loadIdentity, signBinding, verifyBinding, type IdentityKeys, type KnownPeers } from './identity-keys.js';

export type IdentityStatus = 'new' | 'verified' | 'changed';

export interface PeerIdentity {
  /** Fingerprint of the peer's public key (`AB12 CD34 …`). */
  readonly key: string;
  readonly status: IdentityStatus;
  /** Why `changed`: another key than remembered, or a signature not made for this connection. */
  readonly reason?: 'other-key' | 'not-this-connection';
}

export interface PeerIdentitiesHooks {
  identity(id: string, identity: PeerIdentity): void;
}

/** The connection's fingerprints, waiting a moment for them (the stats may lag the channel's opening). */
async function fingerprintsOf(channel: TrustChannel): Promise<ConnectionFingerprints | null> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const fingerprints = await channel.fingerprints();
    if (fingerprints || channel.closed) return fingerprints;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return null;
}

export class PeerIdentities {
  #loaded: Promise<{ keys: IdentityKeys; known: KnownPeers } | null> | null = null;
  readonly #byChannel = new WeakMap<TrustChannel, PeerIdentity>();
  /** Each peer's public key (base64url), once bound to a connection with it: for checking its signed lines. */
  readonly #keyById = new Map<string, string>();

  constructor(
    readonly name: string,
    readonly selfId: () => string | null,
    readonly hooks: PeerIdentitiesHooks,
  ) {}

  #load(): Promise<{ keys: IdentityKeys; known: KnownPeers } | null> {
    // No WebCrypto (an insecure page): no identities, and nothing breaks.
    this.#loaded ??= typeof crypto === 'undefined' || !crypto.subtle ? Promise.resolve(null) : loadIdentity(this.name).catch(() => null);
    return this.#loaded;
  }

  /** This profile's key fingerprint, once loaded. */
  async ownKey(): Promise<string | null> {
    return (await this.#load())?.keys.fingerprint ?? null;
  }

  of(channel: TrustChannel): PeerIdentity | null {
    return this.#byChannel.get(channel) ?? null;
  }

  /** Sends our identity over a newly opened connection. */
  async send(peerId: string, channel: TrustChannel): Promise<void> {
    const loaded = await this.#load();
    const selfId = this.selfId();
    const fingerprints = await fingerprintsOf(channel);
    if (!loaded || !selfId || !fingerprints) return;
    const binding = bindingText({ id: selfId, fingerprint: fingerprints.local }, { id: peerId, fingerprint: fingerprints.remote });
    channel.send({ type: 'identity', key: loaded.keys.publicKey, sig: await signBinding(loaded.keys, binding) });
  }

  /** The peer's identity arrived. */
  async receive(peerId: string, peerName: string, channel: TrustChannel, message: IdentityMessage): Promise<void> {
    const loaded = await this.#load();
    const selfId = this.selfId();
    const fingerprints = await fingerprintsOf(channel);
    if (!loaded || !selfId || !fingerprints) return;
    // As this side sees the connection: the signature must fit it.
    const binding = bindingText({ id: selfId, fingerprint: fingerprints.local }, { id: peerId, fingerprint: fingerprints.remote });
    const key = await keyFingerprint(message.key);
    let identity: PeerIdentity;
    if (!(await verifyBinding(message.key, message.sig, binding))) identity = { key, status: 'changed', reason: 'not-this-connection' };
    else {
      this.#keyById.set(peerId, message.key);
      for (const wake of this.#waiting.get(peerId) ?? []) wake(message.key);
      this.#waiting.delete(peerId);
      const remembered = await loaded.known.keyOf(peerName);
      identity =
        remembered === null ? { key, status: 'new' } : remembered === key ? { key, status: 'verified' } : { key, status: 'changed', reason: 'other-key' };
    }
    this.#byChannel.set(channel, identity);
    this.hooks.identity(peerId, identity);
  }

  /** Signs `text` (a line's `lineSigningText`) with this profile's key; null without WebCrypto. */
  async signLine(text: string): Promise<string | null> {
    const loaded = await this.#load();
    return loaded ? signBinding(loaded.keys, text) : null;
  }

  /**
   * Whether `sig` is peer `peerId`'s signature of `text`, by the key it bound to its
   * connection with us; null when we have no such key (it left before we came, or has
   * not sent its identity yet).
   */
  async verifyLine(peerId: string, text: string, sig: string, waitMs = 0): Promise<boolean | null> {
    const key = this.#keyById.get(peerId) ?? (waitMs > 0 ? await this.#keyWithin(peerId, waitMs) : undefined);
    return key === undefined ? null : verifyBinding(key, sig, text);
  }

  /** Those waiting for a peer's key (its identity is on the way). */
  readonly #waiting = new Map<string, ((key: string) => void)[]>();

  #keyWithin(peerId: string, waitMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      const list = this.#waiting.get(peerId) ?? [];
      list.push((key) => {
        clearTimeout(timer);
        resolve(key);
      });
      this.#waiting.set(peerId, list);
    });
  }

  /** The peer left: its key goes with it. */
  forget(peerId: string): void {
    this.#keyById.delete(peerId);
    this.#waiting.delete(peerId);
  }

  /** The codes matched: this peer's key is the one to expect from now on. */
  async remember(peerId: string, peerName: string, channel: TrustChannel): Promise<void> {
    const loaded = await this.#load();
    const current = this.#byChannel.get(channel);
    // Only a key bound to this very connection is worth remembering.
    if (!loaded || !current || current.reason === 'not-this-connection') return;
    await loaded.known.remember(peerName, current.key);
    const identity: PeerIdentity = { key: current.key, status: 'verified' };
    this.#byChannel.set(channel, identity);
    this.hooks.identity(peerId, identity);
  }
}
