/**
 * Files between Node peers (the terminal client's stack: real Mesh, @roamhq/wrtc, a real
 * signaling server): a file both ways with its hash checked. (Node's WebRTC never fires
 * bufferedamountlow, and a second channel is open at once: both are met here.) Then
 * MeshFiles alone against a hostile or broken peer: a flood of offers, images past the
 * allowance and the quota, accepted transfers that never start.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSignalingServer, type SignalingServer } from '../../server/index.js';
import { loadWrtc, nodeMesh, record, waitFor, waitForDirectMesh } from './harness.js';
import type { PeerConnectionConstructor, PeerLink } from '../../client/peer-link.js';
import type { Mesh } from '../../client/mesh.js';
import { MeshFiles, type FilesHooks } from '../../client/mesh-files.js';
import type { MeshEventMap } from '../../client/mesh-events.js';
import { parseChannelMessage, type FileMessage } from '../../protocol/index.js';

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

test('Node peers: 25 offers at once, the receiver keeps 20 waiting and declines 5, said once; the sender hears each decline', async (t) => {
  if (!wrtc) return t.skip('@roamhq/wrtc is not installed');
  const room = `files-flood-${process.pid}`;
  const [a, b] = ['A', 'B'].map((name) => nodeMesh(wrtc, { server: server.url, room, name }));
  meshes.push(a!, b!);
  a!.connect();
  b!.connect();
  await waitForDirectMesh([a!, b!]);
  const offers = record(b!, 'file-offer');
  const bErrors = record(b!, 'file-error');
  const aErrors = record(a!, 'file-error');
  const ids: string[] = [];
  for (let k = 0; k < 25; k++) ids.push(...(await a!.sendFile(new Blob([`file ${k}`]), { name: `f${k}.txt`, to: b!.selfId! })));
  await waitFor(() => offers.length === 20 && aErrors.length === 5, 'twenty offers and five declines');
  assert.deepEqual(
    offers.map((o) => o.id),
    ids.slice(0, 20),
  );
  assert.deepEqual(
    aErrors.map((e) => [e.id, e.code]),
    ids.slice(20).map((id) => [id, 'file-declined']),
  );
  assert.deepEqual(
    bErrors.map((e) => [e.id, e.code]),
    [[ids[20], 'file-declined']],
    'said once',
  );
  // The ones kept still work: one accepted arrives.
  const done = record(b!, 'file-complete');
  assert.equal(b!.acceptFile(ids[3]!), true);
  await waitFor(() => done.length === 1, 'the accepted file arrives');
  assert.equal(await done[0]!.file!.text(), 'file 3');
});

// ---- limits on what a peer may make this side hold (issue 32, finding 5) --------------
// MeshFiles alone, over stand-in links that record what goes back to the sender: a flood
// of offers, images past the allowance and the quota, transfers that never start.

type Sent = { to: string; message: FileMessage };

/** A stand-in link to `peer`: control messages are recorded; file channels come from `channel`. */
function standInLink(peer: string, sent: Sent[], channel: () => RTCDataChannel = () => new SilentChannel() as unknown as RTCDataChannel): PeerLink {
  return {
    pc: {},
    maxMessageSize: 64 * 1024,
    sendControl: (message: FileMessage) => {
      sent.push({ to: peer, message });
      return true;
    },
    openFileChannel: () => channel(),
  } as unknown as PeerLink;
}

/** A data channel where nothing ever happens: it does not open (or, `open`, it stays silent). */
class SilentChannel {
  binaryType = 'arraybuffer';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  closed = false;
  readonly sent: unknown[] = [];
  constructor(
    public readyState: RTCDataChannelState = 'connecting',
    readonly label = 'file-x',
  ) {}
  addEventListener(): void {}
  removeEventListener(): void {}
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
    this.readyState = 'closed';
  }
}

type Emitted = { type: string; detail: MeshEventMap[keyof MeshEventMap] };

/** One side's MeshFiles with the given limits (a plain object: the hooks read it at each offer). */
function receiverSide(limits: Record<string, number> = {}) {
  const events: Emitted[] = [];
  const sent: Sent[] = [];
  const hooks: FilesHooks = {
    reach: (peer) => standInLink(peer, sent),
    parse: (text) => {
      const parsed = parseChannelMessage(text);
      return parsed.ok ? parsed.value : null;
    },
    emit: (type, detail) => events.push({ type, detail }),
    // (A plain object spread in: these tests also compile against the limits before there were more than two.)
    limits: () => ({ maxFileSize: 2 ** 31, autoAcceptImages: 10_000_000, ...limits }),
  };
  const files = new MeshFiles(hooks);
  let n = 0;
  /** `peer` offers a file (its id returned), as its chat channel would deliver it. */
  const offer = (peer: string, size: number, mime = 'application/octet-stream'): string => {
    const id = `offer-${peer}-${String(++n).padStart(10, '0')}`;
    files.control(peer, standInLink(peer, sent), { type: 'file-offer', id, name: `f${n}.bin`, size, mime, blockSize: 1024 * 1024 });
    return id;
  };
  const of = <K extends keyof MeshEventMap>(type: K) => events.filter((e) => e.type === type).map((e) => e.detail as MeshEventMap[K]);
  return { files, events, sent, offer, of };
}

test('a flood of offers: beyond 20 waiting from one peer, each is declined (the sender told) and said once; memory stays bounded', () => {
  const { files, sent, offer, of } = receiverSide();
  const ids = Array.from({ length: 40 }, () => offer('bob', 1000));
  assert.deepEqual(
    of('file-offer').map((o) => o.id),
    ids.slice(0, 20),
    'the first 20 are offered',
  );
  assert.deepEqual(
    sent.filter((s) => s.message.type === 'file-decline').map((s) => s.message.id),
    ids.slice(20),
    'the other 20 are declined, the sender told of each',
  );
  const errors = of('file-error');
  assert.equal(errors.length, 1, 'said once, not 20 times');
  assert.equal(errors[0]!.code, 'file-declined');
  assert.equal(errors[0]!.id, ids[20]);
  assert.match(errors[0]!.message, /Too many files offered at once: 20 are waiting/);
  assert.equal(files.size, 20, 'only the waiting offers are kept');

  // Another peer is not held to Bob's count.
  offer('cy', 1000);
  assert.equal(of('file-offer').length, 21);

  // A thousand more cost nothing more.
  for (let k = 0; k < 1000; k++) offer('bob', 1000);
  assert.equal(files.size, 21);
  assert.equal(of('file-error').length, 1);

  // Answering one makes room for one; the next flood past the cap is said again, once.
  assert.equal(files.decline(ids[0]!), true);
  const fits = offer('bob', 1000);
  assert.equal(of('file-offer').at(-1)!.id, fits);
  offer('bob', 1000);
  offer('bob', 1000);
  assert.equal(of('file-error').filter((e) => e.message.startsWith('Too many')).length, 2);
  files.close();
  assert.equal(files.size, 0);
});

test('images come in by themselves only within a per-peer allowance per minute (bytes and count); beyond it, they ask', () => {
  const image = 'image/png';
  // The default byte allowance: 50 MB a minute, so five 10 MB images, then the sixth asks.
  const defaults = receiverSide({ startTimeout: 60_000 });
  for (let k = 0; k < 6; k++) defaults.offer('bob', 10_000_000, image);
  assert.deepEqual(
    defaults.of('file-offer').map((o) => o.autoAccept),
    [true, true, true, true, true, false],
  );
  // Another peer has an allowance of its own.
  defaults.offer('cy', 10_000_000, image);
  assert.equal(defaults.of('file-offer').at(-1)!.autoAccept, true);
  assert.equal(
    defaults.sent.filter((s) => s.message.type === 'file-accept').length,
    6,
    'an accept for each image that came in by itself, none for the one that asks',
  );
  defaults.files.close();

  // The count: twenty small images a minute (a 1 kB image flood would pass any byte limit).
  const small = receiverSide({ startTimeout: 60_000 });
  for (let k = 0; k < 21; k++) small.offer('bob', 1000, image);
  assert.deepEqual(
    small.of('file-offer').map((o) => o.autoAccept),
    [...Array<boolean>(20).fill(true), false],
  );
  small.files.close();
});

test('the session quota: once the files received reach it, images ask; a transfer that fails gives its bytes back', () => {
  const image = 'image/png';
  const { files, offer, of } = receiverSide({ receivedQuota: 1000, startTimeout: 60_000 });
  offer('bob', 400, image);
  offer('cy', 400, image);
  offer('dee', 400, image);
  assert.deepEqual(
    of('file-offer').map((o) => o.autoAccept),
    [true, true, false],
    'the third would pass the quota (every peer counts toward it)',
  );
  assert.equal(files.receivedBytes, 800);
  // A file accepted by a click counts too.
  const asked = of('file-offer')[2]!.id;
  assert.equal(files.accept(asked), true);
  assert.equal(files.receivedBytes, 1200);
  // Cancelled (its file removed): its bytes no longer count.
  files.cancel(asked);
  files.cancel(of('file-offer')[0]!.id);
  assert.equal(files.receivedBytes, 400);
  offer('eve', 400, image);
  assert.equal(of('file-offer').at(-1)!.autoAccept, true);
  files.close();
});

test('an accepted transfer whose channel never opens, or whose first bytes never come, fails with file-failed and lets go of everything', async () => {
  const { files, sent, offer, of } = receiverSide({ startTimeout: 300 });
  // 1. Accepted; the sender never opens the file's channel.
  const never = offer('bob', 5000);
  files.accept(never);
  // 2. Accepted; the channel opens and the receiver listens, but no byte comes.
  const silent = offer('bob', 5000);
  files.accept(silent);
  const channel = new SilentChannel('open', `file-${silent}`);
  files.channel('bob', channel as unknown as RTCDataChannel);
  await waitFor(() => of('file-error').length === 2, 'both transfers fail', 5_000);
  const errors = of('file-error');
  assert.deepEqual(
    errors.map((e) => [e.id, e.code]),
    [
      [never, 'file-failed'],
      [silent, 'file-failed'],
    ],
  );
  assert.equal(errors[0]!.message, 'The transfer did not start: nothing came from the sender within 300 ms of accepting.');
  assert.deepEqual(
    sent.filter((s) => s.message.type === 'file-cancel').map((s) => s.message.id),
    [never, silent],
    'the sender is told, so it stops too',
  );
  assert.equal(channel.closed, true, 'the channel is closed');
  assert.equal(files.size, 0, 'nothing of them is kept');
  assert.equal(files.receivedBytes, 0, 'their bytes no longer count');
});

test("the sender's side: a transfer accepted whose channel never opens fails with file-failed after the timeout, and the receiver is told", async () => {
  const events: Emitted[] = [];
  const sent: Sent[] = [];
  const channel = new SilentChannel();
  const files = new MeshFiles({
    reach: (peer) => standInLink(peer, sent, () => channel as unknown as RTCDataChannel),
    parse: () => null,
    emit: (type, detail) => events.push({ type, detail }),
    limits: () => ({ maxFileSize: 2 ** 31, autoAcceptImages: 0, ...{ startTimeout: 300 } }),
  });
  const [id] = files.send(new Blob([new Uint8Array(5000)]), 'five.bin', ['bob']);
  files.control('bob', standInLink('bob', sent), { type: 'file-accept', id: id! });
  await waitFor(() => events.some((e) => e.type === 'file-error'), 'the transfer fails', 5_000);
  const error = events.find((e) => e.type === 'file-error')!.detail as MeshEventMap['file-error'];
  assert.equal(error.code, 'file-failed');
  assert.match(error.message, /did not start: the receiver was not listening/);
  assert.deepEqual(
    sent.filter((s) => s.message.type === 'file-cancel').map((s) => s.message.id),
    [id],
  );
  assert.equal(channel.closed, true);
  assert.equal(files.size, 0);
});
