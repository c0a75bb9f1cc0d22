import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { createSignalingServer, type SignalingServer } from './signaling-server.js';
import { TestClient } from './test-client.js';
import { CLOSE_ORIGIN_REFUSED } from '../protocol/index.js';

let server: SignalingServer;
const open: TestClient[] = [];

async function join(room = 'lobby', name?: string) {
  const joined = await TestClient.join(server.url, room, name);
  open.push(joined.client);
  return joined;
}

before(async () => {
  server = await createSignalingServer({ port: 0, host: '127.0.0.1', maxRoomSize: 3 });
});
after(async () => {
  for (const client of open) client.close();
  await server.close();
});

const SDP = 'v=0\r\na=ice-ufrag:abcd\r\n';

test('listens on 127.0.0.1 and reports a ws:// url', () => {
  assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
});

test('join: server-assigned id, welcome lists the room, others get new-peer', async () => {
  const a = await join('r-join', 'Ann');
  assert.match(a.welcome.id, /^[A-Za-z0-9_-]{8,}$/);
  assert.equal(a.welcome.room, 'r-join');
  assert.deepEqual(a.welcome.peers, []);
  assert.deepEqual(a.welcome.iceServers, []);
  assert.equal(a.welcome.limits.maxRoomSize, 3);
  const b = await join('r-join', 'Bo');
  assert.notEqual(b.welcome.id, a.welcome.id);
  assert.deepEqual(b.welcome.peers, [{ id: a.welcome.id, name: 'Ann' }]);
  assert.deepEqual(await a.client.next('new-peer'), { type: 'new-peer', id: b.welcome.id, name: 'Bo' });
});

test('a joiner without a name gets a default one; a missing room means the lobby', async () => {
  const client = await TestClient.open(server.url);
  open.push(client);
  client.send({ type: 'new-peer' });
  const welcome = await client.next('welcome');
  assert.equal(welcome.room, 'lobby');
  const other = await join('lobby', 'x');
  const listed = other.welcome.peers.find((p) => p.id === welcome.id);
  assert.ok(listed && listed.name.startsWith('guest-'));
});

test('offer/answer/candidate are relayed with `from` stamped by the server; a spoofed `from` is ignored', async () => {
  const a = await join('r-relay', 'a');
  const b = await join('r-relay', 'b');
  a.client.send({ type: 'offer', to: b.welcome.id, sdp: SDP, from: 'mallory' });
  assert.deepEqual(await b.client.next('offer'), { type: 'offer', from: a.welcome.id, sdp: SDP });
  b.client.send({ type: 'answer', to: a.welcome.id, sdp: SDP });
  assert.deepEqual(await a.client.next('answer'), { type: 'answer', from: b.welcome.id, sdp: SDP });
  const candidate = { candidate: 'candidate:1 1 udp 1 198.18.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  a.client.send({ type: 'candidate', to: b.welcome.id, candidate });
  assert.deepEqual(await b.client.next('candidate'), { type: 'candidate', from: a.welcome.id, candidate });
  a.client.send({ type: 'candidate', to: b.welcome.id, candidate: null });
  assert.deepEqual(await b.client.next('candidate'), { type: 'candidate', from: a.welcome.id, candidate: null });
});

test('relays never cross rooms: a peer of another room is an unknown-peer', async () => {
  const a = await join('r-x1', 'a');
  const b = await join('r-x2', 'b');
  a.client.send({ type: 'offer', to: b.welcome.id, sdp: SDP });
  const error = await a.client.next('error');
  assert.equal(error.code, 'unknown-peer');
  assert.equal(error.field, 'to');
  a.client.send({ type: 'offer', to: 'nobody', sdp: SDP });
  assert.equal((await a.client.next('error')).code, 'unknown-peer');
  // Sending to oneself is not a relay either.
  a.client.send({ type: 'offer', to: a.welcome.id, sdp: SDP });
  assert.equal((await a.client.next('error')).code, 'unknown-peer');
  await b.client.settle();
  assert.equal(b.client.received.filter((m) => m.type === 'offer').length, 0);
});

test('signaling before joining is refused; joining twice is refused', async () => {
  const client = await TestClient.open(server.url);
  open.push(client);
  client.send({ type: 'offer', to: 'someone', sdp: SDP });
  assert.equal((await client.next('error')).code, 'not-joined');
  client.send({ type: 'new-peer', room: 'r-twice' });
  await client.next('welcome');
  client.send({ type: 'new-peer', room: 'r-other' });
  assert.equal((await client.next('error')).code, 'already-joined');
});

test('bad frames get a typed error and the connection and the room keep working', async () => {
  const a = await join('r-bad', 'a');
  const b = await join('r-bad', 'b');
  const cases: [string | Buffer, boolean, string][] = [
    ['not json', false, 'bad-json'],
    ['[1,2]', false, 'not-an-object'],
    ['"text"', false, 'not-an-object'],
    ['{"type":"shout"}', false, 'unknown-type'],
    ['{"room":"x"}', false, 'missing-field'],
    ['{"type":"offer","to":"x"}', false, 'missing-field'],
    ['{"type":"offer","to":7,"sdp":"x"}', false, 'wrong-type'],
    [JSON.stringify({ type: 'offer', to: b.welcome.id, sdp: 'x'.repeat(33 * 1024) }), false, 'too-large'],
    [JSON.stringify({ type: 'candidate', to: b.welcome.id, candidate: { candidate: 'c'.repeat(2000), sdpMid: '0', sdpMLineIndex: 0 } }), false, 'too-large'],
    ['{"type":"new-peer","room":"bad room!"}', false, 'bad-value'],
    ['{"__proto__":{"type":"offer"},"type":"answer","to":"x"}', false, 'missing-field'],
    ['[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', false, 'bad-json'],
    [Buffer.from([1, 2, 3]), true, 'binary-not-supported'],
  ];
  for (const [frame, binary, code] of cases) {
    a.client.sendRaw(frame, binary);
    const error = await a.client.next('error');
    assert.equal(error.code, code, `frame ${String(frame).slice(0, 60)}`);
    assert.ok(error.message.length > 0);
  }
  // Still joined, still relaying, and b saw none of it.
  a.client.send({ type: 'offer', to: b.welcome.id, sdp: SDP });
  assert.equal((await b.client.next('offer')).from, a.welcome.id);
  await b.client.settle();
  assert.equal(b.client.received.length, 0);
  assert.equal(a.client.closed, null);
});

test('a frame larger than maxPayload closes that socket with 1009; others are unaffected', async () => {
  const small = await createSignalingServer({ port: 0, host: '127.0.0.1', maxPayload: 2048 });
  try {
    const a = await TestClient.join(small.url, 'big', 'a');
    const b = await TestClient.join(small.url, 'big', 'b');
    a.client.sendRaw('x'.repeat(4096));
    assert.equal((await a.client.waitClosed()).code, 1009);
    assert.equal((await b.client.next('peer-disconnected')).id, a.welcome.id);
    const c = await TestClient.join(small.url, 'big', 'c');
    assert.deepEqual(
      c.welcome.peers.map((p) => p.id),
      [b.welcome.id],
    );
    b.client.close();
    c.client.close();
  } finally {
    await small.close();
  }
});

test('room capacity: the next joiner gets room-full and may join another room', async () => {
  await join('r-full', '1');
  await join('r-full', '2');
  await join('r-full', '3');
  const client = await TestClient.open(server.url);
  open.push(client);
  client.send({ type: 'new-peer', room: 'r-full', name: '4' });
  const error = await client.next('error');
  assert.equal(error.code, 'room-full');
  client.send({ type: 'new-peer', room: 'r-not-full', name: '4' });
  assert.equal((await client.next('welcome')).room, 'r-not-full');
});

test('leaving: the others get peer-disconnected, and the id is gone from the room', async () => {
  const a = await join('r-leave', 'a');
  const b = await join('r-leave', 'b');
  const c = await join('r-leave', 'c');
  b.client.close();
  assert.equal((await a.client.next('peer-disconnected')).id, b.welcome.id);
  assert.equal((await c.client.next('peer-disconnected')).id, b.welcome.id);
  a.client.send({ type: 'offer', to: b.welcome.id, sdp: SDP });
  assert.equal((await a.client.next('error')).code, 'unknown-peer');
  // The freed place can be taken.
  const d = await join('r-leave', 'd');
  assert.deepEqual(new Set(d.welcome.peers.map((p) => p.name)), new Set(['a', 'c']));
});

test('heartbeat: a socket that stops answering pings is dropped and announced', async () => {
  const fast = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 100 });
  try {
    const a = await TestClient.join(fast.url, 'hb', 'a');
    // A raw client whose pong replies are switched off: it looks dead to the server.
    const dead = new WebSocket(fast.url, { autoPong: false });
    await new Promise((resolve) => dead.once('open', resolve));
    dead.send(JSON.stringify({ type: 'new-peer', room: 'hb', name: 'dead' }));
    const joined = await a.client.next('new-peer');
    const gone = await a.client.next('peer-disconnected', 3000);
    assert.equal(gone.id, joined.id);
    // The live client answered every ping and is still there.
    assert.equal(a.client.closed, null);
    assert.equal(fast.stats().clients, 1);
    a.client.close();
  } finally {
    await fast.close();
  }
});

test('GET /healthz answers JSON with rooms and clients; other paths do not leak anything', async () => {
  const fresh = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  try {
    const http = fresh.url.replace('ws://', 'http://');
    const a = await TestClient.join(fresh.url, 'h1', 'a');
    const b = await TestClient.join(fresh.url, 'h2', 'b');
    const response = await fetch(`${http}/healthz`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await response.json(), { status: 'ok', rooms: 2, clients: 2 });
    assert.equal((await fetch(`${http}/nope`)).status, 404);
    a.client.close();
    b.client.close();
  } finally {
    await fresh.close();
  }
});

test('allowed origins: another origin (or none) is closed at once with 4403 origin-refused, and nothing it sends counts', async () => {
  const strict = await createSignalingServer({ port: 0, host: '127.0.0.1', allowedOrigins: ['http://good.example'] });
  try {
    const evil = await TestClient.open(strict.url, { origin: 'http://evil.example' });
    evil.send({ type: 'new-peer', room: 'r' });
    assert.deepEqual(await evil.waitClosed(), { code: CLOSE_ORIGIN_REFUSED, reason: 'origin-refused' });
    assert.deepEqual(evil.received, [], 'never welcomed');
    const none = await TestClient.open(strict.url);
    assert.deepEqual(await none.waitClosed(), { code: 4403, reason: 'origin-refused' }, 'no Origin: the same');
    const ok = await TestClient.open(strict.url, { origin: 'http://good.example' });
    ok.send({ type: 'new-peer', room: 'r' });
    await ok.next('welcome');
    for (let i = 0; i < 100 && strict.stats().clients > 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(strict.stats(), { rooms: 1, clients: 1 }, 'the refused ones are gone');
    ok.close();
  } finally {
    await strict.close();
  }
});

test('close(): every client is told (server-shutdown) and closed with 1001', async () => {
  const closing = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  const a = await TestClient.join(closing.url, 's', 'a');
  const b = await TestClient.join(closing.url, 's', 'b');
  await closing.close();
  assert.equal((await a.client.next('error')).code, 'server-shutdown');
  assert.equal((await a.client.waitClosed()).code, 1001);
  assert.equal((await b.client.waitClosed()).code, 1001);
});
