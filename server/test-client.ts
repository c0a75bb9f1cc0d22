/** A small real `ws` client for server tests: waits for typed server messages. */
import { spawn, type ChildProcess } from 'node:child_process';
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

  static open(url: string, options: { origin?: string } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options.origin ? { origin: options.origin } : {});
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
    return this.#until(() => {
      const index = this.received.findIndex((m) => m.type === type);
      if (index < 0) return undefined;
      return this.received.splice(index, 1)[0] as Extract<ServerMessage, { type: T }>;
    }, `a "${type}" message`, timeoutMs);
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

/** The real CLI (bin/p2p-chat-server.js) as a child process, once it listens. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it wrote to stderr so far (its JSON log lines). */
  stderr(): string;
}

export const SERVER_BIN = fileURLToPath(new URL('../../bin/p2p-chat-server.js', import.meta.url));

export async function startCliServer(args: readonly string[]): Promise<CliServer> {
  const child = spawn(process.execPath, [SERVER_BIN, ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /listening on (ws:\/\/\S+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited early (${code}): ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}
