// The signaling server CLI as a child process on a fixed port, that can be stopped
// (SIGTERM, as an operator would) and started again on the same port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.mjs';

const BIN = fileURLToPath(new URL('../bin/p2p-chat-server.js', import.meta.url));

export class SignalingProcess {
  #child = null;
  #port = 0;
  #args;

  constructor(args = ['--heartbeat', '2000', '--log-level', 'warn', '--join-rate', '1000/1000', '--room-join-rate', '1000/1000']) {
    this.#args = args;
  }

  get running() {
    return this.#child !== null;
  }

  get url() {
    return `ws://127.0.0.1:${this.#port}`;
  }

  async start() {
    if (this.#child) return;
    if (this.#port === 0) this.#port = await freePort();
    const child = spawn(process.execPath, [BIN, '--port', String(this.#port), '--host', '127.0.0.1', ...this.#args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#child = child;
    await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`signaling server exited (${code}) before listening`)));
    });
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
  }

  async stop() {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  kill() {
    this.#child?.kill('SIGKILL');
    this.#child = null;
  }
}
