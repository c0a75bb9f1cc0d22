// Server processes for the bench and what /proc says about them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/free-port.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));


/** Starts a server: `p2p` (our CLI), `raw` (the 30-line relay) or `peerjs` (PeerServer). */
export async function startServer(kind, extraArgs = []) {
  const port = await freePort();
  const commands = {
    p2p: [`${root}bin/p2p-chat-server.js`, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'error', ...extraArgs],
    raw: [`${root}bench/raw-relay.mjs`, String(port)],
    peerjs: [`${root}node_modules/peer/dist/bin/peerjs.js`, '--port', String(port)],
  };
  const child = spawn(process.execPath, commands[kind], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      if (/listening on|Started PeerServer/i.test(output)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}): ${output}`)));
  });
  const url = kind === 'peerjs' ? `ws://127.0.0.1:${port}` : `ws://127.0.0.1:${port}`;
  return {
    kind,
    port,
    url,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

export function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** User + system CPU time of a process, in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs the load generator; calls `on(event)` for each JSON line; resolves at exit. */
export function runLoad(args, on) {
  const child = spawn(process.execPath, [`${root}bench/load.mjs`, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) on(JSON.parse(line), child);
    }
  });
  return once(child, 'exit');
}
