/**
 * Which ICE servers (STUN/TURN) the browser accepts. A browser refuses a whole
 * RTCPeerConnection over one setting it does not like (Firefox: a TURN server on a port it
 * blocks; any browser: a URL that does not parse), which would leave a peer with no
 * connection at all. Each server is tried on its own, so the good ones are kept and the
 * bad ones named.
 */
import type { PeerConnectionConstructor } from './peer-link.js';

export interface RefusedIceServer {
  /** Its place in the list checked. */
  readonly index: number;
  readonly urls: string;
  readonly reason: string;
}

/** The servers of `servers` the browser refuses, each with its place in the list and why. */
export function refusedIceServers(PeerConnection: PeerConnectionConstructor, servers: readonly RTCIceServer[]): RefusedIceServer[] {
  const refused: RefusedIceServer[] = [];
  for (const [index, server] of servers.entries()) {
    try {
      new PeerConnection({ iceServers: [server] }).close();
    } catch (error) {
      const urls = typeof server.urls === 'string' ? server.urls : server.urls.join(', ');
      refused.push({ index, urls, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return refused;
}
