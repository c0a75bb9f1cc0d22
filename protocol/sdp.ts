/** The two facts negotiation needs from an SDP blob; everything else stays opaque. */

/** True when the description negotiates a data channel (`m=application`). */
export function hasDataChannel(sdp: string): boolean {
  return /^m=application /m.test(sdp);
}

/** The ICE username fragment; it changes when ICE restarts. */
export function iceUfrag(sdp: string): string | null {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null;
}
