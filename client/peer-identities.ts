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
      const remembered = await loaded.known.keyOf(peerName);
      identity =
        remembered === null ? { key, status: 'new' } : remembered === key ? { key, status: 'verified' } : { key, status: 'changed', reason: 'other-key' };
    }
    this.#byChannel.set(channel, identity);
    this.hooks.identity(peerId, identity);
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
