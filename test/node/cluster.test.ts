/**
 * Several signaling processes sharing rooms through a real redis-server (started here on a
 * free port, persistence off): the real CLI as child processes, real sockets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVER_BIN, startCliServer, TEST_SERVER_ARGS, TestClient, type CliServer } from '../../server/test-client.js';
import type { ServerMessage } from '../../protocol/index.js';
import { waitFor } from './harness.js';

interface RedisProcess {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
const root = new URL('../../../', import.meta.url).href;
const { RedisProcess } = (await import(`${root}scripts/redis-process.mjs`)) as { RedisProcess: new () => RedisProcess };
const { freePort } = (await import(`${root}scripts/free-port.mjs`)) as { freePort(): Promise<number> };

const redis = new RedisProcess();
const servers: CliServer[] = [];
const clients: TestClient[] = [];

before(async () => {
  await redis.start();
});
after(async () => {
  for (const client of clients) client.socket.terminate();
  for (const server of servers) server.child.kill('SIGKILL');
  await redis.stop();
});

/** A server process of the cluster (grace 2 s, so the tests of a dead process stay short). */
async function serverProcess(extra: readonly string[] = []): Promise<CliServer> {
  const server = await startCliServer([...TEST_SERVER_ARGS, '--redis', redis.url, '--redis-grace', '2', '--log-level', 'warn', ...extra]);
  servers.push(server);
  return server;
}

async function open(url: string): Promise<TestClient> {
  const client = await TestClient.open(url);
  clients.push(client);
  return client;
}

async function join(url: string, room: string, name?: string, resume?: string) {
  const client = await open(url);
  client.send({ type: 'new-peer', room, version: 3, ...(name ? { name } : {}), ...(resume ? { resume } : {}) });
  const welcome = await client.next('welcome', 5000);
  return { client, welcome };
}

async function health(server: CliServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url.replace('ws', 'http')}/healthz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const ofType = (client: TestClient, type: ServerMessage['type']) => client.received.filter((m) => m.type === type);

test('peers on two processes see each other and signal as on one process, never across rooms', async () => {
  const [p1, p2] = [await serverProcess(), await serverProcess()];
  const ann = await join(p1.url, 'two', 'Ann');
  const bob = await join(p2.url, 'two', 'Bob');
  assert.deepEqual(bob.welcome.peers, [{ id: ann.welcome.id, name: 'Ann', version: 3 }]);
  assert.deepEqual(await ann.client.next('new-peer'), { type: 'new-peer', id: bob.welcome.id, name: 'Bob', version: 3 });

  // Offer, answer, candidate and relayed chat cross processes, stamped with the sender.
  bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\n', epoch: 'e1' });
  const offer = await ann.client.next('offer');
  assert.equal(offer.from, bob.welcome.id);
  ann.client.send({ type: 'answer', to: bob.welcome.id, sdp: 'v=0\r\n', epoch: 'e1' });
  assert.equal((await bob.client.next('answer')).from, ann.welcome.id);
  ann.client.send({
    type: 'candidate',
    to: bob.welcome.id,
    candidate: { candidate: 'candidate:1 1 udp 1 198.18.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  });
  assert.equal((await bob.client.next('candidate')).from, ann.welcome.id);
  const chat = { type: 'chat', id: 'abcdefghijklmnop', text: 'hello across processes', at: 1, name: 'Ann' };
  ann.client.send({ type: 'relay', to: bob.welcome.id, message: chat });
  assert.deepEqual(await bob.client.next('relay'), { type: 'relay', from: ann.welcome.id, message: chat });

  // A peer of another room, on the other process, is unknown here.
  const eve = await join(p2.url, 'elsewhere', 'Eve');
  ann.client.send({ type: 'offer', to: eve.welcome.id, sdp: 'v=0\r\n' });
  assert.equal((await ann.client.next('error')).code, 'unknown-peer');
  await eve.client.settle();
  assert.equal(ofType(eve.client, 'offer').length, 0);
  assert.equal(ofType(eve.client, 'new-peer').length, 0);

  bob.client.close();
  assert.deepEqual(await ann.client.next('peer-disconnected'), { type: 'peer-disconnected', id: bob.welcome.id });
  const report = await health(p1);
  assert.equal(report.status, 200);
  assert.equal(report.body['redis'], 'up');
  assert.equal(typeof report.body['pid'], 'number');
});

test('the room cap holds across processes when 50 joins race', async () => {
  const processes = [await serverProcess(), await serverProcess(), await serverProcess()];
  const sockets = await Promise.all(Array.from({ length: 50 }, (_, k) => open(processes[k % 3]!.url)));
  for (const socket of sockets) socket.send({ type: 'new-peer', room: 'race', version: 3 });
  const outcomes = await Promise.all(
    sockets.map(async (socket) => {
      await waitFor(() => socket.received.some((m) => m.type === 'welcome' || m.type === 'error'), 'a welcome or an error', 10_000);
      return socket.received.find((m) => m.type === 'welcome' || m.type === 'error')!;
    }),
  );
  const welcomed = outcomes.filter((m) => m.type === 'welcome');
  const refused = outcomes.filter((m) => m.type === 'error');
  assert.equal(welcomed.length, 10);
  assert.equal(refused.length, 40);
  assert.ok(refused.every((m) => m.type === 'error' && m.code === 'room-full'));
  // Everyone inside knows the nine others exactly once: from the welcome or a new-peer.
  const inside = sockets.filter((s) => s.received.some((m) => m.type === 'welcome'));
  await waitFor(
    () =>
      inside.every(
        (s) =>
          s.received.filter((m) => m.type === 'new-peer').length +
            (s.received.find((m) => m.type === 'welcome') as Extract<ServerMessage, { type: 'welcome' }>).peers.length ===
          9,
      ),
    'everyone to know the nine others',
    10_000,
  );
  for (const socket of inside) {
    const welcome = socket.received.find((m) => m.type === 'welcome') as Extract<ServerMessage, { type: 'welcome' }>;
    const known = [...welcome.peers.map((p) => p.id), ...socket.received.flatMap((m) => (m.type === 'new-peer' ? [m.id] : []))];
    assert.equal(new Set(known).size, 9);
    assert.ok(!known.includes(welcome.id));
  }
});

test('a resume token keeps its id on another process; a stolen token replaces the first connection there too', async () => {
  const [p1, p2] = [await serverProcess(), await serverProcess()];
  const ann = await join(p1.url, 'resume', 'Ann');
  const bob = await join(p2.url, 'resume', 'Bob');
  await ann.client.next('new-peer');

  // Ann comes back through the other process while her first connection is still open
  // (as after a network change, before the server notices): the first one is closed (1008).
  const again = await join(p2.url, 'resume', 'Ann', ann.welcome.resume);
  assert.equal(again.welcome.id, ann.welcome.id);
  assert.deepEqual(
    again.welcome.peers.map((p) => p.id),
    [bob.welcome.id],
  );
  assert.equal((await ann.client.waitClosed(5000)).code, 1008);
  // Bob hears her again (his link to her stays), and never that she left.
  assert.equal((await bob.client.next('new-peer')).id, ann.welcome.id);

  // Someone else with Ann's token on process 1: the connection on process 2 is closed (1008).
  const thief = await join(p1.url, 'resume', 'Ann', ann.welcome.resume);
  assert.equal(thief.welcome.id, ann.welcome.id);
  assert.equal((await again.client.waitClosed(5000)).code, 1008);
  await bob.client.next('new-peer');
  await bob.client.settle();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(ofType(bob.client, 'peer-disconnected').length, 0);
  // Still one Ann in the room: a newcomer sees Bob and her once.
  const cy = await join(p2.url, 'resume', 'Cy');
  assert.deepEqual(cy.welcome.peers.map((p) => p.id).sort(), [ann.welcome.id, bob.welcome.id].sort());
});

test('a process killed with SIGKILL: its peers that do not come back elsewhere are announced gone after the grace', async () => {
  const [p1, p2, p3] = [await serverProcess(), await serverProcess(), await serverProcess()];
  const ann = await join(p1.url, 'crash', 'Ann');
  const bob = await join(p3.url, 'crash', 'Bob');
  const cy = await join(p3.url, 'crash', 'Cy');
  await waitFor(() => ofType(ann.client, 'new-peer').length === 2, 'Ann to hear of Bob and Cy');
  p3.child.kill('SIGKILL');
  const killedAt = Date.now();
  await bob.client.waitClosed(5000);
  // Bob comes back through process 2 with his token; Cy never does.
  const bobAgain = await join(p2.url, 'crash', 'Bob', bob.welcome.resume);
  assert.equal(bobAgain.welcome.id, bob.welcome.id);
  const gone = await ann.client.next('peer-disconnected', 15_000);
  const after = Date.now() - killedAt;
  assert.equal(gone.id, cy.welcome.id);
  // Liveness expiry (3 s) plus the grace (2 s), give or take a tick; never before the grace.
  assert.ok(after >= 2000 && after < 9000, `announced after ${after} ms`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(ofType(ann.client, 'peer-disconnected').length, 0, 'Bob, who came back, is not announced gone');
  assert.equal(ofType(bobAgain.client, 'peer-disconnected').filter((m) => m.type === 'peer-disconnected' && m.id === cy.welcome.id).length, 1);
});

test('Redis stopped and started again under load: no crash, 503 and refused joins meanwhile, then everything works again', async () => {
  const [p1, p2] = [await serverProcess(), await serverProcess()];
  const ann = await join(p1.url, 'outage', 'Ann');
  const amy = await join(p1.url, 'outage', 'Amy');
  const bob = await join(p2.url, 'outage', 'Bob');
  await waitFor(() => ofType(ann.client, 'new-peer').length === 2, 'Ann to hear of Amy and Bob');

  // Load: Ann keeps relaying candidates to Bob (other process) and Amy (same process).
  const candidate = { candidate: 'candidate:1 1 udp 1 198.18.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  let sending = true;
  const load = (async () => {
    while (sending) {
      ann.client.send({ type: 'candidate', to: bob.welcome.id, candidate });
      ann.client.send({ type: 'candidate', to: amy.welcome.id, candidate });
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  })();

  await redis.stop();
  await waitFor(() => true, 'now');
  for (const server of [p1, p2]) {
    let report = await health(server);
    const deadline = Date.now() + 5000;
    while (report.status !== 503 && Date.now() < deadline) report = await health(server);
    assert.equal(report.status, 503);
    assert.equal(report.body['status'], 'redis-down');
  }
  // A join is refused with a clear code, and sent on (1013: another server, or later).
  const late = await open(p2.url);
  late.send({ type: 'new-peer', room: 'outage', version: 3 });
  assert.equal((await late.next('error', 5000)).code, 'server-unavailable');
  assert.equal((await late.waitClosed(5000)).code, 1013);
  // Peers on the same process still signal each other; nobody was dropped.
  const before = ofType(amy.client, 'candidate').length;
  await waitFor(() => ofType(amy.client, 'candidate').length > before + 3, 'Amy to keep getting candidates', 5000);
  assert.equal(ann.client.closed, null);
  assert.equal(bob.client.closed, null);

  await redis.start(); // the same port, its data gone
  for (const server of [p1, p2]) {
    const deadline = Date.now() + 10_000;
    let report = await health(server);
    while (report.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      report = await health(server);
    }
    assert.equal(report.status, 200);
    assert.equal(server.child.exitCode, null, 'the process is still running');
  }
  // The processes put their peers back: a newcomer sees all three, and signals reach Bob again.
  const cy = await join(p2.url, 'outage', 'Cy');
  assert.deepEqual(cy.welcome.peers.map((p) => p.name).sort(), ['Amy', 'Ann', 'Bob']);
  const bobBefore = ofType(bob.client, 'candidate').length;
  await waitFor(() => ofType(bob.client, 'candidate').length > bobBefore + 3, 'Bob to get candidates again', 5000);
  sending = false;
  await load;
  assert.equal(ofType(ann.client, 'peer-disconnected').length, 0);
  assert.equal(ofType(bob.client, 'peer-disconnected').length, 0);
});

test('/metrics counts joins, leaves, relayed and refused frames, clients and rooms in the Prometheus format', async () => {
  const p1 = await serverProcess();
  const ann = await join(p1.url, 'metrics', 'Ann');
  const bob = await join(p1.url, 'metrics', 'Bob');
  ann.client.send({ type: 'offer', to: bob.welcome.id, sdp: 'v=0\r\n' });
  await bob.client.next('offer');
  ann.client.send({ type: 'offer', to: 'nobody', sdp: 'v=0\r\n' });
  await ann.client.next('error');
  bob.client.close();
  await ann.client.next('peer-disconnected');
  const response = await fetch(`${p1.url.replace('ws', 'http')}/metrics`);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const value = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1]);
  assert.equal(value('p2p_chat_joins_total'), 2);
  assert.equal(value('p2p_chat_leaves_total'), 1);
  assert.equal(value('p2p_chat_relayed_frames_total'), 1);
  assert.equal(value('p2p_chat_refused_frames_total{code="unknown-peer"}'), 1);
  assert.equal(value('p2p_chat_clients'), 1);
  assert.equal(value('p2p_chat_rooms'), 1);
  assert.equal(value('p2p_chat_redis_up'), 1);
  assert.match(text, /^# TYPE p2p_chat_joins_total counter$/m);
});

test('README, "Running more than one server": its three processes and Redis, run as written (ports aside), make one service', async () => {
  const readme = readFileSync(fileURLToPath(new URL('README.md', root)), 'utf8');
  const block = /<!-- cluster-example -->\s*```sh\n([\s\S]*?)```\s*<!-- \/cluster-example -->/.exec(readme)?.[1];
  assert.ok(block, 'the README has the example');
  const commands = block
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map((word) => (word === "''" ? '' : word)));
  // Each port of the example becomes a free one, the same everywhere it appears.
  const ports = new Map<string, string>();
  for (const words of commands) for (const word of words) if (/^\d{4}$/.test(word) || /:\d{4}$/.test(word)) ports.set(word.slice(-4), '');
  for (const port of ports.keys()) ports.set(port, String(await freePort()));
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  try {
    for (const words of commands) {
      const args = words.map((word) => word.replace(/\d{4}$/, (port) => ports.get(port) ?? port));
      const [command, ...rest] = args;
      assert.ok(command === 'redis-server' || command === 'p2p-chat-server', `an example command: ${command}`);
      const child =
        command === 'redis-server'
          ? spawn('redis-server', [...rest, '--bind', '127.0.0.1'])
          : spawn(process.execPath, [SERVER_BIN, ...rest, '--host', '127.0.0.1']);
      children.push(child);
      let out = '';
      child.stdout?.on('data', (chunk) => (out += chunk));
      await waitFor(
        () => (command === 'redis-server' ? /Ready to accept connections/.test(out) : /listening on (ws:\S+)/.test(out)),
        `${command} to start`,
        10_000,
      );
      if (command === 'p2p-chat-server') urls.push(/listening on (ws:\S+)/.exec(out)![1]!);
    }
    assert.equal(urls.length, 3);
    const joined = [];
    for (const url of urls) joined.push(await join(url, 'lobby'));
    for (const [k, { client, welcome }] of joined.entries()) {
      await waitFor(() => welcome.peers.length + ofType(client, 'new-peer').length === 2, `peer ${k} to know the two others`, 5000);
    }
    for (const url of urls) {
      const report = await fetch(`${url.replace('ws', 'http')}/healthz`);
      assert.equal(((await report.json()) as { redis: string }).redis, 'up');
    }
  } finally {
    for (const child of children.reverse()) child.kill('SIGKILL');
  }
});

test('persist across processes: a reload on one process is announced as returning on the other, and comes back with its id', async () => {
  const [p1, p2] = [await serverProcess(), await serverProcess()];
  const stay = await join(p2.url, 'reload', 'Stay');
  const kit = await open(p1.url);
  kit.send({ type: 'new-peer', room: 'reload', name: 'Kit', persist: true, version: 8 });
  const welcome = await kit.next('welcome', 5000);
  await stay.client.next('new-peer', 5000);
  kit.socket.terminate();
  assert.deepEqual(await stay.client.next('peer-disconnected', 5000), { type: 'peer-disconnected', id: welcome.id, returning: true });
  // Back through the other process, with its id.
  const again = await open(p2.url);
  again.send({ type: 'new-peer', room: 'reload', name: 'Kit', persist: true, version: 8, resume: welcome.resume });
  assert.equal((await again.next('welcome', 5000)).id, welcome.id);
  assert.equal((await stay.client.next('new-peer', 5000)).id, welcome.id);
  // A clean close is a plain leave.
  again.close();
  assert.deepEqual(await stay.client.next('peer-disconnected', 5000), { type: 'peer-disconnected', id: welcome.id });
});

test('rename across processes: told on the other process, kept in Redis for a later joiner there', async () => {
  const [p1, p2] = [await serverProcess(), await serverProcess()];
  const ann = await join(p1.url, 'names', 'Ann');
  const bob = await join(p2.url, 'names', 'Bob');
  const local = await join(p1.url, 'names', 'Local');
  await ann.client.next('new-peer', 5000);
  bob.client.send({ type: 'rename', name: 'Robert' });
  assert.deepEqual(await ann.client.next('peer-renamed', 5000), { type: 'peer-renamed', id: bob.welcome.id, name: 'Robert' });
  assert.deepEqual(await local.client.next('peer-renamed', 5000), { type: 'peer-renamed', id: bob.welcome.id, name: 'Robert' });
  const later = await join(p1.url, 'names', 'Later');
  assert.equal(later.welcome.peers.find((p) => p.id === bob.welcome.id)?.name, 'Robert');
  // Bob's own process tells its members at once too.
  const near = await join(p2.url, 'names', 'Near');
  ann.client.send({ type: 'rename', name: 'Annie' });
  assert.deepEqual(await near.client.next('peer-renamed', 5000), { type: 'peer-renamed', id: ann.welcome.id, name: 'Annie' });
  assert.deepEqual(await bob.client.next('peer-renamed', 5000), { type: 'peer-renamed', id: ann.welcome.id, name: 'Annie' });
});
