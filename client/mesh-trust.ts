/**
 * The mesh's trust features in one module, loaded on demand (a sibling file of the
 * drop-in build): safety-code comparisons and identity keys. Nothing here is needed to
 * join a room or to chat, so the page does not load it before the first channel opens.
 */
import { PeerVerifier } from './peer-verifier.js';
import { PeerIdentities, type PeerIdentity } from './peer-identities.js';
import type { VerificationOutcome } from './peer-verification.js';

export interface TrustHooks {
  readonly selfId: () => string | null;
  readonly identityName: string;
  settled(id: string, outcome: VerificationOutcome): void;
  identity(id: string, identity: PeerIdentity): void;
}

export interface MeshTrust {
  readonly verifier: PeerVerifier;
  readonly identities: PeerIdentities;
}

export function createTrust(hooks: TrustHooks): MeshTrust {
  return {
    verifier: new PeerVerifier(hooks.selfId, { settled: (id, outcome) => hooks.settled(id, outcome) }),
    identities: new PeerIdentities(hooks.identityName, hooks.selfId, { identity: (id, identity) => hooks.identity(id, identity) }),
  };
}
