/**
 * Node-side test harness for the client core: real Mesh instances with `ws` and
 * @roamhq/wrtc (real WebRTC), a real signaling server, and a man in the middle on one
 * client's signaling socket that a test can cut, hold back or use to inject frames (a
 * network change, or a malicious server).
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Mesh, type MeshOptions, type SocketConstructor } from '../../client/mesh.js';
import type { PeerConnectionConstructor } from '../../client/peer-link.js';
import type { MeshEventMap, MeshEventName } from '../../client/mesh-events.js';

export async function loadWrtc(): Promise<PeerConnectionConstructor | null> {
  try {
    const wrtc = (await import('@roamhq/wrtc')) as unknown as { default?: { RTCPeerConnection: PeerConnectionConstructor } };
    return wrtc.default?.RTCPeerConnection ?? null;
  } catch {
    return null;
  }
}

export function nodeMesh(PeerConnection: PeerConnectionConstructor | null, options: Omit<MeshOptions, 'WebSocket' | 'RTCPeerConnection'>): Mesh {
  return new Mesh({ ...options, WebSocket: WebSocket as unknown as SocketConstructor, RTCPeerConnection: PeerConnection });
}

/** Polls until `check` is true, or throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function record<K extends MeshEventName>(mesh: Mesh, type: K): MeshEventMap[K][] {
  const seen: MeshEventMap[K][] = [];
  mesh.addEventListener(type, (event) => seen.push(event.detail));
  return seen;
}

/** Waits until every mesh has an open direct channel to every other one. */
export async function waitForDirectMesh(meshes: readonly Mesh[], timeoutMs = 20_000): Promise<void> {
  await waitFor(
    () => meshes.every((m) => meshes.every((o) => o === m || m.peers.some((p) => p.id === o.selfId && p.transport === 'direct' && p.state === 'connected'))),
    `a direct mesh of ${meshes.length}`,
    timeoutMs,
  ).catch((error: Error) => {
    // Say what each side sees: that is where the reason is.
    throw new Error(`${error.message}; ${meshes.map((m) => `${m.selfId} (${m.status}) sees ${JSON.stringify(m.peers)}`).join('; ')}`, { cause: error });
  });
}

/**
 * A WebSocket man in the middle between clients and the real signaling server. Each
 * client connection gets its own upstream connection; frames pass both ways unless the
 * test says otherwise.
 */
export class SignalingProxy {
  readonly #server: WebSocketServer;
  readonly #pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  #refusing = false;
  /** Frames from the server to clients pass through this; return null to drop one. */
  toClient: (frame: string) => string | null = (frame) => frame;
  /** Frames from clients to the server pass through this (a hostile server reads them); return null to drop one. */
  toServer: (frame: string) => string | null = (frame) => frame;

  private constructor(
    readonly upstreamUrl: string,
    server: WebSocketServer,
  ) {
    this.#server = server;
    server.on('connection', (client) => {
      if (this.#refusing) {
        client.terminate();
        return;
      }
      const upstream = new WebSocket(upstreamUrl);
      const pair = { client, upstream };
      this.#pairs.add(pair);
      const early: string[] = [];
      upstream.on('open', () => {
        for (const frame of early.splice(0)) upstream.send(frame);
      });
      client.on('message', (data: RawData) => {
        const frame = this.toServer(data.toString());
        if (frame === null) return;
        if (upstream.readyState === WebSocket.OPEN) upstream.send(frame);
        else early.push(frame);
      });
      upstream.on('message', (data: RawData) => {
        const frame = this.toClient(data.toString());
        if (frame !== null && client.readyState === WebSocket.OPEN) client.send(frame);
      });
      const end = () => {
        this.#pairs.delete(pair);
        client.terminate();
        upstream.terminate();
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
    });
  }

  static async start(upstreamUrl: string): Promise<SignalingProxy> {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new SignalingProxy(upstreamUrl, server);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Drops every connection at once, as a network change does; `refuse` keeps new ones out too. */
  cut({ refuse = false }: { refuse?: boolean } = {}): void {
    this.#refusing = refuse;
    for (const { client, upstream } of [...this.#pairs]) {
      client.terminate();
      upstream.terminate();
    }
  }

  allow(): void {
    this.#refusing = false;
  }

  /** Sends a frame to every client as if the server had sent it. */
  inject(frame: string): void {
    for (const { client } of this.#pairs) if (client.readyState === WebSocket.OPEN) client.send(frame);
  }

  async close(): Promise<void> {
    this.cut({ refuse: true });
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Whether a command is on the PATH. */
export function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** True in the copy of a test file that runs inside its own private network namespace. */
export const INSIDE_PRIVATE_NETNS = process.env['P2P_PRIVATE_NETNS'] === '1';

/**
 * Runs a test file again inside a private network namespace of its own, where it may
 * break the network for real: `scripts/netns-run.sh` (one interface), or with `natLab`,
 * the NAT lab of `scripts/nat-lab.sh` built with that profile (it needs a mount namespace
 * too). Returns why it cannot (not root, a tool missing), or the run's status and output.
 */
export function runInPrivateNetns(
  testFile: string,
  {
    needs = [],
    natLab,
    env: extraEnv = {},
    timeoutMs = 240_000,
  }: { needs?: readonly string[]; natLab?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): { skipped: string } | { status: number | null; output: string } {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (CI runs the tests as root)' };
  const missing = ['unshare', 'ip', ...needs].filter((command) => !has(command));
  if (missing.length > 0) return { skipped: `needs ${missing.join(', ')}` };
  // Without NODE_TEST_CONTEXT, or node refuses to run tests from within a test.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  void _context;
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const test = [process.execPath, '--test', '--test-reporter=tap', testFile];
  const [command, ...args] = natLab
    ? ['unshare', '-n', '-m', '--propagation', 'private', 'sh', '-c', `sh "${root}scripts/nat-lab.sh" ${natLab} && exec "$@"`, 'nat-lab', ...test]
    : ['sh', `${root}scripts/netns-run.sh`, ...test];
  const child = spawnSync(command!, args, { env: { ...env, P2P_PRIVATE_NETNS: '1', ...extraEnv }, encoding: 'utf8', timeout: timeoutMs });
  return { status: child.status, output: `${child.stdout}${child.stderr}` };
}

/**
 * A real coturn (Debian's `turnserver`) with the TURN REST scheme our server mints for:
 * the deployment guide's config, listening and relaying on `ip`. Resolves once it
 * serves; `log()` is everything it printed.
 */
export async function startCoturn(ip: string, port: number, secret: string): Promise<{ process: ChildProcess; log: () => string }> {
  // The deployment guide's own config (deploy/turnserver.conf), with what differs here:
  // addresses and ports, the secret, a log on stdout, and coturn's own /24 allowed as
  // peers (the guide denies 198.18.0.0/15 as a private range). Only that segment: a home
  // behind a NAT lab router is private, as on the internet. Allowing it let a client ask
  // for a permission to a peer's home address, which coturn's side cannot route to, and
  // coturn 4.6 closes the whole allocation on that send's ENETUNREACH ("udp send: Network
  // is unreachable", then "closed ... reason: general"): a TURN-over-TCP peer lost its
  // only path a moment after connecting (seen under load in the NAT lab's udp-blocked).
  const config = fileURLToPath(new URL('../../../deploy/turnserver.conf', import.meta.url));
  const segment = ip.split('.').slice(0, 3).join('.');
  const child = spawn('turnserver', [
    '-c',
    config,
    '--log-file=stdout',
    '--simple-log',
    `--listening-ip=${ip}`,
    `--relay-ip=${ip}`,
    `--listening-port=${port}`,
    '--min-port=49160',
    '--max-port=49400',
    `--static-auth-secret=${secret}`,
    '--realm=p2p-chat.test',
    `--allowed-peer-ip=${segment}.0-${segment}.255`,
  ]);
  let log = '';
  child.stdout?.on('data', (chunk) => (log += chunk));
  child.stderr?.on('data', (chunk) => (log += chunk));
  try {
    await waitFor(() => /Total General servers|listener opened/i.test(log), 'coturn to start', 10_000);
  } catch (error) {
    child.kill('SIGTERM');
    throw new Error(`${(error as Error).message}: ${log}`, { cause: error });
  }
  return { process: child, log: () => log };
}
