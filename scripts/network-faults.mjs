// Real network faults for the browser tests (server commands "network" and
// "signaling-proxy"):
// - "network": cuts the path between pages with nftables: every packet to or from the
//   namespace's own addresses (198.18.0.0/15) is dropped, which is where browsers'
//   WebRTC candidates live; loopback (the signaling servers, the test runner, the
//   browser drivers) keeps working. Only ever inside a private network namespace (as
//   `.ci/run` runs the tests): in the machine's own namespace it refuses, so a developer
//   running the tests as root never has their network cut.
// - "signaling-proxy": a man in the middle in front of the signaling server whose
//   connections a test can drop while the server stays up.
import { execFileSync, spawnSync } from 'node:child_process';
import { SignalingProxy } from '../build/test/node/harness.js';

const TABLE = 'p2p_browser_fault';

/** Why faults cannot be made here, or null when they can. */
export function faultsUnavailable() {
  if (process.getuid?.() !== 0) return 'needs root (CI runs the tests as root in a private network namespace)';
  if (spawnSync('sh', ['-c', 'command -v nft']).status !== 0) return 'needs nft (apt-get install nftables)';
  // A private test namespace has loopback and 198.18.0.0/15 (RFC 2544) addresses only,
  // so the cut below can only ever touch the tests' own traffic.
  const listing = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' });
  if (listing.status !== 0) return 'needs ip (iproute2)';
  const addresses = [...listing.stdout.matchAll(/\binet6? ([0-9a-f.:]+)\//gi)].map((m) => m[1].toLowerCase());
  const ours = (a) => a === '127.0.0.1' || /^127\./.test(a) || a === '::1' || /^fe[89ab]/.test(a) || /^198\.(18|19)\./.test(a);
  if (!addresses.some((a) => /^198\.(18|19)\./.test(a)) || !addresses.every(ours)) {
    return 'runs only inside a private network namespace with 198.18.0.0/15 addresses (../shared/netns-run.sh npm test, as .ci/run does)';
  }
  return null;
}

export async function networkCommand(payload) {
  const unavailable = faultsUnavailable();
  if (payload?.action === 'status') return { available: unavailable === null, reason: unavailable };
  if (unavailable) throw new Error(`network faults: ${unavailable}`);
  if (payload?.action === 'cut') {
    // Every path a browser's candidates could take (198.18.0.0/15, IPv6 link-local); loopback stays.
    const rules = `table inet ${TABLE} {\n chain out {\n  type filter hook output priority 0; policy accept;\n  ip daddr 198.18.0.0/15 drop\n  ip saddr 198.18.0.0/15 drop\n  ip6 daddr != ::1 drop\n }\n}\n`;
    execFileSync('nft', ['-f', '-'], { input: rules });
    return { cut: true };
  }
  if (payload?.action === 'restore') {
    restore();
    return { cut: false };
  }
  throw new Error(`network: unknown action ${payload?.action}`);
}

/** Idempotent: a test that failed half-way leaves nothing behind. */
export function restore() {
  spawnSync('nft', ['delete', 'table', 'inet', TABLE], { stdio: 'ignore' });
}

const proxies = new Map();
let nextProxy = 0;

export async function signalingProxyCommand(payload, upstreamUrl) {
  switch (payload?.action) {
    case 'start': {
      const proxy = await SignalingProxy.start(upstreamUrl);
      const id = String(++nextProxy);
      proxies.set(id, proxy);
      return { id, url: proxy.url };
    }
    case 'cut':
      proxies.get(payload.id)?.cut({ refuse: payload.refuse === true });
      return { ok: true };
    case 'allow':
      proxies.get(payload.id)?.allow();
      return { ok: true };
    case 'stop':
      await proxies.get(payload.id)?.close();
      proxies.delete(payload.id);
      return { ok: true };
    default:
      throw new Error(`signaling-proxy: unknown action ${payload?.action}`);
  }
}

export async function closeProxies() {
  for (const proxy of proxies.values()) await proxy.close();
  proxies.clear();
  restore();
}

// A receiver that stops reading (a phone on a bad link): a real ws client in this process
// whose socket is paused, for the flooding test (server command "slow-receiver").
const receivers = new Map();
let nextReceiver = 0;

export async function slowReceiverCommand(payload, url) {
  const { WebSocket } = await import('ws');
  switch (payload?.action) {
    case 'start': {
      const socket = new WebSocket(url);
      const state = { socket, closeCode: null, welcome: null, received: 0 };
      socket.on('message', (data) => {
        state.received++;
        const message = JSON.parse(data.toString());
        if (message.type === 'welcome') state.welcome = message;
      });
      socket.on('close', (code) => (state.closeCode = code));
      socket.on('error', () => {});
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      socket.send(JSON.stringify({ type: 'new-peer', room: payload.room, name: 'slow' }));
      for (let i = 0; i < 100 && !state.welcome; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      const id = String(++nextReceiver);
      receivers.set(id, state);
      // From now on it does not read: the server's queue for it grows.
      socket._socket.pause();
      return { id, peerId: state.welcome?.id ?? null };
    }
    case 'status': {
      const state = receivers.get(payload.id);
      return { closeCode: state?.closeCode ?? null, received: state?.received ?? 0 };
    }
    case 'resume':
      receivers.get(payload.id)?.socket._socket.resume();
      return { ok: true };
    case 'stop':
      receivers.get(payload.id)?.socket.terminate();
      receivers.delete(payload.id);
      return { ok: true };
    default:
      throw new Error(`slow-receiver: unknown action ${payload?.action}`);
  }
}

export function closeReceivers() {
  for (const state of receivers.values()) state.socket.terminate();
  receivers.clear();
}
