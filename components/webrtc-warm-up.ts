/**
 * WebRTC's first use in a page is slow: the first RTCPeerConnection starts the browser's
 * WebRTC threads and network monitor (measured at 10–30 ms in Chromium), and every
 * connection makes a DTLS key unless it is given one. Doing both while the signaling
 * socket connects takes that time off the path to the first open channel.
 */
import type { PeerConnectionConstructor } from './peer-link.js';

/** A PeerConnection constructor that may also make certificates (browsers do; some Node bindings do not). */
type WithCertificates = PeerConnectionConstructor & {
  generateCertificate?: (keygen: EcKeyGenParams & AlgorithmIdentifier) => Promise<RTCCertificate>;
};

/**
 * Starts WebRTC up: a throwaway connection (closed at once) and one DTLS certificate for
 * all of this page's connections. Resolves to the certificate, or null where the
 * platform cannot make one (connections then make their own, as usual).
 */
export function warmUpWebRtc(PeerConnection: PeerConnectionConstructor): Promise<RTCCertificate | null> {
  try {
    new PeerConnection({ iceServers: [] }).close();
  } catch {
    // Creating a connection fails later too, where it is reported.
  }
  const generate = (PeerConnection as WithCertificates).generateCertificate;
  if (typeof generate !== 'function') return Promise.resolve(null);
  return generate.call(PeerConnection, { name: 'ECDSA', namedCurve: 'P-256' }).catch(() => null);
}
