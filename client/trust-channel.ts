/**
 * What the trust features (safety codes, identity keys) need of a connection between two
 * peers: a way to send their messages privately to the peer, and the two keys that
 * protect it (the DTLS certificates of a direct channel, or the ECDH keys of a sealed
 * relay). A direct PeerLink and a sealed relay pair both provide it, so codes and
 * identities work the same over either.
 */
import type { IdentityMessage, VerifyCommitMessage, VerifyRevealMessage } from '../protocol/index.js';
import type { ConnectionFingerprints } from './safety-code.js';

export type TrustMessage = VerifyCommitMessage | VerifyRevealMessage | IdentityMessage;

export interface TrustChannel {
  /** `direct`: a peer connection's data channel (DTLS); `relay`: one key of a sealed relay pair. */
  readonly kind: 'direct' | 'relay';
  /** Sends to the peer over this connection; false if it is closed. */
  send(message: TrustMessage): boolean;
  /** Both sides' key fingerprints as this side sees them; null while (or once) there are none. */
  fingerprints(): Promise<ConnectionFingerprints | null>;
  /** True once the connection is over for good. */
  readonly closed: boolean;
}
