/**
 * One connection to the signaling server: `ws`'s WebSocket carrying the server's state
 * for that connection, so a connection costs one object and no side table from socket
 * to state (the server passes this class to ws as its `WebSocket`). Measured: 10,000
 * idle clients is where a few dozen bytes per connection show (bench, RSS per client).
 */
import { WebSocket } from 'ws';

export class ClientSocket extends WebSocket {
  /** false when the client said it has no WebRTC. */
  webrtc = true;
  /** The remote address, for the per-IP limit. */
  ip = '?';
  /** Assigned when the client joins (new-peer); null before. */
  id: string | null = null;
  name = '';
  room: string | null = null;
  /** Answered the last heartbeat ping. */
  alive = true;
  /** Counted among the server's connections (until it disconnects, once). */
  counted = false;
  /** Rate limit: a token bucket kept in the connection itself. */
  tokens = 0;
  tokensAt = 0;
  /** Frames dropped for the rate since the last accepted one. */
  dropped = 0;
  /** When the client was last told it is rate-limited (ms). */
  toldLimitedAt = -Infinity;
}
