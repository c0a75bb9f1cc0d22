/**
 * One peer of the NAT lab (test/node/nat-lab.test.ts), run inside a home namespace: joins,
 * says hello once connected (directly or through the relay), waits for the other's hello,
 * and prints one JSON line: the path, the selected candidate pair, what it received.
 * Run by the test runner on its own (no P2P_NAT_PEER), it does nothing.
 */
import { loadWrtc, nodeMesh, waitFor } from './harness.js';
import { selectedPair, statsById } from '../../client/connection-path.js';

const settings = process.env['P2P_NAT_PEER'];
if (settings) {
  const { server, room, name, expect, path } = JSON.parse(settings) as { server: string; room: string; name: string; expect: string; path: string };
  const wrtc = await loadWrtc();
  const mesh = nodeMesh(wrtc, {
    server,
    room,
    name,
    negotiation: { disconnectedTimeoutMs: 1000, iceRestartTimeoutMs: 4000, maxIceRestarts: 1, offerTimeoutMs: 4000 },
  });
  const received: string[] = [];
  mesh.addEventListener('message', (event) => received.push(event.detail.text));
  mesh.connect();
  let report: Record<string, unknown>;
  try {
    await waitFor(() => mesh.peers.some((p) => p.state === 'connected'), 'connected to the other peer', 60_000);
    const peer = mesh.peers.find((p) => p.state === 'connected')!;
    mesh.send(`hello from ${name}`);
    await waitFor(() => received.includes(expect), `"${expect}"`, 20_000);
    // The path is read from the stats a moment after connecting, and ICE may move to a
    // better pair once more checks succeed (TURN often answers first): give it time to
    // settle on the expected one, and report where it is either way.
    await waitFor(() => mesh.pathTo(peer.id) === path, `the ${path} path`, 12_000).catch(() => {});
    const pc = mesh.connectionTo(peer.id);
    let pair: Record<string, unknown> | null = null;
    if (pc) {
      const reports = await statsById(pc);
      const selected = selectedPair(reports);
      const local = reports.get(String(selected?.['localCandidateId']));
      const remote = reports.get(String(selected?.['remoteCandidateId']));
      pair = {
        local: local?.['candidateType'],
        remote: remote?.['candidateType'],
        relayProtocol: local?.['relayProtocol'] ?? null,
        protocol: local?.['protocol'],
      };
    }
    report = { ok: true, transport: peer.transport, path: mesh.pathTo(peer.id), pair, received };
  } catch (error) {
    report = { ok: false, error: (error as Error).message, peers: mesh.peers, received };
  }
  process.stdout.write(`NAT-PEER ${JSON.stringify(report)}\n`);
  // Stay a moment so the other side gets what it waits for, then go.
  setTimeout(() => {
    mesh.close();
    process.exit(0);
  }, 3000);
}
