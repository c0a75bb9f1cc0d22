/**
 * The signaling server's shell: HTTP and WebSocket plumbing around two parts that know
 * no sockets, Admission (origins, capacity, per-address connections and joins) and
 * RoomRouter (rooms, ids, what a join, a leave or a relayed message does). It introduces
 * peers, relays their offers, answers and candidates within a room, and nothing else.
 *
 * Every frame is parsed by the protocol module; a bad frame gets an `error` reply and
 * changes nothing for anyone else. A connection the server has closed stops counting at
 * once: nothing it sends afterwards is acted on.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { CLOSE_ORIGIN_REFUSED, LIMITS, encode, errorMessage, parseClientMessage, type IceServer, type ServerMessage } from '../protocol/index.js';
import { silentLogger, type Logger } from './log.js';
import { TOKEN, takeToken, wholeMs } from './token-bucket.js';
import { ClientSocket, type InboundQueue } from './client-socket.js';
import { Admission, type RateLimit } from './admission.js';
import { parseTrustProxy, type TrustProxy } from './client-address.js';
import { RoomRouter, type JoinRefusal } from './room-router.js';
import { ClusteredRoomRouter, type ClusterRouterOutput } from './clustered-room-router.js';
import { ClusterLink, type ClusterSettings } from './cluster-link.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { turnIceServer, type TurnSettings } from './turn-credentials.js';

export interface SignalingServerOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Interface to listen on. Default `localhost`. */
  readonly host?: string;
  /** Peers per room (a full mesh tops out near 10). Default 10. */
  readonly maxRoomSize?: number;
  /** Largest frame accepted, in bytes; larger frames close the socket with 1009. */
  readonly maxPayload?: number;
  /** ICE (STUN/TURN) servers handed to every joiner in `welcome`. Default none. */
  readonly iceServers?: readonly IceServer[];
  /**
   * TURN with time-limited credentials (coturn's `use-auth-secret`): each joiner gets its
   * own username and password, valid `ttlSeconds`, renewed (an `ice-servers` message)
   * every half of that. The secret is never logged or sent.
   */
  readonly turn?: TurnSettings;
  /** Serve https and wss on the port (PEM certificate chain and key); `reloadTls` swaps them. */
  readonly tls?: TlsFiles;
  /** Ping interval; a socket that missed the previous pong is dropped. Default 30 s. */
  readonly heartbeatMs?: number;
  /**
   * `Origin`s allowed to connect (exact match); empty or absent allows any. Any other
   * origin (or none) gets its upgrade and is closed at once with 4403 `origin-refused`
   * (`CLOSE_ORIGIN_REFUSED`), so a page can tell it from a server it cannot reach.
   */
  readonly allowedOrigins?: readonly string[];
  /** Frames per second a connection may send on average. Default 50. */
  readonly messagesPerSecond?: number;
  /** Frames a connection may send at once above the rate. Default 200. */
  readonly messageBurst?: number;
  /** Frames dropped for the rate in a row before the connection is closed (1008). Default 200. */
  readonly floodCloseAfter?: number;
  /** Connections the server holds at once; more are refused at the upgrade (503). Default 20000. */
  readonly maxClients?: number;
  /**
   * Connections from one address (an IPv6 /64 counts as one), counted from the HTTP
   * upgrade on; more are refused at the upgrade (429). Default 100; 0: no limit.
   */
  readonly maxConnectionsPerIp?: number;
  /**
   * Which `X-Forwarded-For` hops to believe for the client's address, behind a reverse
   * proxy: the proxies' addresses / CIDR ranges (comma-separated string or list: only a
   * connection from one of them is believed, and so on down the header), or a number of
   * hops (believed only from a connection whose address is loopback, private or
   * unique-local; a warning at start recommends the ranges). Default: none (the socket's
   * address).
   */
  readonly trustProxy?: number | string | readonly string[];
  /** Joins per client address: sustained rate and burst. Default 10/s, burst 100. */
  readonly joinsPerIp?: RateLimit;
  /**
   * Joins per room (from anyone): sustained rate and burst. Default 10/s, burst 60. One
   * address may take a quarter of it (rate and burst), so no one address can spend it all.
   */
  readonly joinsPerRoom?: RateLimit;
  /**
   * Attach to an HTTP(S) server of your own instead of listening (its `upgrade` requests
   * become WebSocket connections; `port` and `host` are then ignored and `close()` leaves
   * that server running).
   */
  readonly server?: HttpServer | HttpsServer;
  /** Neither listen nor attach: hand upgrade requests to `handleUpgrade` yourself (like ws's `noServer`). */
  readonly noServer?: boolean;
  /** Longest display name (at most the protocol's 40). */
  readonly maxNameLength?: number;
  /** Longest room name (at most the protocol's 64). */
  readonly maxRoomLength?: number;
  /**
   * Bytes waiting to be written to one receiver. Past it, frames other clients send it are
   * dropped and their senders told (`receiver-busy`); the sender holding the most of the
   * queue is closed with 1008 if it keeps on (`floodCloseAfter` dropped in a row). The
   * server's own messages still go. Default 4 MiB.
   */
  readonly maxBufferedBytes?: number;
  /**
   * How long a receiver's queue may stay full with nothing at all written out to it before
   * it counts as not reading and is closed with 1013 (checked when something is sent to it).
   * Another sender's frame never closes it sooner. Default 10 s.
   */
  readonly receiverStallMs?: number;
  /**
   * Relay chat (`relay` messages) between peers of a room that cannot connect directly
   * (a browser without WebRTC, or failed ICE). The server then sees that text. Default true.
   */
  readonly relay?: boolean;
  /**
   * Share rooms with other processes through Redis: a `redis://` URL, or settings (key
   * prefix, grace before a dead process's peers are announced gone). Default: rooms live
   * in this process only.
   */
  readonly redis?: string | ClusterSettings;
  /**
   * Who may read `GET /metrics`. Default `true`: anyone who reaches the port. `false`: not
   * served (404). Settings: `token` (only with `Authorization: Bearer <token>`, else 401),
   * `listen` (served on a listener of its own, plain HTTP, e.g. `{ host: '127.0.0.1', port:
   * 9090 }`, and no longer on the signaling port, which answers 404).
   */
  readonly metrics?: boolean | MetricsSettings;
  /** Where structured log entries go. Default: nowhere. */
  readonly logger?: Logger;
}

export interface MetricsSettings {
  /** Required as `Authorization: Bearer <token>` (compared in constant time); never logged. */
  readonly token?: string;
  /** A listener of its own for `/metrics` (host default `127.0.0.1`; port 0 picks a free one). */
  readonly listen?: { readonly port: number; readonly host?: string };
}

export interface SignalingServerStats {
  readonly rooms: number;
  readonly clients: number;
}

/**
 * What `/healthz` answers. A single process: status, rooms and clients, as always; with
 * `redis`: also its pid, its name in the cluster and Redis's state (503 while Redis is down).
 */
export interface HealthReport extends SignalingServerStats {
  readonly status: 'ok' | 'redis-down';
  readonly pid?: number;
  readonly node?: string;
  readonly redis?: 'up' | 'down';
}

export interface TlsFiles {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface SignalingServer {
  /** `ws://host:port` clients connect to (empty with `noServer`, or an attached server that is not listening). */
  readonly url: string;
  readonly port: number;
  /** Where `/metrics` is served (`http://host:port/metrics`); empty when it is not (`metrics: false`, `noServer`, attached). */
  readonly metricsUrl: string;
  stats(): SignalingServerStats;
  health(): HealthReport;
  /** With `tls`: takes a new certificate and key for the connections made from now on. */
  reloadTls(tls: TlsFiles): void;
  /** With `noServer`: hands one HTTP upgrade request to the signaling server. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Tells every client the server is going away (close code 1001) and stops. */
  close(): Promise<void>;
}

/** A connection: the socket and the server's state for it are one object. */
type Client = ClientSocket;

/** What each join budget is called in the log. */
const JOIN_LIMIT_NAMES = { address: 'joins-per-ip', 'room-share': 'joins-per-room-per-ip', room: 'joins-per-room' } as const;

/** Whether `account` holds at least as many of a receiver's queued bytes as any other sender (and some). */
function holdsMost(bySender: Map<string, { bytes: number }>, account: { bytes: number }): boolean {
  if (account.bytes <= 0) return false;
  for (const other of bySender.values()) if (other.bytes > account.bytes) return false;
  return true;
}

/** How long a closed connection may take to finish the close handshake before it is cut. */
const CLOSE_GRACE_MS = 2000;

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = 'localhost';
export const DEFAULT_HEARTBEAT_MS = 30_000;

/** Close codes the server uses (RFC 6455). */
export const CLOSE_CODES = {
  /** The server shuts down. */
  goingAway: 1001,
  /** Invalid UTF-8 in a text frame (closed by `ws`). */
  invalidPayload: 1007,
  /** Sustained flooding past the rate limit; or the same id rejoined from elsewhere. */
  policyViolation: 1008,
  /** A frame over `maxPayload` (closed by `ws`). */
  tooLarge: 1009,
  /** The client does not read what it is sent (its queue full and nothing written out for `receiverStallMs`). */
  tryAgainLater: 1013,
  /** The page's origin is not in `allowedOrigins` (reason `origin-refused`). */
  originRefused: CLOSE_ORIGIN_REFUSED,
} as const;

/** Defaults of every limit (README, "Limits and security"). */
export const DEFAULT_LIMITS = {
  maxPayload: LIMITS.maxFrameBytes,
  maxRoomSize: LIMITS.maxRoomSize,
  messagesPerSecond: 50,
  messageBurst: 200,
  floodCloseAfter: 200,
  maxClients: 20_000,
  maxConnectionsPerIp: 100,
  maxNameLength: LIMITS.maxNameLength,
  maxRoomLength: LIMITS.maxRoomLength,
  maxBufferedBytes: 4 * 1024 * 1024,
  receiverStallMs: 10_000,
  joinsPerIp: { perSecond: 10, burst: 100 },
  joinsPerRoom: { perSecond: 10, burst: 60 },
} as const;

export async function createSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const port = options.port ?? DEFAULT_PORT;
  const host = options.host ?? DEFAULT_HOST;
  const maxRoomSize = options.maxRoomSize ?? DEFAULT_LIMITS.maxRoomSize;
  const maxPayload = options.maxPayload ?? DEFAULT_LIMITS.maxPayload;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const messagesPerSecond = options.messagesPerSecond ?? DEFAULT_LIMITS.messagesPerSecond;
  const messageBurst = options.messageBurst ?? DEFAULT_LIMITS.messageBurst;
  const floodCloseAfter = options.floodCloseAfter ?? DEFAULT_LIMITS.floodCloseAfter;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_LIMITS.maxBufferedBytes;
  const receiverStallMs = options.receiverStallMs ?? DEFAULT_LIMITS.receiverStallMs;
  const relayChat = options.relay ?? true;
  const log = options.logger ?? silentLogger;
  const trustProxy: TrustProxy = parseTrustProxy(options.trustProxy);
  const maxNameLength = Math.min(options.maxNameLength ?? LIMITS.maxNameLength, LIMITS.maxNameLength);
  const maxRoomLength = Math.min(options.maxRoomLength ?? LIMITS.maxRoomLength, LIMITS.maxRoomLength);
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? DEFAULT_LIMITS.maxConnectionsPerIp;
  const maxClients = options.maxClients ?? DEFAULT_LIMITS.maxClients;
  const metrics: MetricsSettings | null = options.metrics === false ? null : options.metrics === true || options.metrics === undefined ? {} : options.metrics;
  if (metrics?.token !== undefined && !/^[\x21-\x7e]+$/.test(metrics.token)) throw new RangeError('metrics token: printable ASCII without spaces, not empty.');
  /** The token's hash: compared with the hash of what a request gives, in constant time, whatever its length. */
  const metricsToken = metrics?.token === undefined ? null : createHash('sha256').update(metrics.token).digest();

  const admission = new Admission({
    maxClients,
    maxConnectionsPerIp,
    trustProxy,
    joinsPerIp: options.joinsPerIp ?? DEFAULT_LIMITS.joinsPerIp,
    joinsPerRoom: options.joinsPerRoom ?? DEFAULT_LIMITS.joinsPerRoom,
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
  });
  const routerOptions = {
    maxRoomSize,
    maxRoomLength,
    maxNameLength,
    iceServers: options.iceServers ?? [],
    ...(options.turn ? { iceServersFor: (id: string) => [turnIceServer(options.turn!, id)] } : {}),
    limits: { maxRoomSize, maxFrameBytes: maxPayload, maxChatTextLength: LIMITS.maxChatTextLength, maxNameLength, relay: relayChat },
    logger: log,
  };
  const output: ClusterRouterOutput<Client> = {
    send: (client, message) => send(client, message),
    sendEncoded: (client, encoded) => sendFrame(client, encoded()),
    forward: (from, to, message) => forwardFrame(from.id ?? '?', from, to, encode(message)),
    forwardRemote: (from, to, frame) => forwardFrame(from, null, to, frame),
    replaced: (client) => closeClient(client, CLOSE_CODES.policyViolation, 'replaced by a newer connection'),
    sendAway: (client, code, reason) => closeClient(client, code, reason),
  };
  const joinGate = (client: Client, room: string): JoinRefusal | null => {
    const verdict = admission.allowJoin(client.group, room, wholeMs());
    if (verdict.ok) return null;
    const { limit, retryAfterMs } = verdict;
    log({ event: 'limit', level: 'warn', limit: JOIN_LIMIT_NAMES[limit], ip: client.ip, room, retryAfterMs });
    const message =
      limit === 'address'
        ? 'Too many joins from your address: try again in a few seconds.'
        : limit === 'room-share'
          ? `Too many joins into room "${room}" from your address: try again in a few seconds.`
          : `Too many joins into room "${room}": try again in a few seconds.`;
    return { message, retryAfterMs };
  };
  const clustered = options.redis === undefined ? null : new ClusteredRoomRouter<Client>(routerOptions, output, joinGate);
  const router: RoomRouter<Client> = clustered ?? new RoomRouter<Client>(routerOptions, output, joinGate);
  const cluster = clustered
    ? await ClusterLink.open(
        typeof options.redis === 'string' ? { url: options.redis } : options.redis!,
        {
          event: (event) => clustered.onEvent(event),
          frame: (to, from, room, frame) => clustered.onFrame(to, from, room, frame),
          status: (up) => {
            if (up) void clustered.restore();
            // Events on the way were lost with the connection: joins waiting for theirs go on elsewhere.
            else clustered.expireJoins(true);
          },
        },
        log,
      )
    : null;
  if (cluster) clustered!.attach(cluster);
  /** Frames answered with an error, by code (for /metrics). */
  const refusedFrames = new Map<string, number>();
  /** Open WebSocket connections (ws tracks the sockets themselves in `wss.clients`). */
  let connected = 0;
  /**
   * Upgrades admitted whose WebSocket handshake has not finished: counted from the request
   * on; one abandoned half-way is released by the next heartbeat's sweep. (No listener per
   * socket: an event name added to a socket's listener table grows it for good, which
   * 10,000 idle clients show in RSS.)
   */
  const upgrading = new Map<Socket, { address: string; group: string; originAllowed: boolean }>();
  function sweepAbandonedUpgrades(): void {
    for (const [socket, pending] of upgrading) {
      if (!socket.destroyed) continue;
      upgrading.delete(socket);
      admission.release(pending.group);
    }
  }

  const attached = options.server ?? null;
  const tls = options.tls;
  const http =
    options.noServer || attached
      ? null
      : tls
        ? createHttpsServer({ cert: tls.cert, key: tls.key }, (request, response) => answerHttp(request, response))
        : createServer((request, response) => answerHttp(request, response));
  const wss = new WebSocketServer({
    ...(http ? { server: http } : attached ? { server: attached } : { noServer: true }),
    WebSocket: ClientSocket,
    maxPayload,
    verifyClient: ({ origin, req }: { origin: string | undefined; req: IncomingMessage }, done: (ok: boolean, status?: number, reason?: string) => void) => {
      const verdict = admission.admit(origin, req.socket.remoteAddress, req.headers['x-forwarded-for']);
      if (!verdict.ok) {
        log({ event: 'limit', level: 'warn', limit: verdict.limit, ip: verdict.address });
        return done(false, verdict.status, verdict.reason);
      }
      // A refused origin is let in only to be closed at once (see 'connection').
      if (!verdict.originAllowed) log({ event: 'limit', level: 'warn', limit: 'origin', ip: verdict.address, origin: origin ?? null });
      const socket: Socket = req.socket;
      upgrading.set(socket, { address: verdict.address, group: verdict.group, originAllowed: verdict.originAllowed });
      done(true);
    },
  });

  function answerHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/healthz') {
      const report = health();
      response.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(report));
      return;
    }
    if (request.method === 'GET' && path === '/metrics' && metrics && !metrics.listen) return answerMetrics(request, response);
    response.writeHead(path === '/' ? 426 : 404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(path === '/' ? 'p2p-chat signaling server: connect with a WebSocket.\n' : 'Not found.\n');
  }

  function answerMetrics(request: IncomingMessage, response: ServerResponse): void {
    if (metricsToken && !bearerMatches(request.headers.authorization, metricsToken)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      response.end('/metrics needs Authorization: Bearer <token>.\n');
      return;
    }
    response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
    const { rooms, clients } = stats();
    response.end(
      renderMetrics({
        joins: router.joins,
        leaves: router.leaves,
        relayedFrames: router.relayed,
        refusedFrames,
        clients,
        rooms,
        redisUp: cluster ? cluster.up : null,
        ...(cluster ? { clusterRejectedFrames: cluster.rejectedFrames } : {}),
      }),
    );
  }

  /** `/metrics` on a listener of its own (`metrics.listen`): nothing else is served there. */
  const metricsHttp = metrics?.listen
    ? createServer((request, response) => {
        const path = (request.url ?? '/').split('?')[0];
        if (request.method === 'GET' && path === '/metrics') return answerMetrics(request, response);
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('Not found.\n');
      })
    : null;

  function stats(): SignalingServerStats {
    return { rooms: router.rooms.roomCount, clients: connected };
  }

  function health(): HealthReport {
    if (!cluster) return { status: 'ok', ...stats() };
    return { status: cluster.up ? 'ok' : 'redis-down', pid: process.pid, node: cluster.node, redis: cluster.up ? 'up' : 'down', ...stats() };
  }

  function send(client: Client, message: ServerMessage): void {
    if (message.type === 'error') refusedFrames.set(message.code, (refusedFrames.get(message.code) ?? 0) + 1);
    sendFrame(client, encode(message));
  }

  /**
   * A frame from the server itself (a string, or a Buffer shared by a broadcast), as a text
   * frame. It goes even to a full queue (another client may have filled it): these are
   * few and small (the join rates bound them), and a peer that missed one would hold a
   * wrong picture of its room. Only a receiver that is not reading is cut off, or one whose
   * queue would pass twice the limit.
   */
  function sendFrame(client: Client, frame: string | Buffer): void {
    if (client.readyState !== WebSocket.OPEN || client.phase !== 1) return;
    if (client.bufferedAmount <= maxBufferedBytes) return void client.send(frame, { binary: false });
    const inbound = (client.inbound ??= { bySender: new Map(), stalledSince: -1 });
    if (stalled(inbound, wholeMs()) || client.bufferedAmount + frame.length > 2 * maxBufferedBytes) return cutOffSlowReader(client);
    client.send(frame, { binary: false }, () => (inbound.stalledSince = -1));
  }

  /**
   * Whether a receiver whose queue is full now has stopped reading: full, and nothing
   * written out to it, for `receiverStallMs`. (Each frame written out clears the mark.)
   */
  function stalled(inbound: InboundQueue, now: number): boolean {
    if (inbound.stalledSince < 0) inbound.stalledSince = now;
    return now - inbound.stalledSince >= receiverStallMs;
  }

  /** A receiver that has not read anything for `receiverStallMs` while its queue was full: it goes (1013). */
  function cutOffSlowReader(client: Client): void {
    log({ event: 'limit', level: 'warn', limit: 'buffered-bytes', id: client.id });
    closeClient(client, CLOSE_CODES.tryAgainLater, 'not reading');
  }

  /**
   * A message one client sends another (`from`: null when the sender is on another process
   * of a cluster). Its bytes are counted against the sender until written out. When the
   * receiver's queue is full, the frame is dropped and its sender told (`receiver-busy`);
   * the receiver is judged only by its own reading (`stalled`), never by whose frame came
   * last; and the sender that holds the most of the queue, if it keeps on, is closed.
   */
  function forwardFrame(sender: string, from: Client | null, to: Client, frame: string | Buffer): void {
    if (to.readyState !== WebSocket.OPEN || to.phase !== 1) return;
    const inbound = (to.inbound ??= { bySender: new Map(), stalledSince: -1 });
    const pending = inbound.bySender;
    let mine = pending.get(sender);
    if (!mine) pending.set(sender, (mine = { bytes: 0, dropped: 0 }));
    if (to.bufferedAmount + frame.length > maxBufferedBytes) {
      const now = wholeMs();
      if (stalled(inbound, now)) return cutOffSlowReader(to);
      mine.dropped++;
      // A sender on another process is limited by its own process's rate limit; here its frames are only dropped.
      if (!from) return;
      if (now - from.toldLimitedAt >= 1000) {
        from.toldLimitedAt = now;
        log({ event: 'limit', level: 'warn', limit: 'receiver-busy', id: from.id, to: to.id });
        send(from, errorMessage('receiver-busy', `${to.name} is not reading as fast as you send: frames to it are being dropped.`));
      }
      if (mine.dropped >= floodCloseAfter && holdsMost(pending, mine)) {
        log({ event: 'limit', level: 'warn', limit: 'flood', id: from.id, ip: from.ip });
        closeClient(from, CLOSE_CODES.policyViolation, 'flooding a peer');
      }
      return;
    }
    inbound.stalledSince = -1;
    const account = mine;
    account.dropped = 0;
    account.bytes += frame.length;
    to.send(frame, { binary: false }, () => {
      account.bytes -= frame.length;
      // Written out: the receiver reads.
      inbound.stalledSince = -1;
      if (account.bytes <= 0 && account.dropped === 0 && pending.get(sender) === account) pending.delete(sender);
    });
  }

  /** Closes a connection for good: it leaves its room now and nothing it sends counts any more. */
  function closeClient(client: Client, code: number, reason: string): void {
    if (client.phase !== 1) return;
    client.phase = 2;
    router.leave(client, `close ${code}`);
    client.close(code, reason);
    // A client that ignores the close is cut rather than held for ws's 30 s.
    setTimeout(() => client.terminate(), CLOSE_GRACE_MS).unref();
  }

  /**
   * The socket is gone. Not on purpose (`unplanned`) from a client that keeps its token
   * across a reload (persist): the room hears it may be back in a moment.
   */
  function disconnect(client: Client, why: string, unplanned: boolean): void {
    if (client.phase === 0) return;
    client.phase = 0;
    connected--;
    admission.release(client.group);
    router.leave(client, why, true, unplanned && client.persist === true);
  }

  /** Rate limiting: a token per frame; floods get one error a second, then the door. */
  function admit(client: Client): boolean {
    const now = wholeMs();
    if (takeToken(client, messagesPerSecond, messageBurst, now)) {
      client.dropped = 0;
      return true;
    }
    client.dropped++;
    if (now - client.toldLimitedAt >= 1000) {
      client.toldLimitedAt = now;
      log({ event: 'limit', level: 'warn', limit: 'rate', id: client.id, ip: client.ip });
      // When the next token is there: what it lacks of one, at the rate's thousandths per ms.
      const retryAfterMs = Math.ceil((TOKEN - client.milliTokens) / messagesPerSecond);
      send(client, { ...errorMessage('rate-limited', `Over ${messagesPerSecond} messages per second: frames are being dropped.`), retryAfterMs });
    }
    if (client.dropped >= floodCloseAfter) {
      log({ event: 'limit', level: 'warn', limit: 'flood', id: client.id, ip: client.ip });
      closeClient(client, CLOSE_CODES.policyViolation, 'rate limit exceeded');
    }
    return false;
  }

  function onFrame(client: Client, data: RawData, isBinary: boolean): void {
    if (client.phase !== 1 || !admit(client)) return;
    if (isBinary) return router.reject(client, 'binary-not-supported');
    // ws hands over a Buffer (fragments: several); decoded where it lies, not copied first.
    const text = (Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
    const parsed = parseClientMessage(text, maxPayload);
    if (!parsed.ok) return router.reject(client, parsed.error.code, parsed.error.message, parsed.error.field);
    const message = parsed.value;
    if (message.type === 'new-peer') return router.join(client, message);
    if (message.type === 'rename') return void router.rename(client, message.name);
    router.relay(client, message);
  }

  wss.on('connection', (client, request) => {
    const socket: Socket = request.socket;
    const seen = upgrading.get(socket);
    upgrading.delete(socket);
    client.ip = seen?.address ?? socket.remoteAddress ?? '?';
    client.group = seen?.group ?? client.ip;
    client.milliTokens = messageBurst * TOKEN;
    client.tokensAt = wholeMs();
    client.phase = 1;
    connected++;
    log({ event: 'connect', level: 'debug', ip: client.ip });
    client.on('message', onSocketMessage);
    client.on('error', onSocketError);
    client.on('close', onSocketClose);
    // Heartbeat pongs mark the client alive in ClientSocket itself (no listener).
    if (seen && !seen.originAllowed) closeClient(client, CLOSE_CODES.originRefused, 'origin-refused');
  });

  // Shared by every connection (`this` is the connection, a ClientSocket: ws makes them
  // from the class given above; its typings only say WebSocket): no closures per connection.
  function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    onFrame(this as Client, data, isBinary);
  }
  function onSocketError(this: WebSocket, error: Error & { code?: string }): void {
    // ws closes the socket itself (1009 too large, 1007 invalid UTF-8, ...).
    log({ event: 'socket-error', level: 'debug', id: (this as Client).id, code: error.code ?? error.message });
  }
  function onSocketClose(this: WebSocket, code: number): void {
    // 1001: the page went away (navigation, reload); 1006: no close frame (the network). A
    // page that leaves on purpose closes with a code of its own (the chat: 1000).
    disconnect(this as Client, `close ${code}`, code === 1001 || code === 1006);
  }
  wss.on('error', (error) => log({ event: 'server-error', level: 'error', message: error.message }));

  // Joins whose event from Redis never came are given up after a few seconds.
  const joinSweep = clustered ? setInterval(() => clustered.expireJoins(false), 1000) : null;
  joinSweep?.unref();
  const heartbeat = setInterval(() => {
    sweepAbandonedUpgrades();
    admission.sweep(wholeMs());
    for (const client of wss.clients) {
      if (!client.alive) {
        log({ event: 'heartbeat-timeout', level: 'info', id: client.id });
        client.terminate();
        disconnect(client, 'heartbeat', true);
        continue;
      }
      client.alive = false;
      client.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  // Time-limited TURN credentials: everyone joined gets fresh ones every half of their
  // lifetime, so they never run out (one timer for the server, no state per client).
  const turn = options.turn;
  const renewTurn = turn
    ? setInterval(
        () => {
          for (const client of wss.clients) {
            if (client.phase === 1 && client.id !== null && client.room !== null)
              send(client, { type: 'ice-servers', iceServers: router.iceServersFor(client.id) });
          }
        },
        (turn.ttlSeconds * 1000) / 2,
      )
    : null;
  renewTurn?.unref();

  if (http) await listen(http, port, host);
  if (metricsHttp) {
    try {
      await listen(metricsHttp, metrics!.listen!.port, metrics!.listen!.host ?? '127.0.0.1');
    } catch (error) {
      http?.close();
      throw error;
    }
  }
  const address = (http ?? attached)?.address() as AddressInfo | string | null | undefined;
  const listening = address && typeof address === 'object' ? address : null;
  const urlHost = listening?.family === 'IPv6' ? `[${listening.address}]` : listening?.address;
  const scheme = (attached && 'setSecureContext' in attached) || tls ? 'wss' : 'ws';
  const url = listening ? `${scheme}://${http && host === 'localhost' ? 'localhost' : urlHost}:${listening.port}` : '';
  const metricsAddress = metricsHttp?.address() as AddressInfo | null | undefined;
  const metricsUrl = metricsAddress
    ? `http://${metricsAddress.family === 'IPv6' ? `[${metricsAddress.address}]` : metricsAddress.address}:${metricsAddress.port}/metrics`
    : metrics && http && url
      ? `${url.replace(/^ws/, 'http')}/metrics`
      : '';
  if (trustProxy.kind === 'hops')
    log({
      event: 'trust-proxy-hops',
      level: 'warn',
      message: `--trust-proxy ${trustProxy.hops} believes X-Forwarded-For from any loopback, private or unique-local address: name the proxies instead (--trust-proxy 10.0.0.5,fd00::/8)`,
    });
  log({
    event: 'listening',
    url,
    maxRoomSize,
    maxPayload,
    messagesPerSecond,
    messageBurst,
    maxClients,
    maxConnectionsPerIp,
    trustProxy: trustProxy.kind,
    // Where /metrics is, and whether it takes a token (never the token).
    metrics: metricsUrl || 'off',
    ...(metricsToken ? { metricsToken: true } : {}),
    ...(cluster ? { node: cluster.node, redis: cluster.up ? 'up' : 'down', clusterSealed: cluster.sealed } : {}),
    // The TURN URLs and lifetime, never the secret.
    ...(turn ? { turnUrls: turn.urls.join(','), turnTtlSeconds: turn.ttlSeconds } : {}),
  });

  function reloadTls(files: TlsFiles): void {
    if (!http || !('setSecureContext' in http)) throw new Error('reloadTls: this server was not started with tls');
    http.setSecureContext({ cert: files.cert, key: files.key });
    log({ event: 'tls-reloaded' });
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
  }

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    // In a cluster its peers stay listed, to come back through another process.
    if (clustered) clustered.shuttingDown = true;
    closing ??= new Promise<void>((resolve) => {
      clearInterval(heartbeat);
      if (joinSweep) clearInterval(joinSweep);
      if (renewTurn) clearInterval(renewTurn);
      for (const client of wss.clients) {
        send(client, errorMessage('server-shutdown'));
        client.close(CLOSE_CODES.goingAway, 'server shutting down');
      }
      // Sockets that do not finish the closing handshake in time are cut.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 1000);
      cut.unref();
      wss.close(() => {
        const done = () => {
          clearTimeout(cut);
          log({ event: 'closed' });
          void (cluster?.close() ?? Promise.resolve()).then(() => resolve());
        };
        if (metricsHttp) {
          metricsHttp.close();
          metricsHttp.closeAllConnections();
        }
        if (!http) return done();
        http.close(done);
        http.closeAllConnections();
      });
    });
    return closing;
  }

  return { url, port: listening?.port ?? 0, metricsUrl, stats, health, reloadTls, handleUpgrade, close };
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Whether an `Authorization` header carries the token whose SHA-256 is `expected` (constant time). */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const given = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
  // Hashed first: equal lengths for timingSafeEqual, and no early exit on the first byte that differs.
  const same = timingSafeEqual(
    createHash('sha256')
      .update(given ?? '')
      .digest(),
    expected,
  );
  return same && given !== undefined;
}
