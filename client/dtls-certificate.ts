/**
 * One DTLS certificate for all of a page's connections. Without one, every
 * RTCPeerConnection makes its own key before it can offer or answer; made once while the
 * signaling socket connects, the key is ready before the first peer is introduced, and a
 * mesh of N peers makes one key instead of N - 1.
 *
 * (A throwaway RTCPeerConnection to start WebRTC up early was measured too, and made the
 * newcomer's connect slower: it competes with the newcomer's first real connection.)
 */
import type { PeerConnectionConstructor } from './peer-link.js';

/** A PeerConnection constructor that may also make certificates (browsers do; some Node bindings do not). */
type WithCertificates = PeerConnectionConstructor & {
  generateCertificate?: (keygen: EcKeyGenParams & AlgorithmIdentifier) => Promise<RTCCertificate>;
};

/** Resolves to a new ECDSA P-256 certificate, or null where the platform cannot make one. */
export function makeDtlsCertificate(PeerConnection: PeerConnectionConstructor): Promise<RTCCertificate | null> {
  const generate = (PeerConnection as WithCertificates).generateCertificate;
  if (typeof generate !== 'function') return Promise.resolve(null);
  try {
    return generate.call(PeerConnection, { name: 'ECDSA', namedCurve: 'P-256' }).catch(() => null);
  } catch {
    // A binding that throws instead of rejecting: its connections make their own keys.
    return Promise.resolve(null);
  }
}
