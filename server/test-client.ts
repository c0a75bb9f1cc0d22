/** A small real `ws` client for server tests: waits for typed server messages. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { parseServerMessage, type ServerMessage } from '../protocol/index.js';
import { createSignalingServer, type SignalingServerOptions } from './signaling-server.js';

export class TestClient {
  readonly received: ServerMessage[] = [];
  readonly #waiters = new Set<() => void>();
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const parsed = parseServerMessage(isBinary ? null : data.toString());
      if (!parsed.ok) throw new Error(`server sent an invalid frame: ${parsed.error.message}`);
      this.received.push(parsed.value);
      this.#wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    socket.on('error', () => {});
  }

  /** `localAddress`: the address to connect from (another of 127.0.0.0/8 is another client address). */
  static open(url: string, options: { origin?: string; localAddress?: string } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, {
        ...(options.origin ? { origin: options.origin } : {}),
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Opens a client and joins a room; resolves with its welcome. */
  static async join(url: string, room = 'lobby', name?: string) {
    const client = await TestClient.open(url);
    client.send({ type: 'new-peer', room, ...(name ? { name } : {}) });
    const welcome = await client.next('welcome');
    return { client, welcome };
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  /** The first not-yet-taken message of `type` (removes it from `received`). */
  next<T extends ServerMessage['type']>(type: T, timeoutMs = 2000): Promise<Extract<ServerMessage, { type: T }>> {
    return this.#until(
      () => {
        const index = this.received.findIndex((m) => m.type === type);
        if (index < 0) return undefined;
        return this.received.splice(index, 1)[0] as Extract<ServerMessage, { type: T }>;
      },
      `a "${type}" message`,
      timeoutMs,
    );
  }

  waitClosed(timeoutMs = 2000): Promise<{ code: number; reason: string }> {
    return this.#until(() => this.closed ?? undefined, 'the socket to close', timeoutMs);
  }

  #until<R>(check: () => R | undefined, what: string, timeoutMs: number): Promise<R> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) return false;
        this.#waiters.delete(attempt);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(attempt);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      if (!attempt()) this.#waiters.add(attempt);
    });
  }

  /** Resolves after a round trip, so anything the server would have sent has arrived. */
  async settle(timeoutMs = 5000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no pong: the socket is not answering')), timeoutMs);
      this.socket.once('pong', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.socket.ping();
      } catch (error) {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Runs `body` against a fresh server on a free port of 127.0.0.1, closed afterwards. */
export async function withServer(options: SignalingServerOptions, body: (url: string) => Promise<void>): Promise<void> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', ...options });
  try {
    await body(server.url);
  } finally {
    await server.close();
  }
}

/** A self-signed certificate for 127.0.0.1 (CN `name`), made by openssl in `dir`. */
export function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const subject = ['-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', ...subject, '-keyout', key, '-out', cert],
    {
      stdio: 'ignore',
    },
  );
  return { cert, key };
}

/** The real CLI (bin/p2p-chat-server.js) as a child process, once it listens. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it wrote to stderr so far (its JSON log lines). */
  stderr(): string;
}

export const SERVER_BIN = fileURLToPath(new URL('../../bin/p2p-chat-server.js', import.meta.url));

/** CLI flags for a test server on a free port of 127.0.0.1 where join rates are not what is tested. */
export const TEST_SERVER_ARGS: readonly string[] = ['--port', '0', '--host', '127.0.0.1', '--join-rate', '1000/1000', '--room-join-rate', '1000/1000'];

export async function startCliServer(args: readonly string[]): Promise<CliServer> {
  const child = spawn(process.execPath, [SERVER_BIN, ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /listening on (wss?:\/\/\S+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited early (${code}): ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

/**
 * A hostile client speaking WebSocket by hand over TCP: it ignores the server's close
 * frame and keeps sending, as a client may for the 30 s a close handshake is allowed to
 * take. Records text frames and the close code it was sent.
 */
export class DeafClient {
  readonly received: ServerMessage[] = [];
  closeCode: number | null = null;
  ended = false;
  #buffer = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#readFrames();
    });
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => {});
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<DeafClient> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      socket.once('error', reject);
      socket.once('connect', () => {
        const extra = Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
        socket.write(
          `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
        );
      });
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(head.split('\r\n')[0]));
          return;
        }
        const client = new DeafClient(socket);
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length > 0) socket.emit('data', rest);
        resolve(client);
      };
      socket.on('data', onData);
    });
  }

  /** A masked text frame, as clients must send. */
  send(message: unknown): void {
    const payload = Buffer.from(typeof message === 'string' ? message : JSON.stringify(message));
    const mask = randomBytes(4);
    const length = payload.length;
    const header = length < 126 ? Buffer.from([0x81, 0x80 | length]) : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([header, mask, masked]));
  }

  #readFrames(): void {
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      const payload = buffer.subarray(offset, offset + length);
      this.#buffer = buffer.subarray(offset + length);
      if (opcode === 1) {
        const parsed = parseServerMessage(payload.toString('utf8'));
        if (parsed.ok) this.received.push(parsed.value);
      } else if (opcode === 8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      }
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
