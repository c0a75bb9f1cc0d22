/**
 * Size limits of the wire format. The server enforces them on every frame; peers enforce
 * the chat ones on every data-channel message. The server may lower the room size and
 * frame size by option; it announces what it uses in `welcome.limits`.
 */
export const LIMITS = {
  /** Largest WebSocket frame the server accepts by default (bytes). */
  maxFrameBytes: 64 * 1024,
  /** A data-channel-only SDP is ~1-3 KB; this leaves room for non-trickle offers. */
  maxSdpLength: 32 * 1024,
  /** One `a=candidate` line is ~100-250 characters. */
  maxCandidateLength: 1024,
  maxSdpMidLength: 64,
  maxUfragLength: 256,
  maxPeerIdLength: 64,
  /** Resume tokens (opaque, base64url). */
  maxResumeTokenLength: 64,
  maxRoomLength: 64,
  /** Connection epochs (random, base64url-ish). */
  maxEpochLength: 32,
  maxNameLength: 40,
  maxChatIdLength: 64,
  maxChatTextLength: 4000,
  /** The reference design's mesh ceiling: every peer uploads N-1 copies. */
  maxRoomSize: 10,
  maxIceServers: 8,
  maxIceUrlLength: 512,
} as const;

export const DEFAULT_ROOM = 'lobby';

/** Room names are short identifiers usable in a URL. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Peer ids are assigned by the server; clients only echo them back in `to`. */
export const PEER_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Display names: any printable text, no control characters. */
// eslint-disable-next-line no-control-regex
export const NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The name the server gives a peer that joined without one. */
export function defaultPeerName(id: string): string {
  return `guest-${id.slice(0, 4)}`;
}
