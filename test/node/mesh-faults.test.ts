/**
 * Faults of the signaling path, with real Meshes (ws + @roamhq/wrtc), a real signaling
 * server and a man in the middle on the sockets: a server that goes away and comes back,
 * a client whose socket drops while the server stays up, a server that forges chat or
 * speaks a newer protocol.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { iceUfrag } from '../../protocol/sdp.js';
import { SignalingProxy, loadWrtc, nodeMesh, record, waitFor, waitForDirectMesh } from './harness.js';
import type { PeerConnectionConstructor } from '../../client/peer-link.js';
import type { Mesh } from '../../client/mesh.js';

let wrtc: PeerConnectionConstructor | null = null;
let server: SignalingServer;
const FAST = { negotiation: { offerTimeoutMs: 3000 }, reconnect: { initialDelayMs: 100, maxDelayMs: 400 } } as const;
let rooms = 0;
const room = (label: string) => `${label}-${process.pid}-${++rooms}`;

before(async () => {
  wrtc = await loadWrtc();
  server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
});
after(() => server.close());

const meshes: Mesh[] = [];
const proxies: SignalingProxy[] = [];
function track(mesh: Mesh): Mesh {
  meshes.push(mesh);
  mesh.connect();
  return mesh;
}
async function cleanup(): Promise<void> {
  for (const mesh of meshes.splice(0)) mesh.close();
  for (const proxy of proxies.splice(0)) await proxy.close();
}

function needsWrtc(t: { skip(message: string): void }): PeerConnectionConstructor | null {
  if (!wrtc) t.skip('@roamhq/wrtc is not installed (optional dependency): no WebRTC in Node');
  return wrtc;
}

test('a server that forges a chat line over a P2P link is not believed; message ids are unguessable', async (t) => {
  const pc = needsWrtc(t);
  if (!pc) return;
  try {
    const proxy = await SignalingProxy.start(server.url);
    proxies.push(proxy);
    const r = room('forge');
    const a = track(nodeMesh(pc, { server: server.url, room: r, name: 'A' }));
    await waitFor(() => a.status === 'joined', 'A joined');
    const b = track(nodeMesh(pc, { server: proxy.url, room: r, name: 'B' }));
    await waitForDirectMesh([a, b]);
    const got = record(b, 'message');
    const sent = a.send('the real one');
    assert.ok(sent.message);
    assert.match(sent.message.id, /^[0-9a-f]{32}$/, '128 random bits');
    assert.notEqual(a.send('another').message!.id.slice(0, 12), sent.message.id.slice(0, 12), 'no shared prefix to guess from');
    await waitFor(() => got.length === 2, 'B has both real messages');
    // The "server" writes in A's name through the relay, with a fresh id and with a real one.
    proxy.inject(JSON.stringify({ type: 'relay', from: a.selfId, message: { type: 'chat', id: 'forged-1', text: 'forged', at: Date.now(), name: 'A' } }));
    proxy.inject(JSON.stringify({ type: 'relay', from: a.selfId, message: { type: 'chat', id: 'forged-2', text: 'forged too', at: Date.now(), name: 'A' } }));
    // A sentinel after the forgeries, on the real path: once it is in, the forgeries had their chance.
    a.send('sentinel');
    await waitFor(() => got.some((m) => m.text === 'sentinel'), 'the sentinel arrives');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      got.map((m) => m.text),
      ['the real one', 'another', 'sentinel'],
    );
    assert.deepEqual(
      b.peers.map((p) => [p.id, p.transport]),
      [[a.selfId, 'direct']],
      'A still shown P2P, and once',
    );
  } finally {
    await cleanup();
  }
});

test("a newer server's unknown message types are ignored, and the learning log never shows the resume token", async () => {
  const proxy = await SignalingProxy.start(server.url);
  proxies.push(proxy);
  try {
    const a = nodeMesh(wrtc, { server: proxy.url, room: room('unknown'), name: 'A' });
    const errors = record(a, 'error');
    const signals = record(a, 'signal');
    track(a);
    await waitFor(() => a.status === 'joined', 'A joined');
    proxy.inject(JSON.stringify({ type: 'presence-v9', whatever: 1 }));
    proxy.inject(JSON.stringify({ type: 'not json' }).slice(0, 5));
    await waitFor(() => errors.length >= 1, 'the bad frame is reported');
    assert.deepEqual(
      errors.filter((e) => e.code !== 'webrtc-unsupported').map((e) => e.code),
      ['bad-json'],
      'the unknown type is not an error; broken JSON still is',
    );
    const logged = JSON.stringify(signals);
    assert.match(logged, /"welcome"/);
    assert.doesNotMatch(logged, /"resume":"(?!hidden")/, 'no resume token in p2p-signal');
  } finally {
    await cleanup();
  }
});

test('p2p-status says connecting and closed, not only joined', async () => {
  const a = nodeMesh(wrtc, { server: server.url, room: room('status'), name: 'A' });
  const statuses = record(a, 'status');
  try {
    track(a);
    await waitFor(() => a.status === 'joined', 'joined');
    a.close();
    assert.deepEqual(
      statuses.map((s) => s.status),
      ['connecting', 'joined', 'closed'],
    );
  } finally {
    await cleanup();
  }
});

test('an ICE restart asked for while the signaling server is away goes out after the rejoin (the pair does not wedge)', async (t) => {
  const pc = needsWrtc(t);
  if (!pc) return;
  const own = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  const port = own.port;
  let restarted: SignalingServer | null = null;
  try {
    const r = room('outage');
    const url = `ws://127.0.0.1:${port}`;
    const a = track(nodeMesh(pc, { server: url, room: r, name: 'A', ...FAST }));
    await waitFor(() => a.status === 'joined', 'A joined');
    const b = track(nodeMesh(pc, { server: url, room: r, name: 'B', ...FAST }));
    await waitForDirectMesh([a, b]);
    const offerer = a.connectionTo(b.selfId!)!;
    const before = iceUfrag(offerer.localDescription!.sdp);
    await own.close();
    await waitFor(() => a.status === 'reconnecting' && b.status === 'reconnecting', 'both notice the outage');
    // What the 4 s `disconnected` timer does after a network change, while the socket is in backoff.
    a.restartIce(b.selfId!);
    await waitFor(() => offerer.signalingState === 'have-local-offer', 'the restart offer is made');
    await new Promise((resolve) => setTimeout(resolve, 300));
    restarted = await createSignalingServer({ port, host: '127.0.0.1' });
    await waitFor(() => a.status === 'joined' && b.status === 'joined', 'both rejoin', 10_000);
    await waitFor(
      () =>
        offerer.signalingState === 'stable' && iceUfrag(offerer.remoteDescription?.sdp ?? '') !== null && iceUfrag(offerer.localDescription!.sdp) !== before,
      'the restart completes after the rejoin',
      10_000,
    );
    const got = record(b, 'message');
    a.send('after the restart');
    await waitFor(() => got.length === 1, 'chat still flows');
    assert.equal(a.connectionCount, 1);
    assert.equal(b.connectionCount, 1);
  } finally {
    await cleanup();
    await own.close();
    await restarted?.close();
  }
});

test("one client's socket drops while the server stays up: it rejoins with its id, one connection each way, nothing lost or doubled", async (t) => {
  const pc = needsWrtc(t);
  if (!pc) return;
  try {
    const proxy = await SignalingProxy.start(server.url);
    proxies.push(proxy);
    const r = room('drop');
    const a = track(nodeMesh(pc, { server: proxy.url, room: r, name: 'A', ...FAST }));
    await waitFor(() => a.status === 'joined', 'A joined');
    const b = track(nodeMesh(pc, { server: server.url, room: r, name: 'B', ...FAST }));
    await waitForDirectMesh([a, b]);
    const aId = a.selfId;
    const gotA = record(a, 'message');
    const gotB = record(b, 'message');
    proxy.cut({ refuse: true });
    await waitFor(() => a.status === 'reconnecting', 'A notices');
    // B hears A left (the server saw the socket close) and closes its side; A sends meanwhile.
    a.send('from A while its socket is down');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    proxy.allow();
    await waitFor(() => a.status === 'joined', 'A rejoins', 10_000);
    assert.equal(a.selfId, aId, 'same id');
    await waitForDirectMesh([a, b]);
    b.send('from B after');
    a.send('from A after');
    await waitFor(() => gotA.length >= 1 && gotB.some((m) => m.text === 'from A after'), 'chat both ways');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      a.peers.map((p) => [p.id, p.transport]),
      [[b.selfId, 'direct']],
      'B listed once, reached directly',
    );
    assert.deepEqual(
      b.peers.map((p) => [p.id, p.transport]),
      [[aId, 'direct']],
    );
    assert.equal(a.connectionCount, 1);
    assert.equal(b.connectionCount, 1);
    assert.deepEqual(
      gotB.map((m) => m.text),
      ['from A while its socket is down', 'from A after'],
      'what A sent during its outage arrives once',
    );
    assert.deepEqual(
      gotA.map((m) => m.text),
      ['from B after'],
    );
  } finally {
    await cleanup();
  }
});

test('a browser that refuses to make a peer connection (a policy, a setting it rejects): the pair goes through the relay at once, both sides, nothing lost', async (t) => {
  const pc = needsWrtc(t);
  if (!pc) return;
  try {
    // Refuses every connection (as Firefox does for a TURN server on a port it blocks,
    // when no ICE server is to blame: then nothing can be left out).
    class Refusing {
      constructor() {
        throw new Error('refused by policy');
      }
    }
    const r = room('refused');
    const a = track(nodeMesh(pc, { server: server.url, room: r, name: 'A' }));
    await waitFor(() => a.status === 'joined', 'A joined');
    const b = track(nodeMesh(Refusing as unknown as PeerConnectionConstructor, { server: server.url, room: r, name: 'B' }));
    const errorsB = record(b, 'error');
    const gotA = record(a, 'message');
    const gotB = record(b, 'message');
    const started = Date.now();
    await waitFor(() => a.peers[0]?.transport === 'relayed' && b.peers[0]?.transport === 'relayed', 'both on the relay', 10_000);
    // B told A (bye): A does not wait out its connect watch.
    assert.ok(Date.now() - started < 5000, `both relayed after ${Date.now() - started} ms`);
    assert.equal(b.pathTo(a.selfId!), 'server');
    assert.match(errorsB.find((e) => e.code === 'webrtc-unsupported')?.message ?? '', /Cannot create a peer connection to A: refused by policy/);
    a.send('to B');
    b.send('to A');
    await waitFor(() => gotA.length === 1 && gotB.length === 1, 'both messages');
  } finally {
    await cleanup();
  }
});

test('a peer announced as returning (a reload) is waited for: no relay, no leave; gone for good after the grace', async (t) => {
  const pc = needsWrtc(t);
  if (!pc) return;
  try {
    const proxy = await SignalingProxy.start(server.url);
    proxies.push(proxy);
    const r = room('returning');
    const grace = 1500;
    const b = track(nodeMesh(pc, { server: server.url, room: r, name: 'B', returnGraceMs: grace }));
    await waitFor(() => b.status === 'joined', 'B joined');
    const a = track(nodeMesh(pc, { server: proxy.url, room: r, name: 'A', persist: true, reconnect: false }));
    await waitForDirectMesh([a, b]);
    const aId = a.selfId!;
    const leaves = record(b, 'peer-leave');
    const errors = record(b, 'error');
    const states = record(b, 'peer-state');
    // A's page goes away without a word: its socket drops, then its connections close.
    proxy.cut({ refuse: true });
    await waitFor(() => states.some((s) => s.id === aId && s.state === 'reconnecting'), 'B waits for A');
    const since = Date.now();
    a.close();
    assert.deepEqual(
      b.peers.map((p) => [p.id, p.state]),
      [[aId, 'reconnecting']],
    );
    await waitFor(() => leaves.length === 1, 'A is gone for good', 10_000);
    assert.ok(Date.now() - since >= grace - 300, `not before the grace (${Date.now() - since} ms)`);
    assert.deepEqual(leaves, [{ id: aId }]);
    assert.deepEqual(
      errors.filter((e) => e.code === 'peer-failed'),
      [],
      'never sent to the relay meanwhile',
    );
    assert.deepEqual(b.peers, []);
  } finally {
    await cleanup();
  }
});
