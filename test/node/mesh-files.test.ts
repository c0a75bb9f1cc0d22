/**
 * Files between Node peers (the terminal client's stack: real Mesh, @roamhq/wrtc, a real
 * signaling server): a file both ways with its hash checked. (Node's WebRTC never fires
 * bufferedamountlow, and a second channel is open at once: both are met here.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { loadWrtc, nodeMesh, record, waitFor, waitForDirectMesh } from './harness.js';
import type { PeerConnectionConstructor } from '../../client/peer-link.js';
import type { Mesh } from '../../client/mesh.js';

let wrtc: PeerConnectionConstructor | null = null;
let server: SignalingServer;
const meshes: Mesh[] = [];

before(async () => {
  wrtc = await loadWrtc();
  server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
});
after(() => {
  for (const mesh of meshes.splice(0)) mesh.close();
  server.close();
});

const sha = async (blob: Blob) =>
  createHash('sha256')
    .update(Buffer.from(await blob.arrayBuffer()))
    .digest('hex');

test('Node peers: a 5 MB file each way arrives whole and verified', async (t) => {
  if (!wrtc) return t.skip('@roamhq/wrtc is not installed');
  const room = `files-${process.pid}`;
  const [a, b] = ['A', 'B'].map((name) => nodeMesh(wrtc, { server: server.url, room, name }));
  meshes.push(a!, b!);
  a!.connect();
  b!.connect();
  await waitForDirectMesh([a!, b!]);
  for (const [from, to] of [
    [a!, b!],
    [b!, a!],
  ] as const) {
    const bytes = randomBytes(5_000_000);
    to.addEventListener('file-offer', (e) => to.acceptFile(e.detail.id), { once: true });
    const done = record(to, 'file-complete');
    const sent = record(from, 'file-complete');
    const fromErrors = record(from, 'file-error');
    const toErrors = record(to, 'file-error');
    await from.sendFile(new Blob([bytes]), { name: 'five.bin' });
    await waitFor(() => (done.length === 1 && sent.length === 1) || fromErrors.length + toErrors.length > 0, 'the file arrives', 30_000);
    assert.deepEqual([...fromErrors, ...toErrors], []);
    assert.equal(await sha(done[0]!.file!), createHash('sha256').update(bytes).digest('hex'));
    assert.equal(sent[0]!.verified, true);
  }
});
