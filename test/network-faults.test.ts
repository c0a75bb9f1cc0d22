/**
 * Real faults in real browsers: the path between two pages cut with nftables inside the
 * run's private network namespace (ICE really fails on both sides: no state is faked),
 * a signaling socket dropped while the server stays up, and both at once (a network
 * change). Each checks that no message among the peers is lost or doubled, that nobody
 * is listed twice, and that the transport shown is the real one.
 *
 * The cuts need root inside a private namespace (CI); elsewhere these tests are skipped
 * and say why. The last test needs neither: a browser floods a receiver that stops
 * reading (a real socket, paused in the test runner's process).
 */
import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import { Mesh } from '../client/mesh.js';
import type { MessageDetail } from '../client/mesh-events.js';
import { signalingUrl, smallQueuesUrl, uniqueRoom, waitUntil } from './helpers.js';

const network = (action: 'status' | 'cut' | 'restore') =>
  executeServerCommand<{ available?: boolean; reason?: string | null }, { action: string }>('network', { action });
const proxy = <T = { ok: boolean }>(payload: { action: string; id?: string; refuse?: boolean }) =>
  executeServerCommand<T, typeof payload>('signaling-proxy', payload);

const FAST = { disconnectedTimeoutMs: 1000, iceRestartTimeoutMs: 3000, maxIceRestarts: 1, offerTimeoutMs: 3000 };
const RECONNECT = { initialDelayMs: 100, maxDelayMs: 400 };

function messagesOf(mesh: Mesh): MessageDetail[] {
  const got: MessageDetail[] = [];
  mesh.addEventListener('message', (event) => got.push(event.detail));
  return got;
}
const transportTo = (mesh: Mesh, other: Mesh) => mesh.peers.filter((p) => p.id === other.selfId).map((p) => `${p.transport}/${p.state}`);
const directBoth = (a: Mesh, b: Mesh) => transportTo(a, b)[0] === 'direct/connected' && transportTo(b, a)[0] === 'direct/connected';
const texts = (list: readonly MessageDetail[]) => list.map((m) => m.text);

describe('real network faults', function () {
  let meshes: Mesh[] = [];
  before(async function () {
    const status = await network('status');
    if (!status?.available) {
      console.log(`network faults skipped: ${status?.reason}`);
      this.skip();
    }
  });
  afterEach(async () => {
    await network('restore');
    for (const mesh of meshes) mesh.close();
    meshes = [];
  });

  async function pair(serverA: string, serverB: string, negotiation = FAST): Promise<[Mesh, Mesh]> {
    const room = uniqueRoom('fault');
    const a = new Mesh({ server: serverA, room, name: 'A', negotiation, reconnect: RECONNECT });
    const b = new Mesh({ server: serverB, room, name: 'B', negotiation, reconnect: RECONNECT });
    meshes.push(a, b);
    a.connect();
    await waitUntil(() => a.status === 'joined', 'A joined');
    b.connect();
    await waitUntil(() => directBoth(a, b), 'a direct connection both ways');
    return [a, b];
  }

  it('ICE really fails on both sides: both switch to the relay together, and what went into the dead channels arrives once', async () => {
    const [a, b] = await pair(signalingUrl(), signalingUrl());
    const gotA = messagesOf(a);
    const gotB = messagesOf(b);
    await network('cut');
    const cutAt = performance.now();
    // The path under the channels is gone. Each side takes these: sent on a channel that
    // still reads open, or (Firefox, now and then, if its channel closed at once) queued for
    // whatever carries the pair next. Either way they must arrive once, below.
    const taken = (result: { sent: readonly string[]; queued: readonly string[] }) => [...result.sent, ...result.queued];
    expect(taken(a.send('A into the dead channel'))).to.deep.equal([b.selfId]);
    expect(taken(b.send('B into the dead channel'))).to.deep.equal([a.selfId]);
    await waitUntil(() => transportTo(a, b)[0] === 'relayed/connected' && transportTo(b, a)[0] === 'relayed/connected', 'both sides on the relay', 60_000);
    console.log(`both on the relay ${Math.round(performance.now() - cutAt)} ms after the cut`);
    a.send('A relayed');
    b.send('B relayed');
    await waitUntil(() => gotA.length >= 2 && gotB.length >= 2, 'everything arrives', 15_000);
    // A sentinel last: once it is in, any duplicate would be too.
    a.send('sentinel');
    await waitUntil(() => gotB.some((m) => m.text === 'sentinel'), 'the sentinel');
    expect(texts(gotB)).to.deep.equal(['A into the dead channel', 'A relayed', 'sentinel']);
    expect(texts(gotA)).to.deep.equal(['B into the dead channel', 'B relayed']);
    expect(a.peers.length).to.equal(1);
    expect(b.peers.length).to.equal(1);
    expect(a.connectionCount + b.connectionCount, 'no direct connection is claimed').to.equal(0);
  });

  it('a socket drops while the server stays up: the same id comes back, one connection each, nothing lost or doubled', async () => {
    const { id, url } = await proxy<{ id: string; url: string }>({ action: 'start' });
    try {
      const [a, b] = await pair(url, signalingUrl());
      const aId = a.selfId;
      const gotA = messagesOf(a);
      const gotB = messagesOf(b);
      await proxy({ action: 'cut', id, refuse: true });
      await waitUntil(() => a.status === 'reconnecting', 'A notices');
      a.send('A while its socket is down');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await proxy({ action: 'allow', id });
      await waitUntil(() => a.status === 'joined', 'A rejoins', 10_000);
      expect(a.selfId).to.equal(aId);
      await waitUntil(() => directBoth(a, b), 'direct again', 20_000);
      a.send('A after');
      b.send('B after');
      await waitUntil(() => gotA.length >= 1 && gotB.length >= 2, 'chat both ways', 10_000);
      b.send('sentinel');
      await waitUntil(() => gotA.some((m) => m.text === 'sentinel'), 'the sentinel');
      expect(texts(gotB)).to.deep.equal(['A while its socket is down', 'A after']);
      expect(texts(gotA)).to.deep.equal(['B after', 'sentinel']);
      expect(a.peers.map((p) => p.id)).to.deep.equal([b.selfId]);
      expect(b.peers.map((p) => p.id)).to.deep.equal([aId]);
      expect(a.connectionCount).to.equal(1);
      expect(b.connectionCount).to.equal(1);
    } finally {
      await proxy({ action: 'stop', id });
    }
  });

  it('a network change (socket and path gone together, then back): a new connection, not a confused old one', async () => {
    const { id, url } = await proxy<{ id: string; url: string }>({ action: 'start' });
    try {
      const [a, b] = await pair(url, signalingUrl(), { ...FAST, maxIceRestarts: 5 });
      const old = a.connectionTo(b.selfId!);
      const gotA = messagesOf(a);
      const gotB = messagesOf(b);
      await network('cut');
      await proxy({ action: 'cut', id, refuse: true });
      await waitUntil(() => a.status === 'reconnecting', 'A notices the socket drop');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await network('restore');
      await proxy({ action: 'allow', id });
      await waitUntil(() => a.status === 'joined', 'A rejoins', 10_000);
      await waitUntil(() => directBoth(a, b) && a.connectionTo(b.selfId!) !== old, 'a new direct connection', 30_000);
      a.send('A after the change');
      b.send('B after the change');
      await waitUntil(() => gotA.length >= 1 && gotB.length >= 1, 'chat both ways', 10_000);
      expect(texts(gotA)).to.deep.equal(['B after the change']);
      expect(texts(gotB)).to.deep.equal(['A after the change']);
      expect(old?.connectionState).to.equal('closed');
      expect(a.connectionCount + b.connectionCount).to.equal(2);
    } finally {
      await proxy({ action: 'stop', id });
    }
  });
});

describe('a slow receiver and a flooding sender', () => {
  const slow = <T>(payload: { action: string; id?: string; room?: string }) => executeServerCommand<T, typeof payload>('slow-receiver', payload);

  it('the flooder is stopped (receiver-busy), the slow receiver and the room stay', async () => {
    const url = smallQueuesUrl();
    const room = uniqueRoom('flood');
    const bystander = new Mesh({ server: url, room, name: 'bystander' });
    bystander.connect();
    await waitUntil(() => bystander.status === 'joined', 'the bystander joined');
    const victim = (await slow<{ id: string; peerId: string }>({ action: 'start', room }))!;
    expect(victim.peerId).to.be.a('string');
    // The flooder: a page that joins and sends the slow peer large offers as fast as it may.
    const flooder = new WebSocket(url);
    const errors: string[] = [];
    let flooderClose: number | null = null;
    flooder.addEventListener('message', (event) => {
      const message = JSON.parse(event.data as string) as { type: string; code?: string };
      if (message.type === 'error' && message.code) errors.push(message.code);
    });
    flooder.addEventListener('close', (event) => (flooderClose = event.code));
    await new Promise((resolve) => flooder.addEventListener('open', resolve, { once: true }));
    flooder.send(JSON.stringify({ type: 'new-peer', room, name: 'flooder' }));
    const sdp = `v=0\r\n${'a'.repeat(30 * 1024)}`;
    for (let i = 0; i < 400 && !errors.includes('receiver-busy') && flooderClose === null; i++) {
      flooder.send(JSON.stringify({ type: 'offer', to: victim.peerId, sdp }));
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitUntil(() => errors.includes('receiver-busy'), 'the flooder is told the receiver is busy', 10_000);
    // The victim reads again: it was never cut off, and is still in the room.
    await slow({ action: 'resume', id: victim.id });
    const status = (await slow<{ closeCode: number | null; received: number }>({ action: 'status', id: victim.id }))!;
    expect(status.closeCode, 'the slow receiver keeps its connection').to.equal(null);
    await waitUntil(() => bystander.peers.some((p) => p.id === victim.peerId), 'the room still lists the slow peer');
    expect(bystander.status).to.equal('joined');
    flooder.close();
    bystander.close();
    await slow({ action: 'stop', id: victim.id });
  });
});
