// A real redis-server (Debian's `redis-server`) for the tests and the bench: on 127.0.0.1,
// a free port (or the one it had, after a stop), persistence off, nothing kept on disk.
// It can be stopped and started again, as an outage would.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './free-port.mjs';

export const hasRedisServer = () => spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

export class RedisProcess {
  #child = null;
  #port = 0;
  #log = '';

  get url() {
    return `redis://127.0.0.1:${this.#port}`;
  }

  get pid() {
    return this.#child?.pid ?? null;
  }

  get running() {
    return this.#child !== null;
  }

  log() {
    return this.#log;
  }

  async start() {
    if (this.#child) return;
    if (!hasRedisServer()) throw new Error('redis-server is not installed: sudo apt-get install redis-server (Debian/Ubuntu)');
    if (this.#port === 0) this.#port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(this.#port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stdout.on('data', (chunk) => (this.#log += chunk));
    child.stderr.on('data', (chunk) => (this.#log += chunk));
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    // Ready once it answers on its port.
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.#child !== child) throw new Error(`redis-server exited: ${this.#log}`);
      if (await answersPing(this.#port)) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer within 10 s: ${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills it at once (for exit handlers, which cannot wait). */
  kill() {
    this.#child?.kill('SIGKILL');
    this.#child = null;
  }

  /** Stops it (its data goes: persistence is off). */
  async stop() {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

async function answersPing(port) {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
