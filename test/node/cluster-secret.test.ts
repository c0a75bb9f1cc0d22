/**
 * `--cluster-secret`: Redis is inside the service's trust boundary, and whoever shares it
 * (a co-tenant with access to the prefix) is the adversary here. With a real redis-server,
 * the real CLI as child processes, and a raw Redis client playing the co-tenant: it
 * subscribes to every process's channel and publishes frames of its own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startCliServer, TEST_SERVER_ARGS, TestClient, type CliServer } from '../../server/test-client.js';
import { waitFor } from './harness.js';

interface RedisProcess {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
const root = new URL('../../../', import.meta.url).href;
const { RedisProcess } = (await import(`${root}scripts/redis-process.mjs`)) as { RedisProcess: new () => RedisProcess };

const SECRET = 'a0f3c9e1d2b4a5968778695a4b3c2d1e0f';
const OTHER_SECRET = 'ffffffffffffffff0000000000000000';
const redis = new RedisProcess();
const servers: CliServer[] = [];
const clients: TestClient[] = [];
const raws: Redis[] = [];

before(async () => {
  await redis.start();
});
after(async () => {
  for (const client of clients) client.socket.terminate();
  for (const server of servers) server.child.kill('SIGKILL');
  for (const raw of raws) raw.disconnect();
  await redis.stop();
});

/** A process of the service with its own key prefix (each test is a service of its own). */
async function serverProcess(prefix: string, secret: string | null): Promise<CliServer & { node: string; http: string }> {
  const server = await startCliServer([
    ...TEST_SERVER_ARGS,
    '--redis',
    redis.url,
    '--redis-prefix',
    prefix,
    '--log-level',
    'warn',
    ...(secret === null ? [] : ['--cluster-secret', secret]),
  ]);
  servers.push(server);
  const http = server.url.replace('ws', 'http');
  const node = ((await (await fetch(`${http}/healthz`)).json()) as { node: string }).node;
  return { ...server, node, http };
}

async function join(url: string, room: string, name: string) {
  const client = await TestClient.open(url);
  clients.push(client);
  client.send({ type: 'new-peer', room, name, version: 3 });
  const welcome = await client.next('welcome', 5000);
  return { client, welcome };
}

/** Two processes of one service and a peer on each, who know each other. */
async function pair(prefix: string, secrets: readonly [string | null, string | null]) {
  const p1 = await serverProcess(prefix, secrets[0]);
  const p2 = await serverProcess(prefix, secrets[1]);
  const ann = await join(p1.url, 'room', 'Ann');
  const bob = await join(p2.url, 'room', 'Bob');
  await ann.client.next('new-peer', 5000);
  return { p1, p2, ann, bob };
}

/** A raw Redis connection: the co-tenant. */
function rawRedis(): Redis {
  const raw = new Redis(redis.url, { lazyConnect: false });
  raws.push(raw);
  return raw;
}

/** Everything published on the service's channels, as the co-tenant sees it. */
async function spy(prefix: string): Promise<Buffer[]> {
  const seen: Buffer[] = [];
  const raw = rawRedis();
  raw.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => seen.push(message));
  await raw.psubscribe(`${prefix}c:*`);
  return seen;
}

async function metric(http: string, name: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const match = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  assert.ok(match, `${name} in /metrics`);
  return Number(match[1]);
}

/** Waits until `check` holds (it may ask a server over HTTP). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const rejected = (reason: string) => `p2p_chat_cluster_rejected_frames_total{reason="${reason}"}`;
const SDP_MARK = 'a=ice-pwd:sdp-nobody-else-reads';
const CHAT_MARK = 'chat nobody else reads';

/**
 * The co-tenant publishes an offer "from Bob" straight onto Ann's process's channel, in
 * the clear form processes use without a secret. Then Bob sends a genuine offer through
 * his own process: Redis delivers to a subscriber in the order it took the publishes, so
 * once the genuine one is in, the forged one has been dealt with. Returns the offers Ann got.
 * (`spies`: the co-tenant's own subscriptions to the prefix, which count as receivers too.)
 */
async function forgeOffer(prefix: string, secret: string | null, spies = 0) {
  const { p1, ann, bob } = await pair(prefix, [secret, secret]);
  const forged = JSON.stringify({ type: 'offer', from: bob.welcome.id, sdp: 'v=0\r\na=forged-by-redis\r\n' });
  const receivers = await rawRedis().publish(`${prefix}c:${p1.node}`, `f${ann.welcome.id}\n${bob.welcome.id}\nroom\n${forged}`);
  assert.equal(receivers, 1 + spies, "published on Ann's process's channel");
  bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\na=genuine\r\n' });
  await waitFor(() => ann.client.received.some((m) => m.type === 'offer' && m.sdp.includes('genuine')), "Bob's genuine offer", 5000);
  await ann.client.settle();
  const offers = ann.client.received.flatMap((m) => (m.type === 'offer' ? [m.sdp] : []));
  return { p1, offers };
}

test('with --cluster-secret two processes relay offers, answers, candidates and chat as before, and Redis sees none of it in clear', async () => {
  const seen = await spy('sealed:');
  const { ann, bob } = await pair('sealed:', [SECRET, SECRET]);
  bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: `v=0\r\n${SDP_MARK}\r\n`, epoch: 'e1' });
  const offer = await ann.client.next('offer', 5000);
  assert.equal(offer.from, bob.welcome.id);
  assert.equal(offer.sdp, `v=0\r\n${SDP_MARK}\r\n`);
  ann.client.send({ type: 'answer', to: bob.welcome.id, sdp: `v=0\r\n${SDP_MARK}\r\n`, epoch: 'e1' });
  assert.equal((await bob.client.next('answer', 5000)).from, ann.welcome.id);
  const candidate = { candidate: 'candidate:1 1 udp 1 198.18.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  ann.client.send({ type: 'candidate', to: bob.welcome.id, candidate });
  assert.deepEqual((await bob.client.next('candidate', 5000)).candidate, candidate);
  const chat = { type: 'chat', id: 'abcdefghijklmnop', text: CHAT_MARK, at: 1, name: 'Ann' };
  ann.client.send({ type: 'relay', to: bob.welcome.id, message: chat });
  assert.deepEqual(await bob.client.next('relay', 5000), { type: 'relay', from: ann.welcome.id, message: chat });

  // The four frames crossed Redis sealed; nothing on the channels holds the SDP, the candidate or the chat.
  await waitFor(() => seen.filter((m) => m[0] === 0x73).length === 4, 'the four sealed frames on the spy', 5000);
  const all = Buffer.concat(seen).toString('latin1');
  for (const mark of [SDP_MARK, CHAT_MARK, '198.18.0.1', 'candidate:1']) assert.ok(!all.includes(mark), `"${mark}" is not on Redis`);
  assert.equal(seen.filter((m) => m[0] === 0x66).length, 0, 'no frame in clear');
});

test('with --cluster-secret a frame forged on Redis is not delivered: dropped, counted and logged', async () => {
  const { p1, offers } = await forgeOffer('forged:', SECRET);
  assert.deepEqual(offers, ['v=0\r\na=genuine\r\n'], 'only the genuine offer reached Ann');
  assert.equal(await metric(p1.http, rejected('unsealed')), 1);
  await waitFor(() => p1.stderr().includes('cluster-frame-rejected'), 'the rejection in the log', 5000);
  const line = p1
    .stderr()
    .split('\n')
    .find((l) => l.includes('cluster-frame-rejected'))!;
  const entry = JSON.parse(line) as { level: string; reason: string };
  assert.equal(entry.level, 'error');
  assert.equal(entry.reason, 'unsealed');
  assert.ok(!p1.stderr().includes('forged-by-redis'), 'never the contents');
});

test('without --cluster-secret the same forged frame is delivered (what the secret closes), and SDP crosses Redis in clear', async () => {
  const seen = await spy('clear:');
  const { p1, offers } = await forgeOffer('clear:', null, 1);
  assert.deepEqual(offers, ['v=0\r\na=forged-by-redis\r\n', 'v=0\r\na=genuine\r\n']);
  assert.equal(await metric(p1.http, rejected('unsealed')), 0);
  assert.ok(
    seen.some((m) => m.toString('latin1').includes('a=genuine')),
    'the genuine SDP is readable on Redis',
  );
  assert.match(p1.stderr(), /"event":"cluster-unsealed"/, 'warned at start');
});

test('a sealed frame replayed, moved to another process, or tampered with is dropped', async () => {
  const seen = await spy('replay:');
  const { p1, p2, ann, bob } = await pair('replay:', [SECRET, SECRET]);
  const p3 = await serverProcess('replay:', SECRET);
  bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\na=once\r\n' });
  await ann.client.next('offer', 5000);
  await waitFor(() => seen.some((m) => m[0] === 0x73), 'the sealed offer on the spy', 5000);
  const captured = seen.find((m) => m[0] === 0x73)!;
  const raw = rawRedis();
  // Again on Ann's process; on another process's channel; with one byte of the ciphertext
  // changed (each publish reaches the process and the spy).
  assert.equal(await raw.publish(`replay:c:${p1.node}`, captured), 2);
  assert.equal(await raw.publish(`replay:c:${p3.node}`, captured), 2);
  const tampered = Buffer.from(captured);
  tampered.writeUInt8(tampered.readUInt8(tampered.length - 20) ^ 1, tampered.length - 20);
  assert.equal(await raw.publish(`replay:c:${p1.node}`, tampered), 2);
  // Sentinel: a genuine offer after them.
  bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\na=twice\r\n' });
  assert.equal((await ann.client.next('offer', 5000)).sdp, 'v=0\r\na=twice\r\n');
  await ann.client.settle();
  assert.equal(ann.client.received.filter((m) => m.type === 'offer').length, 0, 'no replayed offer');
  assert.equal(await metric(p1.http, rejected('replayed')), 1);
  assert.equal(await metric(p1.http, rejected('forged')), 1);
  await eventually(async () => (await metric(p3.http, rejected('forged'))) === 1, 'p3 to drop the moved frame', 5000);
  assert.equal(await metric(p2.http, rejected('forged')), 0);
});

test('processes with another secret, or none, drop each other’s frames and say so; a bad secret is refused at start', async () => {
  const { p1, p2, ann, bob } = await pair('mismatch:', [SECRET, OTHER_SECRET]);
  assert.ok(!p1.stderr().includes('cluster-unsealed'), 'no warning with a secret');
  bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\n' });
  await eventually(async () => (await metric(p1.http, rejected('forged'))) === 1, 'the frame sealed with another secret to be dropped', 5000);
  await waitFor(() => /"event":"cluster-frame-rejected".*"reason":"forged"/.test(p1.stderr()), 'logged', 5000);
  await ann.client.settle();
  assert.equal(ann.client.received.filter((m) => m.type === 'offer').length, 0);

  // A process without the secret: its frames are refused by the others, theirs by it.
  const p3 = await serverProcess('mismatch:', null);
  const cy = await join(p3.url, 'room', 'Cy');
  cy.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\n' });
  ann.client.send({ type: 'offer', to: cy.welcome.id, sdp: 'v=0\r\n' });
  await eventually(async () => (await metric(p1.http, rejected('unsealed'))) === 1, 'Ann’s process to refuse the clear frame', 5000);
  await eventually(async () => (await metric(p3.http, rejected('no-secret'))) === 1, 'Cy’s process to refuse the sealed frame', 5000);
  assert.equal(await metric(p2.http, rejected('unsealed')), 0);

  const short = startCliServer([...TEST_SERVER_ARGS, '--redis', redis.url, '--cluster-secret', 'too-short']);
  await assert.rejects(short, /at least 16 characters/);
});

test('README: the Redis ACL it gives is enough for the service (with --cluster-secret-file), and keeps it to its prefix', async () => {
  const readme = readFileSync(fileURLToPath(new URL('README.md', root)), 'utf8');
  const line = /<!-- redis-acl -->\s*```sh\n(redis-cli ACL SETUSER [^\n]+)\n```\s*<!-- \/redis-acl -->/.exec(readme)?.[1];
  assert.ok(line, 'the README has the ACL');
  // Shell words: single quotes only, as written there.
  const words = line.split(' ').map((word) => word.replace(/^'(.*)'$/, '$1'));
  const admin = rawRedis();
  assert.equal(await admin.call('ACL', ...words.slice(2)), 'OK');
  const url = redis.url.replace('redis://', 'redis://p2p-chat:change-this-password@');
  const dir = mkdtempSync(joinPath(tmpdir(), 'p2p-acl-'));
  try {
    const secretFile = joinPath(dir, 'cluster-secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const args = [...TEST_SERVER_ARGS, '--redis', url, '--cluster-secret-file', secretFile, '--log-level', 'warn'];
    const [p1, p2] = [await startCliServer(args), await startCliServer(args)];
    servers.push(p1, p2);
    const ann = await join(p1.url, 'acl', 'Ann');
    const bob = await join(p2.url, 'acl', 'Bob');
    assert.equal((await ann.client.next('new-peer', 5000)).id, bob.welcome.id);
    bob.client.send({ type: 'offer', to: ann.welcome.id, sdp: 'v=0\r\n' });
    assert.equal((await ann.client.next('offer', 5000)).from, bob.welcome.id);
    bob.client.send({ type: 'rename', name: 'Robert' });
    assert.equal((await ann.client.next('peer-renamed', 5000)).name, 'Robert');
    bob.client.close();
    assert.equal((await ann.client.next('peer-disconnected', 5000)).id, bob.welcome.id);
    assert.equal(p1.stderr(), '', 'no Redis error, no rejected frame');
    // That user reaches nothing outside the prefix.
    const user = new Redis(url);
    raws.push(user);
    await assert.rejects(user.get('other-service:key'), /NOPERM/);
    await assert.rejects(user.publish('other-service:c:x', 'hi'), /NOPERM/);
    await assert.rejects(user.call('KEYS', '*'), /NOPERM/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
