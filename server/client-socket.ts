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

export class ClientSocket extends WebSocket {
  /** false when the client said it has no WebRTC. */
  webrtc = true;
  /** The protocol version the client said it speaks (1: it did not say). */
  version = 1;
  /** The client's address (through trusted proxies), for logs. */
  ip = '?';
  /** What the per-address limits count it under (an IPv6 /64, or the IPv4 address). */
  group = '?';
  /**
   * The server has closed (or replaced) this connection: nothing it sends counts any more,
   * even before its close handshake ends (a client may ignore it for 30 s).
   */
  closing = false;
  /** Bytes other clients sent through the server to this one, not yet written out, by sender id (made on first use). */
  pendingBySender: Map<string, number> | null = null;
  /** Frames of this client dropped because its receiver was full of them, in a row. */
  overflows = 0;
  /** When this client was last told its receiver is busy (whole ms). */
  toldBusyAt = -1000;
  /** Assigned when the client joins (new-peer); null before. */
  id: string | null = null;
  name = '';
  room: string | null = null;
  /** Answered the last heartbeat ping. */
  alive = true;
  /** Counted among the server's connections (until it disconnects, once). */
  counted = false;
  /** Rate limit: a token bucket kept in the connection itself (thousandths of a token). */
  milliTokens = 0;
  /** When the bucket was last filled (whole ms, `performance.now()`). */
  tokensAt = 0;
  /** Frames dropped for the rate since the last accepted one. */
  dropped = 0;
  /** When the client was last told it is rate-limited (whole ms; -1000: never). */
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
