/**
 * TURN with time-limited credentials, checked by a real coturn (Debian's `coturn`,
 * started here with its own settings and a random secret) in a private network namespace:
 * the credentials our server mints are accepted, a wrong secret is refused, and two
 * Meshes that only use TURN candidates (`iceTransportPolicy: 'relay'`, "hide my IP
 * address") chat through it, end-to-end encrypted, the signaling server never seeing the text.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { turnIceServer } from '../../server/turn-credentials.js';
import { INSIDE_PRIVATE_NETNS, loadWrtc, nodeMesh, record, runInPrivateNetns, startCoturn, waitFor } from './harness.js';
import type { PeerConnectionConstructor } from '../../client/peer-link.js';

const TURN_IP = '198.18.0.1';

if (!INSIDE_PRIVATE_NETNS) {
  test('TURN through a real coturn, in a private network namespace', (t) => {
    const run = runInPrivateNetns(fileURLToPath(import.meta.url), { needs: ['turnserver'] });
    if ('skipped' in run) return t.skip(`${run.skipped} (apt-get install coturn; CI does)`);
    console.log(run.output.trim());
    assert.equal(run.status, 0, 'the TURN scenarios failed (output above)');
    assert.match(run.output, /^# pass 3$/m, 'the three scenarios ran and passed');
  });
} else {
  let coturn: ChildProcess;
  let coturnLog: () => string = () => '';
  let wrtc: PeerConnectionConstructor | null;
  const secret = randomBytes(16).toString('hex');
  const port = 34780;

  before(async () => {
    wrtc = await loadWrtc();
    assert.ok(wrtc, '@roamhq/wrtc is needed here');
    const started = await startCoturn(TURN_IP, port, secret);
    coturn = started.process;
    coturnLog = started.log;
  });
  after(() => coturn?.kill('SIGTERM'));

  /** The relay candidates a connection gathers with these TURN credentials. */
  async function relayCandidates(server: RTCIceServer): Promise<string[]> {
    const pc = new wrtc!({ iceServers: [server], iceTransportPolicy: 'relay' });
    const found: string[] = [];
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate?.candidate) found.push(event.candidate.candidate);
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await waitFor(() => pc.iceGatheringState === 'complete', 'gathering to finish', 10_000).catch(() => {});
    pc.close();
    return found.filter((c) => c.includes(' typ relay'));
  }

  test('coturn accepts the credentials our server mints, and refuses a wrong secret', async () => {
    const urls = [`turn:${TURN_IP}:${port}?transport=udp`];
    const good = turnIceServer({ secret, urls, ttlSeconds: 600 }, 'peer-good');
    const relays = await relayCandidates({ urls, username: good.username!, credential: good.credential! });
    assert.ok(relays.length > 0, `a relay candidate from coturn (log: ${coturnLog().slice(-500)})`);
    const bad = turnIceServer({ secret: 'not-the-secret', urls, ttlSeconds: 600 }, 'peer-bad');
    assert.deepEqual(await relayCandidates({ urls, username: bad.username!, credential: bad.credential! }), [], 'a wrong secret gets no allocation');
    const expired = turnIceServer({ secret, urls, ttlSeconds: -60 }, 'peer-expired');
    assert.deepEqual(await relayCandidates({ urls, username: expired.username!, credential: expired.credential! }), [], 'an expired credential gets none');
  });

  test('two peers that hide their addresses (relay only) chat through TURN with credentials from the signaling server', async () => {
    let server: SignalingServer | null = null;
    try {
      server = await createSignalingServer({ port: 0, host: '127.0.0.1', turn: { secret, urls: [`turn:${TURN_IP}:${port}?transport=udp`], ttlSeconds: 600 } });
      const room = 'turn-room';
      const a = nodeMesh(wrtc, { server: server.url, room, name: 'A', iceTransportPolicy: 'relay' });
      const b = nodeMesh(wrtc, { server: server.url, room, name: 'B', iceTransportPolicy: 'relay' });
      try {
        a.connect();
        await waitFor(() => a.status === 'joined', 'A joined');
        b.connect();
        await waitFor(() => a.peers[0]?.state === 'connected' && b.peers[0]?.state === 'connected', 'connected through TURN', 20_000);
        const got = record(b, 'message');
        a.send('through the relay server, still end to end');
        await waitFor(() => got.length === 1, 'the message arrives');
        assert.equal(b.peers[0]?.transport, 'direct', 'a WebRTC channel, not the signaling server relay');
        await waitFor(() => a.pathTo(b.selfId!) === 'turn' && b.pathTo(a.selfId!) === 'turn', 'both see the TURN path', 5000);
        // Only relay candidates were ever offered: peers never saw each other's addresses.
        const sdp = a.connectionTo(b.selfId!)!.localDescription!.sdp;
        const candidates = sdp.split('\r\n').filter((line) => line.startsWith('a=candidate'));
        for (const line of candidates) assert.match(line, / typ relay /);
      } finally {
        a.close();
        b.close();
      }
    } finally {
      await server?.close();
    }
  });

  test('a TURN secret coturn does not know: relay-only peers find no address, say so, and chat through the server relay at once (labelled)', async () => {
    let server: SignalingServer | null = null;
    try {
      server = await createSignalingServer({
        port: 0,
        host: '127.0.0.1',
        turn: { secret: 'not-the-secret', urls: [`turn:${TURN_IP}:${port}?transport=udp`], ttlSeconds: 600 },
      });
      const room = 'turn-wrong-secret';
      const a = nodeMesh(wrtc, { server: server.url, room, name: 'A', iceTransportPolicy: 'relay' });
      const b = nodeMesh(wrtc, { server: server.url, room, name: 'B', iceTransportPolicy: 'relay' });
      const errorsA = record(a, 'error');
      try {
        const started = Date.now();
        a.connect();
        await waitFor(() => a.status === 'joined', 'A joined');
        b.connect();
        await waitFor(() => a.peers[0]?.transport === 'relayed' && b.peers[0]?.transport === 'relayed', 'both on the server relay', 15_000);
        const took = Date.now() - started;
        console.log(`# wrong TURN secret: both on the relay after ${took} ms`);
        // Not the 25 s of a pair whose checks fail: nothing to check with, nothing to wait for.
        assert.ok(took < 10_000, `fell back in ${took} ms`);
        assert.equal(a.pathTo(b.selfId!), 'server');
        const failed = errorsA.find((e) => e.code === 'peer-failed');
        assert.match(
          failed?.message ?? '',
          /No network address to connect from: the TURN server \(turn:198\.18\.0\.1:\d+\?transport=udp\) refused the credentials or did not answer/,
        );
        const got = record(b, 'message');
        a.send('through the server, since TURN refused us');
        await waitFor(() => got.length === 1, 'the relayed message arrives');
      } finally {
        a.close();
        b.close();
      }
    } finally {
      await server?.close();
    }
  });
}
