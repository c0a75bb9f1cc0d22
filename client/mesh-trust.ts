/**
 * The mesh's trust features in one module, loaded on demand (a sibling file of the
 * drop-in build): safety-code comparisons, identity keys, and the sealed relay (relayed
 * chat encrypted end to end). Nothing here is needed to join a room or to chat directly,
 * so the page loads it only when a channel opens or a pair goes to the relay.
 *
 * Every claim is bound to the connection it was about (a data channel's DTLS
 * certificates, or one key of a sealed relay pair): when a peer's connection changes to
 * one with other keys, a verdict or verified identity of the old one ends, and the peer is
 * shown `changed` until it proves its identity key over the new one.
 */
import type { ChannelMessage, ChatMessage, IdentityMessage, RelayPayload } from '../protocol/index.js';
import type { PeerLink } from './peer-link.js';
import { PeerVerifier } from './peer-verifier.js';
import { PeerIdentities, fingerprintsOf, type PeerIdentity } from './peer-identities.js';
import type { VerificationOutcome } from './peer-verification.js';
import { connectionFingerprints } from './safety-code.js';
import { SealedRelay, type SealState } from './sealed-relay.js';
import type { TrustChannel } from './trust-channel.js';

export type { SealState } from './sealed-relay.js';

export interface TrustHooks {
  readonly selfId: () => string | null;
  readonly identityName: string;
  encode(message: ChannelMessage): string;
  parse(text: string): ChannelMessage | null;
  nameOf(id: string): string;
  /** Whether the pair chats through the relay now (a sealed pair of a peer reached directly carries no identity). */
  isRelayed(id: string): boolean;
  settled(id: string, outcome: VerificationOutcome): void;
  /** A peer's identity was checked (the warning that goes with it, if any, comes through `warn`). */
  identity(id: string, identity: PeerIdentity): void;
  /** A warning for the person (a `p2p-error`), worded here so the drop-in does not carry the words. */
  warn(code: TrustWarning, message: string, id: string): void;
  /** A line for the learning log only. */
  note(id: string, detail: string): void;
  /** Puts a payload on the server's relay. */
  post(to: string, payload: RelayPayload): 'sent' | 'queued' | 'dropped';
  /** Whether the peer and the server number sealed payloads (protocol version 9). */
  numbered(id: string): boolean;
  /** Chat that came through the relay (opened, or clear where the pair cannot encrypt). */
  relayedChat(from: string, message: ChatMessage): void;
  sealState(id: string, state: SealState): void;
}

export interface Claims {
  readonly code: string | null;
  readonly match: boolean | null;
  readonly identity: PeerIdentity | null;
  /** The name the peer had when it was verified, where it now uses another (the ✓ is for that name's person). */
  readonly verifiedAs?: string;
}

export type TrustWarning = 'relay-tampered' | 'relay-downgrade' | 'relay-gap' | 'identity-changed' | 'identity-missing';

/** What a person is told when an identity check goes wrong (null: nothing to say). */
function identityWarning(name: string, identity: PeerIdentity): [TrustWarning, string] | null {
  if (identity.status === 'missing') {
    const why = identity.reason === 'old-version' ? 'is announced with a version that cannot prove it' : 'did not send it over this connection';
    return ['identity-missing', `${name} was verified before, but ${why}: unverified. Someone may be in the middle. Compare safety codes.`];
  }
  if (identity.status === 'new' && identity.looksLike !== undefined) {
    return ['identity-changed', `${name} looks like ${identity.looksLike}, whom you verified, but shows another identity key: it may be someone else.`];
  }
  if (identity.status !== 'changed') return null;
  const why =
    identity.reason === 'keys-changed'
      ? `${name}'s connection keys changed since you verified them: ✓ withdrawn until ${name} proves the identity key you verified over the new connection`
      : identity.reason === 'other-key'
        ? `${name} shows another identity key than the one you verified before`
        : `${name}'s identity key was not made for this connection`;
  return ['identity-changed', `${why}: someone may be in the middle. Compare safety codes.`];
}

export interface MeshTrust {
  readonly verifier: PeerVerifier;
  readonly identities: PeerIdentities;
  readonly sealed: SealedRelay;
  /** The connection codes and identities use with a peer: its direct link, or its sealed relay pair's current key. */
  channel(id: string, link: PeerLink | null): TrustChannel | null;
  /** A new connection to the peer is open (a link's channel, or a sealed key): identities go over it, and what held for the last one is checked. */
  opened(id: string, channel: TrustChannel): Promise<void>;
  /** What may be claimed of the peer now: from its current connection's code, verdict and identity, and its name now. */
  claims(id: string, link: PeerLink | null): Claims;
  /** The pair went to the relay: if its sealed key is in already, that is its connection from now on. */
  relayed(id: string): void;
  /** The peer left. */
  forget(id: string): void;
}

export function createTrust(hooks: TrustHooks): MeshTrust {
  const name = hooks.nameOf;
  const verifier = new PeerVerifier(hooks.selfId, {
    settled: (id, outcome) => hooks.settled(id, outcome),
    limited: (id) => hooks.note(id, 'a safety-code comparison the peer started was not answered: too many in a row'),
  });
  const identities = new PeerIdentities(hooks.identityName, hooks.selfId, {
    identity: (id, identity) => {
      hooks.identity(id, identity);
      const warning = identityWarning(name(id), identity);
      if (warning) hooks.warn(warning[0], warning[1], id);
    },
    conflict: (id) =>
      hooks.warn(
        'identity-changed',
        `An identity for ${name(id)} came through the server relay with another key than the one ${name(id)} proved over your direct connection: ignored. Someone may be impersonating them.`,
        id,
      ),
    nameOf: name,
  });
  /** Identities that came over a sealed pair before it was the peer's connection. */
  const unclaimed = new WeakMap<TrustChannel, IdentityMessage>();
  /** Each peer's latest connection, and the keys each connection had when it opened. */
  const latest = new Map<string, TrustChannel>();
  const keysOf = new WeakMap<TrustChannel, Promise<string | null>>();
  const keys = (channel: TrustChannel) => {
    let read = keysOf.get(channel);
    if (!read) keysOf.set(channel, (read = fingerprintsOf(channel).then((f) => (f ? `${f.local}\n${f.remote}` : null))));
    return read;
  };
  const opened = async (id: string, channel: TrustChannel): Promise<void> => {
    const before = latest.get(id);
    latest.set(id, channel);
    if (before && before !== channel) {
      const trusted = verifier.verdictOf(before)?.match === true || identities.of(before)?.status === 'verified';
      const [old, now] = await Promise.all([keys(before), keys(channel)]);
      if (old !== null && old === now) {
        verifier.carryOver(before, channel);
        identities.carryOver(before, channel);
      } else if (trusted && latest.get(id) === channel) identities.keysChanged(id, channel, identities.of(before));
    } else void keys(channel);
    await identities.send(id, channel);
  };
  const sealed = new SealedRelay({
    selfId: hooks.selfId,
    encode: hooks.encode,
    parse: hooks.parse,
    post: hooks.post,
    numbered: hooks.numbered,
    state: (id, state, channel) => {
      hooks.sealState(id, state);
      // A sealed pair for a peer reached directly (the peer fell back first, or the server
      // made one up) proves nothing about that peer until the pair itself is relayed.
      if (state === 'sealed' && hooks.isRelayed(id)) void opened(id, channel);
    },
    received: (id, message, channel) => {
      if (message.type === 'chat') return hooks.relayedChat(id, message);
      // Identities and codes from a sealed pair of a peer reached directly (one the server
      // may have made up) are not the peer's: only its current connection speaks for it.
      if (!hooks.isRelayed(id) || channel !== sealed.channelOf(id)) {
        // The peer may have moved to the relay before us: its identity counts once ours does.
        if (message.type === 'identity') unclaimed.set(channel, message);
        return hooks.note(id, `${message.type} over the relay set aside: not this peer's connection (yet)`);
      }
      if (message.type === 'verify-commit' || message.type === 'verify-reveal') verifier.receive(id, channel, message);
      else if (message.type === 'identity') void identities.receive(id, channel, message);
    },
    rejected: (id, why) => hooks.warn('relay-tampered', `A message relayed from ${name(id)} ${why}: it was dropped.`, id),
    downgrade: (id, why) =>
      hooks.warn(
        'relay-downgrade',
        `Someone ${why} for your chat with ${name(id)} (encrypted until now): refused. Messages to ${name(id)} stay encrypted.`,
        id,
      ),
    gap: (id, what, count) =>
      hooks.warn(
        'relay-gap',
        what === 'missing'
          ? `${count} message(s) relayed from ${name(id)} did not arrive: the server dropped them.`
          : `A message relayed from ${name(id)} arrived out of order: the server held it back.`,
        id,
      ),
  });
  // One adapter per link, so what is kept per connection stays with it.
  const adapters = new WeakMap<PeerLink, TrustChannel>();
  const linkChannel = (link: PeerLink): TrustChannel => {
    let channel = adapters.get(link);
    if (!channel) {
      channel = {
        kind: 'direct',
        send: (message) => link.sendControl(message),
        fingerprints: () => connectionFingerprints(link.pc),
        get closed() {
          return link.pc.connectionState === 'closed';
        },
      };
      adapters.set(link, channel);
    }
    return channel;
  };
  const channelOf = (id: string, link: PeerLink | null) => (link ? linkChannel(link) : sealed.channelOf(id));
  return {
    verifier,
    identities,
    sealed,
    channel: channelOf,
    opened,
    claims: (id, link) => {
      const channel = channelOf(id, link);
      const verdict = channel ? verifier.verdictOf(channel) : null;
      const identity = identities.of(channel, id);
      const verifiedAs = verdict?.match && verdict.name !== name(id) ? verdict.name : identity?.status === 'verified' ? identity.verifiedAs : undefined;
      return {
        code: channel ? verifier.codeOf(channel) : null,
        match: verdict?.match ?? null,
        identity,
        ...(verifiedAs === undefined ? {} : { verifiedAs }),
      };
    },
    relayed: (id) => {
      const channel = sealed.channelOf(id);
      if (!channel || latest.get(id) === channel) return;
      void opened(id, channel);
      const waiting = unclaimed.get(channel);
      unclaimed.delete(channel);
      if (waiting) void identities.receive(id, channel, waiting);
    },
    forget: (id) => {
      latest.delete(id);
      verifier.forget(id);
      identities.forget(id);
    },
  };
}
