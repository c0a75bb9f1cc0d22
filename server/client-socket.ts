/**
 * One connection to the signaling server: `ws`'s WebSocket carrying the server's state
 * for that connection, so a connection costs one object and no side table from socket
 * to state (the server passes this class to ws as its `WebSocket`). Measured: 10,000
 * idle clients is where a few dozen bytes per connection show (bench, RSS per client).
 *
 * Every number kept here stays a small integer (times in whole milliseconds, tokens in
 * thousandths): V8 stores those inside the object, where a fractional value would cost a
 * separate 16-byte heap number per field and connection (heap snapshot, bench).
 */
import { WebSocket } from 'ws';

/** The bytes waiting to be written out to one client, and whether it is reading them. */
export interface InboundQueue {
  /**
   * Other clients' traffic through the server to this one, by sender id: bytes not yet
   * written out, and that sender's frames dropped in a row because the queue was full.
   */
  readonly bySender: Map<string, { bytes: number; dropped: number }>;
  /** When the queue was seen full with nothing written out since (whole ms; -1: not so). */
  stalledSince: number;
}

export class ClientSocket extends WebSocket {
  /** false when the client said it has no WebRTC. */
  webrtc = true;
  /** The protocol version the client said it speaks (1: it did not say). */
  version = 1;
  /** The client keeps its resume token across a reload (`persist` in its join). */
  persist = false;
  /** The client's address (through trusted proxies), for logs. */
  ip = '?';
  /** What the per-address limits count it under (an IPv6 /64, or the IPv4 address). */
  group = '?';
  /** What waits to be written out to this client (made on first use). */
  inbound: InboundQueue | null = null;
  /** Assigned when the client joins (new-peer); null before. */
  id: string | null = null;
  name = '';
  room: string | null = null;
  /** With --redis: which of this process's connections holds the id (0: none yet). */
  conn = 0;
  /** Answered the last heartbeat ping. */
  alive = true;
  /**
   * 0: not (or no longer) counted among the server's connections; 1: open; 2: closed by
   * the server, still counted until its socket ends: nothing it sends counts any more,
   * even before its close handshake ends (a client may ignore it for 30 s). One field for
   * both: each field of a connection shows in the RSS of 10,000 idle clients (bench).
   */
  phase: 0 | 1 | 2 = 0;
  /** Rate limit: a token bucket kept in the connection itself (thousandths of a token). */
  milliTokens = 0;
  /** When the bucket was last filled (whole ms, `performance.now()`). */
  tokensAt = 0;
  /** Frames dropped for the rate since the last accepted one. */
  dropped = 0;
  /** When the client was last told it is rate-limited or its receiver busy (whole ms; -1000: never). */
  toldLimitedAt = -1000;

  /**
   * A pong (the answer to the heartbeat's ping) marks the connection alive here rather
   * than through a `pong` listener: ws keeps each connection's listeners in a table
   * whose fourth event name grows it from 160 to 256 bytes (heap snapshot of 10,000
   * idle clients). Listeners still get the event.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'pong') this.alive = true;
    return super.emit(event, ...args);
  }
}
