/**
 * The identity exchange of each connection (a direct data channel, or one key of a sealed
 * relay pair): each side sends its long-lived public key with a signature over both ids
 * and both connection fingerprints as it sees them (identity-keys.ts). The receiver checks
 * the signature against its own view of the connection, and the key against what this
 * profile remembers, by the peer's name and by the key itself:
 *
 * - `new`: a valid signature, a key this profile has not verified (compare codes once);
 *   `looksLike` names a verified name this one is easy to mistake for;
 * - `verified`: a key this profile verified before (`verifiedAs`: under another name than
 *   the one the peer uses now);
 * - `changed`: another key than the one remembered for this name, or a signature that
 *   does not fit this connection (someone in the middle cannot sign with the real key);
 * - `missing`: the name is remembered, but this connection brought no proof (no
 *   `identity` in time, or a version without identities).
 *
 * Keys learnt over a direct connection outrank relayed ones: a relayed identity never
 * replaces the key a peer proved directly (that key checks its signed lines).
 */
import type { IdentityMessage } from '../protocol/index.js';
import type { ConnectionFingerprints } from './safety-code.js';
import type { TrustChannel } from './trust-channel.js';
import { nameSkeleton } from './display-name.js';
import { bindingText, keyFingerprint, loadIdentity, signBinding, verifyBinding, type IdentityKeys, type KnownPeers } from './identity-keys.js';

export type IdentityStatus = 'new' | 'verified' | 'changed' | 'missing';

export interface PeerIdentity {
  /** Fingerprint of the peer's public key (`AB12 CD34 …`); with `missing`, the remembered key that was not proven. */
  readonly key: string;
  readonly status: IdentityStatus;
  /**
   * Why `changed`: another key than remembered, a signature not made for this connection,
   * or the connection's keys changed since it was verified. Why `missing`: no identity
   * came, or the peer is announced with a version that has none.
   */
  readonly reason?: 'other-key' | 'not-this-connection' | 'keys-changed' | 'not-sent' | 'old-version';
  /** The name this key was verified under, where the peer now uses another. */
  readonly verifiedAs?: string;
  /** A name this profile verified that the peer's name looks like (its key is not that one's). */
  readonly looksLike?: string;
}

export interface PeerIdentitiesHooks {
  identity(id: string, identity: PeerIdentity): void;
  /** A relayed identity disagrees with the key the peer proved directly: ignored. */
  conflict(id: string): void;
  /** The peer's name now. */
  nameOf(id: string): string;
}

/** How long a peer's identity may take to arrive after its first connection opened before a remembered peer counts as unproven. */
const IDENTITY_WAIT_MS = 10_000;
/** How long a later connection of a peer (a re-key) may take to bring it: a server that re-keys often cannot keep the warning away. */
const LATER_IDENTITY_WAIT_MS = 3000;

/** The connection's fingerprints, waiting a moment for them (the stats may lag the channel's opening). */
export async function fingerprintsOf(channel: TrustChannel): Promise<ConnectionFingerprints | null> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const fingerprints = await channel.fingerprints();
    if (fingerprints || channel.closed) return fingerprints;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return null;
}

/** A remembered name, other than `peerName`, that reads the same (nameSkeleton): the first found. */
function lookAlikeOf(remembered: ReadonlyMap<string, string>, peerName: string): string | undefined {
  const skeleton = nameSkeleton(peerName);
  for (const name of remembered.keys()) if (name !== peerName && nameSkeleton(name) === skeleton) return name;
  return undefined;
}

/** What one connection proved: the identity, and the raw public key behind it (null where the signature did not fit). */
interface Proof {
  readonly identity: PeerIdentity;
  readonly publicKey: string | null;
}

export class PeerIdentities {
  #loaded: Promise<{ keys: IdentityKeys; known: KnownPeers } | null> | null = null;
  readonly #byChannel = new WeakMap<TrustChannel, Proof>();
  /** Each peer's public key (base64url) bound to a connection with it, for checking its signed lines; `direct` outranks relayed. */
  readonly #keyById = new Map<string, { readonly key: string; readonly direct: boolean; status: IdentityStatus }>();
  /** Peers whose pair can carry no identity (an old version) although their name is remembered. */
  readonly #unprovable = new Map<string, PeerIdentity>();
  /** When each peer's first connection sent our identity: its own must come within IDENTITY_WAIT_MS of that, however often it is re-keyed. */
  readonly #firstSent = new Map<string, number>();

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

  /** What the connection proved, or null (nothing yet); for a peer whose pair carries no identity, pass null. */
  of(channel: TrustChannel | null, peerId?: string): PeerIdentity | null {
    const proven = channel ? this.#byChannel.get(channel)?.identity : undefined;
    return proven ?? (peerId === undefined ? null : (this.#unprovable.get(peerId) ?? null));
  }

  /** The status of the key that checks the peer's signed lines (null: none held). */
  signerStatus(peerId: string): IdentityStatus | null {
    return this.#keyById.get(peerId)?.status ?? null;
  }

  /** Sends our identity over a newly opened connection, and expects the peer's within a while. */
  async send(peerId: string, channel: TrustChannel): Promise<void> {
    const loaded = await this.#load();
    const selfId = this.selfId();
    const fingerprints = await fingerprintsOf(channel);
    if (!loaded || !selfId || !fingerprints) return;
    const binding = bindingText({ id: selfId, fingerprint: fingerprints.local }, { id: peerId, fingerprint: fingerprints.remote });
    channel.send({ type: 'identity', key: loaded.keys.publicKey, sig: await signBinding(loaded.keys, binding) });
    const first = this.#firstSent.get(peerId) ?? Date.now();
    this.#firstSent.set(peerId, first);
    const wait = Math.max(LATER_IDENTITY_WAIT_MS, first + IDENTITY_WAIT_MS - Date.now());
    setTimeout(() => void this.#expected(peerId, channel, loaded.known), wait);
  }

  /** No identity came over the connection in time: a remembered peer is unproven (a man in the middle withholds it). */
  async #expected(peerId: string, channel: TrustChannel, known: KnownPeers): Promise<void> {
    if (channel.closed || this.#byChannel.has(channel)) return;
    const expected = await this.#rememberedFor(known, this.hooks.nameOf(peerId));
    if (expected === null || channel.closed || this.#byChannel.has(channel)) return;
    this.#settle(peerId, channel, { identity: { ...expected, status: 'missing', reason: 'not-sent' }, publicKey: null });
  }

  /** The key remembered for this name, or for a verified name it looks like (then `looksLike` names it); null if neither. */
  async #rememberedFor(known: KnownPeers, peerName: string): Promise<{ key: string; looksLike?: string } | null> {
    const key = await known.keyOf(peerName);
    if (key !== null) return { key };
    const all = await known.all();
    const looksLike = lookAlikeOf(all, peerName);
    return looksLike === undefined ? null : { key: all.get(looksLike)!, looksLike };
  }

  /** The peer's pair can carry no identity (it is announced with an older version): unproven, if its name is remembered. */
  async unprovable(peerId: string, peerName: string): Promise<void> {
    const loaded = await this.#load();
    const remembered = loaded ? await this.#rememberedFor(loaded.known, peerName) : null;
    if (remembered === null || this.#unprovable.has(peerId)) return;
    const identity: PeerIdentity = { ...remembered, status: 'missing', reason: 'old-version' };
    this.#unprovable.set(peerId, identity);
    this.hooks.identity(peerId, identity);
  }

  /** The peer's identity arrived. */
  async receive(peerId: string, channel: TrustChannel, message: IdentityMessage): Promise<void> {
    const loaded = await this.#load();
    const selfId = this.selfId();
    const fingerprints = await fingerprintsOf(channel);
    if (!loaded || !selfId || !fingerprints) return;
    // As this side sees the connection: the signature must fit it.
    const binding = bindingText({ id: selfId, fingerprint: fingerprints.local }, { id: peerId, fingerprint: fingerprints.remote });
    const key = await keyFingerprint(message.key);
    if (!(await verifyBinding(message.key, message.sig, binding))) {
      this.#settle(peerId, channel, { identity: { key, status: 'changed', reason: 'not-this-connection' }, publicKey: null });
      return;
    }
    const held = this.#keyById.get(peerId);
    const direct = channel.kind === 'direct';
    if (held?.direct && !direct && held.key !== message.key) {
      // What the server's relay says of a peer never outweighs what the peer proved itself.
      this.hooks.conflict(peerId);
      this.#settle(peerId, channel, { identity: { key, status: 'changed', reason: 'other-key' }, publicKey: null });
      return;
    }
    let identity = await this.#judge(loaded.known, this.hooks.nameOf(peerId), key);
    // A connection shown as changed stays so unless this proves a key this profile verified.
    const before = this.#byChannel.get(channel)?.identity;
    if (before?.status === 'changed' && identity.status !== 'verified') identity = { ...identity, status: 'changed', reason: before.reason ?? 'other-key' };
    // The key of the peer's latest connection checks its lines (a relayed one never replaces one proven directly: above).
    this.#keyById.set(peerId, { key: message.key, direct: direct || (held?.direct === true && held.key === message.key), status: identity.status });
    for (const wake of this.#waiting.get(peerId) ?? []) wake(message.key);
    this.#waiting.delete(peerId);
    this.#settle(peerId, channel, { identity, publicKey: message.key });
  }

  /** A key with a valid binding, against what this profile remembers: by name, by key, and by what the name looks like. */
  async #judge(known: KnownPeers, peerName: string, key: string): Promise<PeerIdentity> {
    const remembered = await known.keyOf(peerName);
    if (remembered === key) return { key, status: 'verified' };
    if (remembered !== null) return { key, status: 'changed', reason: 'other-key' };
    const all = await known.all();
    for (const [name, fingerprint] of all) if (fingerprint === key) return { key, status: 'verified', verifiedAs: name };
    const looksLike = lookAlikeOf(all, peerName);
    return looksLike === undefined ? { key, status: 'new' } : { key, status: 'new', looksLike };
  }

  /** The peer took another name: what its proven key means is judged again under the new name. */
  async renamed(peerId: string, channel: TrustChannel | null): Promise<void> {
    const loaded = await this.#load();
    const proof = channel ? this.#byChannel.get(channel) : undefined;
    const name = this.hooks.nameOf(peerId);
    if (!loaded) return;
    if (!channel || !proof) {
      // An unprovable peer that now uses a remembered name (or no longer does).
      this.#unprovable.delete(peerId);
      if (!channel) await this.unprovable(peerId, name);
      return;
    }
    if (!proof.publicKey) {
      if (proof.identity.status === 'missing') {
        this.#byChannel.delete(channel);
        await this.#expected(peerId, channel, loaded.known);
      }
      return;
    }
    // A connection shown as changed stays so whatever the peer calls itself now: only a verified key or new codes clear it.
    if (proof.identity.status === 'changed') return;
    const identity = await this.#judge(loaded.known, name, proof.identity.key);
    const held = this.#keyById.get(peerId);
    if (held?.key === proof.publicKey) held.status = identity.status;
    this.#settle(peerId, channel, { identity, publicKey: proof.publicKey });
  }

  #settle(peerId: string, channel: TrustChannel, proof: Proof): void {
    this.#byChannel.set(channel, proof);
    this.hooks.identity(peerId, proof.identity);
  }

  /**
   * The connection's keys are not those a verified connection to this peer had: until it
   * proves its identity over this one, it shows `changed` (`keys-changed`).
   */
  keysChanged(peerId: string, channel: TrustChannel, before: PeerIdentity | null): void {
    if (this.#byChannel.has(channel)) return;
    this.#settle(peerId, channel, { identity: { key: before?.key ?? '', status: 'changed', reason: 'keys-changed' }, publicKey: null });
  }

  /** The same keys as a connection before (a new link to the same two pages): what it proved holds for this one too. */
  carryOver(from: TrustChannel, to: TrustChannel): void {
    const proof = this.#byChannel.get(from);
    if (proof && !this.#byChannel.has(to)) this.#byChannel.set(to, proof);
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
    const key = this.#keyById.get(peerId)?.key ?? (waitMs > 0 ? await this.#keyWithin(peerId, waitMs) : undefined);
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
    this.#firstSent.delete(peerId);
    this.#keyById.delete(peerId);
    this.#waiting.delete(peerId);
    this.#unprovable.delete(peerId);
  }

  /** The codes matched: this peer's key is the one to expect from now on, under the name it uses now. */
  async remember(peerId: string, peerName: string, channel: TrustChannel): Promise<void> {
    const loaded = await this.#load();
    const current = this.#byChannel.get(channel);
    // Only a key bound to this very connection is worth remembering.
    if (!loaded || !current?.publicKey) return;
    await loaded.known.remember(peerName, current.identity.key);
    const held = this.#keyById.get(peerId);
    if (held?.key === current.publicKey) held.status = 'verified';
    this.#settle(peerId, channel, { identity: { key: current.identity.key, status: 'verified' }, publicKey: current.publicKey });
  }
}
