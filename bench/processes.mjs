// Server processes for the bench and what /proc says about them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/free-port.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts a server: `p2p` (our CLI), `raw` (the 30-line relay) or `peerjs` (PeerServer).
 * `probe`: preload bench/heap-probe.cjs, so `liveHeapKb()` can read the live JS heap.
 */
export async function startServer(kind, extraArgs = [], { probe = false, ownCpuShare = false } = {}) {
  const port = await freePort();
  const commands = {
    p2p: [`${root}bin/p2p-chat-server.js`, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'error', ...extraArgs],
    raw: [`${root}bench/raw-relay.mjs`, String(port)],
    peerjs: [`${root}node_modules/peer/dist/bin/peerjs.js`, '--port', String(port)],
  };
  const nodeArgs = probe ? ['--expose-gc', '-r', `${root}bench/heap-probe.cjs`] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...commands[kind]], { stdio: ['ignore', 'pipe', 'pipe'], detached: ownCpuShare });
  if (ownCpuShare) killAtExit(child);
  const cpuShare = ownCpuShare ? giveOwnCpuShare(child) : 'shared';
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
  const url = `ws://127.0.0.1:${port}`;
  return {
    kind,
    port,
    url,
    pid: child.pid,
    /** Everything it printed so far. */
    output: () => output,
    /** How the server shares the CPU with the browsers: 'shared', 'own group', 'own group, nice -10' or 'no autogroups'. */
    cpuShare,
    /** The live JS heap after a full GC, in KiB (needs `probe`). */
    liveHeapKb: () =>
      new Promise((resolve) => {
        const onData = (chunk) => {
          const match = /heap-probe (\{.*\})/.exec(String(chunk));
          if (!match) return;
          child.stderr.off('data', onData);
          resolve(JSON.parse(match[1]).heapUsedKb);
        };
        child.stderr.on('data', onData);
        child.kill('SIGUSR2');
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

/** Children in their own session outlive the bench unless it kills them (Ctrl-C reaches only its own session). */
const detachedChildren = new Set();
process.on('exit', () => {
  for (const child of detachedChildren) if (child.exitCode === null) child.kill('SIGKILL');
});
function killAtExit(child) {
  detachedChildren.add(child);
  child.once('exit', () => detachedChildren.delete(child));
}

/**
 * Linux schedules each session as one group ("autogroup"): the browser's ~100 threads
 * share one group, and a server in the bench's own session shares another with the bench
 * loop. Measured with eight pages opening a mesh on two cores, that server waited up to
 * 3 s runnable but not running while the pages waited on its relay. A server started in
 * its own session gets its own group; raising that group's weight (where allowed: root)
 * keeps it from starving, as a signaling server on its own machine would not.
 */
function giveOwnCpuShare(child) {
  try {
    // With autogroups switched off, threads compete one by one and nothing needs doing.
    if (readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '0') return 'no autogroups';
    writeFileSync(`/proc/${child.pid}/autogroup`, '-10');
    return 'own group, nice -10';
  } catch {
    // Not Linux, no autogroup, or not allowed: the server runs in its own group as it is.
    return 'own group';
  }
}

export function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** User + system CPU time of a process, in seconds. */
export function cpuSeconds(pid) {
  return cpuSecondsOf(statFields(readFileSync(`/proc/${pid}/stat`, 'utf8')));
}

/** The fields of a `/proc/<pid>/stat` line after the command name (state first, then the parent's pid). */
function statFields(stat) {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function cpuSecondsOf(fields) {
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU time (user + system, ms) used so far by the browser this process launched: every
 * process descending from this one whose command line names Chromium (its renderers, GPU
 * and network processes included; the servers and the load generator are not). Summed
 * over a mesh's build-up it counts what the pages cost the machine, beside how long
 * they took; on two shared cores the two go together.
 */
export function browserCpuMs() {
  /** Each process's stat fields and command line, read once: one snapshot for the tree and the times. */
  const processes = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      processes.set(pid, { fields: statFields(readFileSync(`/proc/${pid}/stat`, 'utf8')), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8') });
    } catch {
      // Gone meanwhile: its time is lost from this reading (a context closing, not during a mesh).
    }
  }
  const self = String(process.pid);
  const descends = (pid) => {
    for (let at = processes.get(pid)?.fields[1], hops = 0; at && hops < 64; at = processes.get(at)?.fields[1], hops++) if (at === self) return true;
    return false;
  };
  let ms = 0;
  for (const [pid, { fields, cmdline }] of processes) if (/chrom/i.test(cmdline) && descends(pid)) ms += cpuSecondsOf(fields) * 1000;
  return ms;
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
