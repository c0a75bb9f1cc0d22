/**
 * ICE that really fails: two Meshes (ws + @roamhq/wrtc) in a private network namespace of
 * their own, where nftables drops every UDP packet between them while the signaling
 * server (TCP) keeps working. No state is faked: both WebRTC stacks lose the path.
 *
 * Run as root, the test re-runs this file inside `scripts/netns-run.sh`; elsewhere it
 * is skipped, saying why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { INSIDE_PRIVATE_NETNS, SignalingProxy, loadWrtc, nodeMesh, record, runInPrivateNetns, waitFor, waitForDirectMesh } from './harness.js';
import type { PeerConnectionConstructor } from '../../client/peer-link.js';
import type { Mesh } from '../../client/mesh.js';

const INSIDE = INSIDE_PRIVATE_NETNS;

if (!INSIDE) {
  test('real ICE failures, in a private network namespace with nftables', (t) => {
    const run = runInPrivateNetns(fileURLToPath(import.meta.url), { needs: ['nft'] });
    if ('skipped' in run) return t.skip(`${run.skipped}: run as root, as CI does`);
    console.log(run.output.trim());
    assert.equal(run.status, 0, 'the scenarios inside the namespace failed (output above)');
    assert.match(run.output, /^# pass 2$/m, 'both scenarios ran and passed');
  });
} else {
  /**
   * The path between the peers cut: every packet in this namespace dropped but the TCP of
   * the signaling ports. (Node's WebRTC also gathers loopback candidates, so dropping
   * only the veth's traffic, or only UDP, would leave ICE a way round.)
   */
  const path = {
    cut(signalingPorts: readonly number[]): void {
      const ports = signalingPorts.join(', ');
      const rules = `table inet p2p_fault {\n chain out {\n  type filter hook output priority 0; policy accept;\n  tcp dport { ${ports} } accept\n  tcp sport { ${ports} } accept\n  drop\n }\n}\n`;
      execFileSync('nft', ['-f', '-'], { input: rules });
    },
    restore(): void {
      execFileSync('nft', ['delete', 'table', 'inet', 'p2p_fault']);
    },
  };

  let wrtc: PeerConnectionConstructor | null = null;
  let server: SignalingServer;
  const FAST = {
    negotiation: { disconnectedTimeoutMs: 1000, iceRestartTimeoutMs: 2500, maxIceRestarts: 1, offerTimeoutMs: 3000 },
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
  } as const;
  let rooms = 0;
  const room = (label: string) => `${label}-${++rooms}`;
  const meshes: Mesh[] = [];
  const start = (mesh: Mesh) => {
    meshes.push(mesh);
    mesh.connect();
    return mesh;
  };

  before(async () => {
    wrtc = await loadWrtc();
    assert.ok(wrtc, '@roamhq/wrtc is needed here');
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    for (const mesh of meshes) mesh.close();
    await server.close();
  });

  const relayedTo = (mesh: Mesh, other: Mesh) => mesh.peers.filter((p) => p.id === other.selfId).map((p) => p.transport);

  test('ICE fails for good on both sides: both switch to the relay together, and nothing sent into the dead channels is lost', async () => {
    const r = room('icefail');
    const a = start(nodeMesh(wrtc, { server: server.url, room: r, name: 'A', ...FAST }));
    await waitFor(() => a.status === 'joined', 'A joined');
    const b = start(nodeMesh(wrtc, { server: server.url, room: r, name: 'B', ...FAST }));
    await waitForDirectMesh([a, b]);
    const gotA = record(a, 'message');
    const gotB = record(b, 'message');
    let restored = false;
    path.cut([server.port]);
    try {
      const dropped = Date.now();
      // Both channels still read open: these go into a dead path and are reported sent.
      const sentA = a.send('A, into the dead channel');
      const sentB = b.send('B, into the dead channel');
      assert.deepEqual(sentA.sent, [b.selfId]);
      assert.deepEqual(sentB.sent, [a.selfId]);
      await waitFor(() => relayedTo(a, b)[0] === 'relayed' && relayedTo(b, a)[0] === 'relayed', 'both sides move to the relay', 60_000);
      console.log(`both on the relay ${Date.now() - dropped} ms after the path was cut`);
      await waitFor(() => gotA.length >= 1 && gotB.length >= 1, 'what went into the dead channels arrives through the relay', 10_000);
      a.send('A, relayed');
      b.send('B, relayed');
      await waitFor(() => gotA.length >= 2 && gotB.length >= 2, 'relayed chat both ways');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(
        gotB.map((m) => m.text),
        ['A, into the dead channel', 'A, relayed'],
      );
      assert.deepEqual(
        gotA.map((m) => m.text),
        ['B, into the dead channel', 'B, relayed'],
      );
      assert.equal(a.connectionCount, 0);
      assert.equal(b.connectionCount, 0);
      assert.deepEqual(relayedTo(a, b), ['relayed'], 'listed once');
      assert.deepEqual(relayedTo(b, a), ['relayed']);

      // A rejoin (the server restarts) must not give the relayed pair a second, direct link.
      const port = server.port;
      await server.close();
      await waitFor(() => a.status === 'reconnecting' && b.status === 'reconnecting', 'both notice the outage');
      server = await createSignalingServer({ port, host: '127.0.0.1' });
      await waitFor(() => a.status === 'joined' && b.status === 'joined', 'both rejoin', 10_000);
      // The path comes back too: still no second connection for a pair that settled on the relay.
      path.restore();
      restored = true;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.deepEqual(relayedTo(a, b), ['relayed'], 'still listed once, relayed');
      assert.deepEqual(relayedTo(b, a), ['relayed']);
      assert.equal(a.connectionCount + b.connectionCount, 0, 'no second, direct connection');
      a.send('A, after the rejoin');
      await waitFor(() => gotB.length >= 3, 'relayed chat after the rejoin');
      b.send('sentinel');
      await waitFor(() => gotA.some((m) => m.text === 'sentinel'), 'sentinel');
      assert.deepEqual(
        gotB.map((m) => m.text),
        ['A, into the dead channel', 'A, relayed', 'A, after the rejoin'],
        'once each',
      );
    } finally {
      if (!restored) path.restore();
    }
  });

  test('a socket drop and a dead path together (a network change): the new connection is not mistaken for the old one', async () => {
    const proxy = await SignalingProxy.start(server.url);
    try {
      const r = room('netchange');
      const a = start(nodeMesh(wrtc, { server: proxy.url, room: r, name: 'A', ...FAST, negotiation: { ...FAST.negotiation, maxIceRestarts: 5 } }));
      await waitFor(() => a.status === 'joined', 'A joined');
      const b = start(nodeMesh(wrtc, { server: server.url, room: r, name: 'B', ...FAST, negotiation: { ...FAST.negotiation, maxIceRestarts: 5 } }));
      await waitForDirectMesh([a, b]);
      const gotA = record(a, 'message');
      const gotB = record(b, 'message');
      const notes = record(a, 'signal');
      const oldConnection = a.connectionTo(b.selfId!);
      // The network changes: the socket and the path go together. B hears A left and
      // closes its side, but the close cannot reach A, whose channel still reads open.
      path.cut([server.port, proxy.port]);
      proxy.cut({ refuse: true });
      await waitFor(() => a.status === 'reconnecting', 'A notices the socket drop');
      await new Promise((resolve) => setTimeout(resolve, 500));
      path.restore();
      proxy.allow();
      await waitFor(() => a.status === 'joined', 'A rejoins', 10_000);
      // B offers again with a new connection epoch; A must replace its old connection.
      await waitForDirectMesh([a, b], 30_000);
      a.send('A after the change');
      b.send('B after the change');
      await waitFor(() => gotA.length >= 1 && gotB.length >= 1, 'chat both ways', 10_000);
      assert.deepEqual(
        gotA.map((m) => m.text),
        ['B after the change'],
      );
      assert.deepEqual(
        gotB.map((m) => m.text),
        ['A after the change'],
      );
      assert.equal(a.connectionCount, 1);
      assert.equal(b.connectionCount, 1);
      // B's offer was for a new RTCPeerConnection of B's: A answers it with a new one too,
      // instead of renegotiating its old connection against a peer connection it never knew.
      assert.notEqual(a.connectionTo(b.selfId!), oldConnection, 'A made a new connection');
      assert.equal(oldConnection?.connectionState, 'closed', 'and closed the old one');
      assert.ok(
        notes.some((s) => s.direction === 'note' && s.message.code === 'connection-replaced'),
        'the epochs told the connections apart',
      );
    } finally {
      await proxy.close();
    }
  });
}
