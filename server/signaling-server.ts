/**
 * The signaling server: introduces peers, relays their offers, answers and candidates
 * within a room, and nothing else (chat text never passes through it).
 *
 * Every frame is parsed by the protocol module; a bad frame gets an `error` reply and
 * changes nothing for anyone else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  LIMITS,
  PROTOCOL_VERSION,
  defaultPeerName,
  encode,
  errorMessage,
  parseClientMessage,
  relayed,
  type ErrorCode,
  type IceServer,
  type NewPeerRequest,
  type RelayRequest,
  type ChatRelayRequest,
  type ServerMessage,
} from '../protocol/index.js';
import { RoomRegistry, summaryOf } from './room-registry.js';
import { silentLogger, type Logger } from './log.js';
import { TOKEN, takeToken, wholeMs } from './token-bucket.js';
import { ClientSocket } from './client-socket.js';
import { newIdentity, resumedIdentity } from './identity.js';

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
  /** Ping interval; a socket that missed the previous pong is dropped. Default 30 s. */
  readonly heartbeatMs?: number;
  /** `Origin`s allowed to connect (exact match); empty or absent allows any. */
  readonly allowedOrigins?: readonly string[];
  /** Frames per second a connection may send on average. Default 50. */
  readonly messagesPerSecond?: number;
  /** Frames a connection may send at once above the rate. Default 200. */
  readonly messageBurst?: number;
  /** Frames dropped for the rate in a row before the connection is closed (1008). Default 200. */
  readonly floodCloseAfter?: number;
  /** Connections the server holds at once; more are refused at the upgrade (503). Default 20000. */
  readonly maxClients?: number;
  /** Connections from one IP address; more are refused at the upgrade (429). Default 100; 0: no limit. */
  readonly maxConnectionsPerIp?: number;
  /** Longest display name (at most the protocol's 40). */
  readonly maxNameLength?: number;
  /** Longest room name (at most the protocol's 64). */
  readonly maxRoomLength?: number;
  /** A receiver with more than this many bytes waiting to be sent is cut off (1013). Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * Relay chat (`relay` messages) between peers of a room that cannot connect directly
   * (a browser without WebRTC, or failed ICE). The server then sees that text. Default true.
   */
  readonly relay?: boolean;
  /** Where structured log entries go. Default: nowhere. */
  readonly logger?: Logger;
}

export interface SignalingServerStats {
  readonly rooms: number;
  readonly clients: number;
}

export interface SignalingServer {
  /** `ws://host:port` clients connect to. */
  readonly url: string;
  readonly port: number;
  stats(): SignalingServerStats;
  /** Tells every client the server is going away (close code 1001) and stops. */
  close(): Promise<void>;
}

/** A connection: the socket and the server's state for it are one object. */
type Client = ClientSocket;

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
  /** The client does not read what it is sent (buffer over `maxBufferedBytes`). */
  tryAgainLater: 1013,
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
} as const;

export async function createSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const port = options.port ?? DEFAULT_PORT;
  const host = options.host ?? DEFAULT_HOST;
  const maxRoomSize = options.maxRoomSize ?? DEFAULT_LIMITS.maxRoomSize;
  const maxPayload = options.maxPayload ?? DEFAULT_LIMITS.maxPayload;
  const iceServers = options.iceServers ?? [];
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const messagesPerSecond = options.messagesPerSecond ?? DEFAULT_LIMITS.messagesPerSecond;
  const messageBurst = options.messageBurst ?? DEFAULT_LIMITS.messageBurst;
  const floodCloseAfter = options.floodCloseAfter ?? DEFAULT_LIMITS.floodCloseAfter;
  const maxClients = options.maxClients ?? DEFAULT_LIMITS.maxClients;
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? DEFAULT_LIMITS.maxConnectionsPerIp;
  const maxNameLength = Math.min(options.maxNameLength ?? LIMITS.maxNameLength, LIMITS.maxNameLength);
  const maxRoomLength = Math.min(options.maxRoomLength ?? LIMITS.maxRoomLength, LIMITS.maxRoomLength);
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_LIMITS.maxBufferedBytes;
  const relayChat = options.relay ?? true;
  const log = options.logger ?? silentLogger;
  const limits = {
    maxRoomSize,
    maxFrameBytes: maxPayload,
    maxChatTextLength: LIMITS.maxChatTextLength,
    maxNameLength,
    relay: relayChat,
  };

  const rooms = new RoomRegistry<Client>(maxRoomSize);
  /** Connections held (ws tracks the sockets themselves in `wss.clients`). */
  let connected = 0;
  /** Joined clients by id: an id is in at most one room at a time. */
  const byId = new Map<string, Client>();
  const perIp = new Map<string, number>();

  const http = createServer((request, response) => answerHttp(request, response));
  const wss = new WebSocketServer({
    server: http,
    WebSocket: ClientSocket,
    maxPayload,
    verifyClient: (
      { origin, req }: { origin: string | undefined; req: IncomingMessage },
      done: (ok: boolean, status?: number, reason?: string) => void,
    ) => {
      if (allowedOrigins.size > 0 && (origin === undefined || !allowedOrigins.has(origin))) {
        log({ event: 'limit', level: 'warn', limit: 'origin', origin: origin ?? null });
        return done(false, 403, 'Origin not allowed');
      }
      if (connected >= maxClients) {
        log({ event: 'limit', level: 'warn', limit: 'max-clients', clients: connected });
        return done(false, 503, 'Server full');
      }
      const ip = req.socket.remoteAddress ?? '?';
      if (maxConnectionsPerIp > 0 && (perIp.get(ip) ?? 0) >= maxConnectionsPerIp) {
        log({ event: 'limit', level: 'warn', limit: 'connections-per-ip', ip });
        return done(false, 429, 'Too many connections from this address');
      }
      done(true);
    },
  });

  function answerHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify({ status: 'ok', ...stats() }));
      return;
    }
    response.writeHead(path === '/' ? 426 : 404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(path === '/' ? 'p2p-chat signaling server: connect with a WebSocket.\n' : 'Not found.\n');
  }

  function stats(): SignalingServerStats {
    return { rooms: rooms.roomCount, clients: connected };
  }

  function send(client: Client, message: ServerMessage): void {
    sendFrame(client, encode(message));
  }

  /** Sends an encoded frame (a string, or a Buffer shared by a broadcast) as a text frame. */
  function sendFrame(client: Client, frame: string | Buffer): void {
    if (client.readyState !== WebSocket.OPEN) return;
    if (client.bufferedAmount > maxBufferedBytes) {
      log({ event: 'limit', level: 'warn', limit: 'buffered-bytes', id: client.id });
      client.close(CLOSE_CODES.tryAgainLater, 'not reading');
      return;
    }
    client.send(frame, { binary: false });
  }

  /** One message to every member of a room but one: encoded once for all of them. */
  function broadcast(room: string, exceptId: string, message: ServerMessage): void {
    let frame: Buffer | null = null;
    rooms.forEachOther(room, exceptId, (other) => sendFrame(other, (frame ??= Buffer.from(encode(message)))));
  }

  function reject(client: Client, code: ErrorCode, message?: string, field?: string): void {
    log({ event: 'error', level: 'debug', id: client.id, code, ...(field ? { field } : {}) });
    send(client, errorMessage(code, message, field));
  }

  function join(client: Client, request: NewPeerRequest): void {
    if (client.room !== null) return reject(client, 'already-joined');
    if (request.room.length > maxRoomLength) return reject(client, 'too-large', `Room names have at most ${maxRoomLength} characters here.`, 'room');
    if (request.name !== undefined && request.name.length > maxNameLength) {
      return reject(client, 'too-large', `Names have at most ${maxNameLength} characters here.`, 'name');
    }
    const identity = request.resume === undefined ? newIdentity() : resumedIdentity(request.resume);
    const previous = byId.get(identity.id);
    if (previous && previous !== client) {
      // The same peer is back (its old socket may not have noticed it is dead yet): the
      // token proves it, the new connection wins. Peers of the same room are not told it
      // left, so their WebRTC connection to it stays up.
      log({ event: 'replaced', id: identity.id, room: previous.room });
      const sameRoom = previous.room === request.room;
      leave(previous, 'replaced', !sameRoom);
      previous.close(CLOSE_CODES.policyViolation, 'replaced by a newer connection');
    }
    const name = request.name ?? defaultPeerName(identity.id);
    client.id = identity.id;
    client.name = name;
    client.webrtc = request.webrtc !== false;
    client.version = request.version ?? 1;
    const outcome = rooms.join(request.room, identity.id, client);
    if (!outcome.ok) {
      client.id = null;
      log({ event: 'limit', level: 'warn', limit: 'room-size', room: request.room });
      return reject(client, 'room-full', `Room "${request.room}" already has ${maxRoomSize} peers.`, 'room');
    }
    client.room = request.room;
    byId.set(identity.id, client);
    log({ event: 'join', id: identity.id, room: request.room, peers: outcome.others.length + 1, resumed: request.resume !== undefined });
    send(client, { type: 'welcome', id: identity.id, room: request.room, peers: outcome.others, iceServers, limits, resume: identity.resume, version: PROTOCOL_VERSION });
    broadcast(request.room, identity.id, { type: 'new-peer', ...summaryOf(identity.id, client) });
  }

  function relay(client: Client, request: RelayRequest | ChatRelayRequest): void {
    if (client.room === null || client.id === null) return reject(client, 'not-joined');
    if (request.type === 'relay' && !relayChat) return reject(client, 'relay-disabled');
    const target = request.to === client.id ? undefined : rooms.find(client.room, request.to);
    if (!target) return reject(client, 'unknown-peer', `No peer "${request.to}" in your room.`, 'to');
    if (request.type === 'relay') {
      // Chat text passes through here only for this: never logged.
      send(target, { type: 'relay', from: client.id, message: request.message });
      return;
    }
    send(target, relayed(request, client.id));
  }

  /** Takes a client out of its room; tells the room unless `announce` is false. */
  function leave(client: Client, why: string, announce = true): void {
    const { room, id } = client;
    client.room = null;
    if (id !== null && byId.get(id) === client) byId.delete(id);
    if (room === null || id === null || rooms.find(room, id) !== client || !rooms.leave(room, id)) return;
    log({ event: 'leave', id, room, why });
    if (!announce) return;
    broadcast(room, id, { type: 'peer-disconnected', id });
  }

  function disconnect(client: Client, why: string): void {
    if (!client.counted) return;
    client.counted = false;
    connected--;
    const count = (perIp.get(client.ip) ?? 1) - 1;
    if (count <= 0) perIp.delete(client.ip);
    else perIp.set(client.ip, count);
    leave(client, why);
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
      send(client, errorMessage('rate-limited', `Over ${messagesPerSecond} messages per second: frames are being dropped.`));
    }
    if (client.dropped >= floodCloseAfter) {
      log({ event: 'limit', level: 'warn', limit: 'flood', id: client.id, ip: client.ip });
      client.close(CLOSE_CODES.policyViolation, 'rate limit exceeded');
    }
    return false;
  }

  function onFrame(client: Client, data: RawData, isBinary: boolean): void {
    if (!admit(client)) return;
    if (isBinary) return reject(client, 'binary-not-supported');
    // ws hands over a Buffer (fragments: several); decoded where it lies, not copied first.
    const text = (Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
    const parsed = parseClientMessage(text, maxPayload);
    if (!parsed.ok) return reject(client, parsed.error.code, parsed.error.message, parsed.error.field);
    const message = parsed.value;
    if (message.type === 'new-peer') join(client, message);
    else relay(client, message);
  }

  wss.on('connection', (client, request) => {
    const ip = request.socket.remoteAddress ?? '?';
    client.ip = ip;
    client.milliTokens = messageBurst * TOKEN;
    client.tokensAt = wholeMs();
    client.counted = true;
    connected++;
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    log({ event: 'connect', level: 'debug', ip });
    client.on('message', onSocketMessage);
    client.on('error', onSocketError);
    client.on('close', onSocketClose);
    // Heartbeat pongs mark the client alive in ClientSocket itself (no listener).
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
    disconnect(this as Client, `close ${code}`);
  }
  wss.on('error', (error) => log({ event: 'server-error', level: 'error', message: error.message }));

  const heartbeat = setInterval(() => {
    for (const client of wss.clients) {
      if (!client.alive) {
        log({ event: 'heartbeat-timeout', level: 'info', id: client.id });
        client.terminate();
        disconnect(client, 'heartbeat');
        continue;
      }
      client.alive = false;
      client.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `ws://${host === 'localhost' ? 'localhost' : urlHost}:${address.port}`;
  log({ event: 'listening', url, maxRoomSize, maxPayload, messagesPerSecond, messageBurst, maxClients, maxConnectionsPerIp });

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(heartbeat);
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
        http.close(() => {
          clearTimeout(cut);
          log({ event: 'closed' });
          resolve();
        });
        http.closeAllConnections();
      });
    });
    return closing;
  }

  return { url, port: address.port, stats, close };
}
