/**
 * The signaling server: introduces peers, relays their offers, answers and candidates
 * within a room, and nothing else (chat text never passes through it).
 *
 * Every frame is parsed by the protocol module; a bad frame gets an `error` reply and
 * changes nothing for anyone else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  LIMITS,
  defaultPeerName,
  encode,
  errorMessage,
  parseClientMessage,
  relayed,
  type ErrorCode,
  type IceServer,
  type NewPeerRequest,
  type RelayRequest,
  type ServerMessage,
} from '../protocol/index.js';
import { RoomRegistry } from './room-registry.js';
import { silentLogger, type Logger } from './log.js';

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

interface Client {
  readonly socket: WebSocket;
  readonly id: string;
  name: string;
  room: string | null;
  alive: boolean;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = 'localhost';
export const DEFAULT_HEARTBEAT_MS = 30_000;

/** Close codes the server uses (RFC 6455 and the 4000 private range). */
export const CLOSE_CODES = {
  goingAway: 1001,
  tooLarge: 1009,
} as const;

function newPeerId(): string {
  return randomBytes(9).toString('base64url');
}

export async function createSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const port = options.port ?? DEFAULT_PORT;
  const host = options.host ?? DEFAULT_HOST;
  const maxRoomSize = options.maxRoomSize ?? LIMITS.maxRoomSize;
  const maxPayload = options.maxPayload ?? LIMITS.maxFrameBytes;
  const iceServers = options.iceServers ?? [];
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const log = options.logger ?? silentLogger;
  const limits = {
    maxRoomSize,
    maxFrameBytes: maxPayload,
    maxChatTextLength: LIMITS.maxChatTextLength,
    maxNameLength: LIMITS.maxNameLength,
  };

  const rooms = new RoomRegistry<Client>(maxRoomSize);
  const clients = new Set<Client>();

  const http = createServer((request, response) => answerHttp(request, response));
  const wss = new WebSocketServer({
    server: http,
    maxPayload,
    verifyClient: ({ origin }: { origin: string | undefined }, done: (ok: boolean, status?: number, reason?: string) => void) => {
      if (allowedOrigins.size === 0 || (origin !== undefined && allowedOrigins.has(origin))) return done(true);
      log({ event: 'limit', level: 'warn', limit: 'origin', origin: origin ?? null });
      done(false, 403, 'Origin not allowed');
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
    return { rooms: rooms.roomCount, clients: clients.size };
  }

  function send(client: Client, message: ServerMessage): void {
    if (client.socket.readyState === WebSocket.OPEN) client.socket.send(encode(message));
  }

  function reject(client: Client, code: ErrorCode, message?: string, field?: string): void {
    log({ event: 'error', level: 'debug', id: client.id, code, ...(field ? { field } : {}) });
    send(client, errorMessage(code, message, field));
  }

  function join(client: Client, request: NewPeerRequest): void {
    if (client.room !== null) return reject(client, 'already-joined');
    const name = request.name ?? defaultPeerName(client.id);
    client.name = name;
    const outcome = rooms.join(request.room, client);
    if (!outcome.ok) {
      log({ event: 'limit', level: 'warn', limit: 'room-size', room: request.room, id: client.id });
      return reject(client, 'room-full', `Room "${request.room}" already has ${maxRoomSize} peers.`, 'room');
    }
    client.room = request.room;
    log({ event: 'join', id: client.id, room: request.room, peers: outcome.others.length + 1 });
    send(client, { type: 'welcome', id: client.id, room: request.room, peers: outcome.others, iceServers, limits });
    for (const other of rooms.others(request.room, client.id)) send(other, { type: 'new-peer', id: client.id, name });
  }

  function relay(client: Client, request: RelayRequest): void {
    if (client.room === null) return reject(client, 'not-joined');
    const target = request.to === client.id ? undefined : rooms.find(client.room, request.to);
    if (!target) return reject(client, 'unknown-peer', `No peer "${request.to}" in your room.`, 'to');
    send(target, relayed(request, client.id));
  }

  function leave(client: Client, why: string): void {
    if (!clients.delete(client)) return;
    const room = client.room;
    if (room === null || !rooms.leave(room, client.id)) return;
    client.room = null;
    log({ event: 'leave', id: client.id, room, why });
    for (const other of rooms.others(room, client.id)) send(other, { type: 'peer-disconnected', id: client.id });
  }

  function onFrame(client: Client, data: RawData, isBinary: boolean): void {
    if (isBinary) return reject(client, 'binary-not-supported');
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const parsed = parseClientMessage(text, maxPayload);
    if (!parsed.ok) return reject(client, parsed.error.code, parsed.error.message, parsed.error.field);
    const message = parsed.value;
    if (message.type === 'new-peer') join(client, message);
    else relay(client, message);
  }

  wss.on('connection', (socket, request) => {
    const client: Client = { socket, id: newPeerId(), name: '', room: null, alive: true };
    clients.add(client);
    log({ event: 'connect', level: 'debug', id: client.id, address: request.socket.remoteAddress });
    socket.on('message', (data, isBinary) => onFrame(client, data, isBinary));
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself (1009 too large, 1007 invalid UTF-8, ...).
      log({ event: 'socket-error', level: 'debug', id: client.id, code: error.code ?? error.message });
    });
    socket.on('close', (code) => leave(client, `close ${code}`));
  });
  wss.on('error', (error) => log({ event: 'server-error', level: 'error', message: error.message }));

  const heartbeat = setInterval(() => {
    for (const client of clients) {
      if (!client.alive) {
        log({ event: 'heartbeat-timeout', level: 'info', id: client.id });
        client.socket.terminate();
        leave(client, 'heartbeat');
        continue;
      }
      client.alive = false;
      client.socket.ping();
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
  log({ event: 'listening', url, maxRoomSize, maxPayload });

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(heartbeat);
      for (const client of clients) {
        send(client, errorMessage('server-shutdown'));
        client.socket.close(CLOSE_CODES.goingAway, 'server shutting down');
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
