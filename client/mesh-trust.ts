/**
 * The mesh's trust features in one module, loaded on demand (a sibling file of the
 * drop-in build): safety-code comparisons, identity keys, and the sealed relay (relayed
 * chat encrypted end to end). Nothing here is needed to join a room or to chat directly,
 * so the page loads it only when a channel opens or a pair goes to the relay.
 */
import type { ChannelMessage, ChatMessage, RelayPayload } from '../protocol/index.js';
import type { PeerLink } from './peer-link.js';
import { PeerVerifier } from './peer-verifier.js';
import { PeerIdentities, type PeerIdentity } from './peer-identities.js';
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
  settled(id: string, outcome: VerificationOutcome): void;
  identity(id: string, identity: PeerIdentity): void;
  /** Puts a payload on the server's relay. */
  post(to: string, payload: RelayPayload): 'sent' | 'queued' | 'dropped';
  /** Chat that came through the relay (opened, or clear where the pair cannot encrypt). */
  relayedChat(from: string, message: ChatMessage): void;
  sealState(id: string, state: SealState): void;
  sealRejected(id: string, why: string): void;
}

export interface MeshTrust {
  readonly verifier: PeerVerifier;
  readonly identities: PeerIdentities;
  readonly sealed: SealedRelay;
  /** The connection codes and identities use with a peer: its direct link, or its sealed relay pair. */
  channel(id: string, link: PeerLink | null): TrustChannel | null;
}

export function createTrust(hooks: TrustHooks): MeshTrust {
  const verifier = new PeerVerifier(hooks.selfId, { settled: (id, outcome) => hooks.settled(id, outcome) });
  const identities = new PeerIdentities(hooks.identityName, hooks.selfId, { identity: (id, identity) => hooks.identity(id, identity) });
  const sealed = new SealedRelay({
    selfId: hooks.selfId,
    encode: hooks.encode,
    parse: hooks.parse,
    post: hooks.post,
    state: (id, state, channel) => {
      hooks.sealState(id, state);
      if (state === 'sealed') void identities.send(id, channel);
    },
    received: (id, message, channel) => {
      if (message.type === 'chat') hooks.relayedChat(id, message);
      else if (message.type === 'verify-commit' || message.type === 'verify-reveal') verifier.receive(id, channel, message);
      else if (message.type === 'identity') void identities.receive(id, hooks.nameOf(id), channel, message);
    },
    rejected: hooks.sealRejected,
  });
  // One adapter per link, so what is kept per connection stays with it.
  const adapters = new WeakMap<PeerLink, TrustChannel>();
  const linkChannel = (link: PeerLink): TrustChannel => {
    let channel = adapters.get(link);
    if (!channel) {
      channel = {
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
  return {
    verifier,
    identities,
    sealed,
    channel: (id, link) => (link ? linkChannel(link) : sealed.channelOf(id)),
  };
}
