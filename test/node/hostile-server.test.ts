/**
 * Issue 31's attacks by a hostile signaling server on trust that was already established:
 * real Meshes in Node (WebCrypto, no WebRTC, so the pair is on the server's relay and
 * sealed end to end) through scripts/relay-attacker.mjs, a scripted server that speaks
 * our protocol and attacks mid-session. Each test asserts what the mesh claims afterwards
 * (verdicts, identity status, "encrypted") and what it says (events, errors); each fails
 * on the code before issue 31, where the claims outlived the facts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { SignalingProxy, loadWrtc, nodeMesh, record, waitFor, waitForDirectMesh } from './harness.js';
import { createSignalingServer } from '../../server/index.js';
import { deriveRelayKey, newRelayKeyPair, relayKeyFingerprint, seal } from '../../client/relay-crypto.js';
import { bindingText, loadIdentity, signBinding } from '../../client/identity-keys.js';
import { PeerVerifier } from '../../client/peer-verifier.js';
import type { TrustChannel } from '../../client/trust-channel.js';
import type { Mesh } from '../../client/mesh.js';

interface Attacker {
  url: string;
  captured: { from: string; payload?: { type: string; text?: string }; opened?: string; text?: string | null }[];
  act(command: { action: string; name?: string; text?: string | number; newName?: string }): Promise<void>;
  close(): Promise<void>;
}

const fixture = fileURLToPath(new URL('../../../scripts/relay-attacker.mjs', import.meta.url));
const startAttacker = async (options: { swap?: boolean; version?: number } = {}): Promise<Attacker> =>
  ((await import(fixture)) as { startRelayAttacker(o: typeof options): Promise<Attacker> }).startRelayAttacker(options);

const open: { meshes: Mesh[]; attackers: Attacker[] } = { meshes: [], attackers: [] };
after(async () => {
  for (const mesh of open.meshes) mesh.close();
  for (const attacker of open.attackers) await attacker.close();
});

let rooms = 0;
/** A mesh joining `room` at `server` (an ephemeral identity: nothing kept), closed after the tests. */
function joined(server: string, room: string, name: string, wrtc: Parameters<typeof nodeMesh>[0] = null): Mesh {
  const mesh = nodeMesh(wrtc, { server, room, name, identity: 'ephemeral' });
  open.meshes.push(mesh);
  mesh.connect();
  return mesh;
}

/** Ann and Kit through a fresh attacker (protocol version 9), sealed, identities exchanged; with `verified`, both said "they match". */
async function sealedPair({ verified = false } = {}) {
  const attacker = await startAttacker({ version: 9 });
  open.attackers.push(attacker);
  const room = `hostile-${process.pid}-${++rooms}`;
  const ann = joined(attacker.url, room, 'Ann');
  await waitFor(() => ann.status === 'joined', 'Ann joined');
  const kit = joined(attacker.url, room, 'Kit');
  await waitFor(() => ann.peers[0]?.encrypted === true && kit.peers[0]?.encrypted === true, 'the pair is sealed');
  const annId = ann.selfId!;
  const kitId = kit.selfId!;
  await waitFor(() => ann.verificationOf(kitId).identity !== null && kit.verificationOf(annId).identity !== null, 'identities exchanged');
  if (verified) {
    const outcome = await ann.verify(kitId);
    assert.ok(outcome.ok, 'codes compared');
    await waitFor(() => kit.verificationOf(annId).code !== null, 'Kit has the code too');
    assert.equal(ann.confirmVerification(kitId, true), true);
    assert.equal(kit.confirmVerification(annId, true), true);
    await waitFor(() => ann.verificationOf(kitId).identity?.status === 'verified', 'Ann remembers Kit');
    assert.equal(ann.verificationOf(kitId).match, true);
  }
  return { attacker, ann, kit, annId, kitId };
}

test('a re-key after verification ends the verdict: no ✓, "changed" with a warning, and the peer does not prove its key over the swapped one', async () => {
  const { attacker, ann, kit, annId, kitId } = await sealedPair({ verified: true });
  const identities = record(ann, 'peer-identity');
  const errors = record(ann, 'error');
  await attacker.act({ action: 'rekey' });
  await waitFor(() => identities.some((i) => i.status === 'changed'), 'Ann is told Kit changed');
  const now = ann.verificationOf(kitId);
  assert.notEqual(now.match, true, 'the verdict was about the old keys');
  assert.equal(now.identity?.status, 'changed');
  assert.ok(
    errors.some((e) => e.code === 'identity-changed'),
    'a warning line',
  );
  // Kit's identity, re-sent over the attacker's keys, does not fit them: never verified again.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.notEqual(ann.verificationOf(kitId).identity?.status, 'verified');
  assert.notEqual(kit.verificationOf(annId).match, true);
  // Still sealed (to the attacker, which the codes would now show): the label says only that.
  assert.equal(ann.peers[0]?.encrypted, true);
  // The attacker can now write in Kit's name; nothing claims Kit is verified while it does.
  const got = record(ann, 'message');
  await attacker.act({ action: 'inject', name: 'Ann', text: 'forged after the re-key' });
  await waitFor(() => got.some((m) => m.text === 'forged after the re-key'), 'the forged line arrives');
  assert.notEqual(ann.verificationOf(kitId).match, true);
  assert.notEqual(ann.verificationOf(kitId).identity?.status, 'verified');
  const codes = await ann.verify(kitId);
  const kitCode = kit.verificationOf(annId).code;
  await waitFor(() => kit.verificationOf(annId).code !== kitCode, 'Kit’s side of the new comparison');
  assert.ok(codes.ok);
  assert.notEqual(codes.ok && codes.code, kit.verificationOf(annId).code, 'and the codes now differ');
});

test('an empty relay-key after sealing is refused: the pair stays encrypted, the forged clear line is not shown, nothing goes out in clear', async () => {
  const { attacker, ann } = await sealedPair({ verified: true });
  const errors = record(ann, 'error');
  const got = record(ann, 'message');
  await attacker.act({ action: 'downgrade', name: 'Ann', text: 'clear text from the server' });
  await waitFor(() => errors.some((e) => e.code === 'relay-downgrade'), 'Ann is told of the downgrade');
  assert.equal(ann.peers[0]?.encrypted, true, 'still encrypted');
  await waitFor(() => errors.some((e) => e.code === 'relay-tampered'), 'the clear line refused');
  assert.equal(
    got.some((m) => m.text === 'clear text from the server'),
    false,
  );
  const before = attacker.captured.length;
  ann.send('still a secret');
  await waitFor(() => attacker.captured.slice(before).some((c) => c.from === 'Ann'), 'Ann’s message goes out');
  const out = attacker.captured.slice(before).filter((c) => c.from === 'Ann' && c.payload);
  assert.deepEqual([...new Set(out.map((c) => c.payload!.type))], ['sealed']);
  assert.equal(JSON.stringify(out).includes('still a secret'), false);
});

test('a rename keeps the ✓ for the name it was given: "verified as Kit", never a bare ✓ beside the new name', async () => {
  const { attacker, ann, kitId } = await sealedPair({ verified: true });
  const renames = record(ann, 'peer-rename');
  await attacker.act({ action: 'rename', name: 'Kit', newName: 'Bob' });
  await waitFor(() => renames.length === 1, 'the rename');
  await waitFor(() => ann.verificationOf(kitId).verifiedAs === 'Kit', 'verified as Kit');
  assert.equal(ann.peers[0]?.name, 'Bob');
});

test('a replayed sealed message is refused and said', async () => {
  const { attacker, ann, kit } = await sealedPair();
  const got = record(ann, 'message');
  const errors = record(ann, 'error');
  kit.send('said once');
  await waitFor(() => got.length === 1, 'the line');
  await attacker.act({ action: 'replay', name: 'Ann' });
  await waitFor(() => errors.some((e) => e.code === 'relay-tampered' && /replay/.test(e.message)), 'the replay refused');
  assert.equal(got.length, 1);
});

test('a verified peer announced again with a version that cannot prove its identity shows "missing", and its pair stays sealed', async () => {
  const { attacker, ann, kitId } = await sealedPair({ verified: true });
  const identities = record(ann, 'peer-identity');
  const errors = record(ann, 'error');
  await attacker.act({ action: 'reintroduce', name: 'Kit', text: 3 });
  await waitFor(() => identities.some((i) => i.status === 'missing'), 'missing');
  assert.equal(identities.find((i) => i.status === 'missing')?.reason, 'old-version');
  assert.ok(errors.some((e) => e.code === 'identity-missing'));
  assert.equal(ann.verificationOf(kitId).identity?.status, 'missing');
  assert.notEqual(ann.verificationOf(kitId).match, true);
  // The ratchet: an old version claimed after sealing does not turn the pair to clear text.
  assert.notEqual(ann.peers.find((p) => p.id === kitId)?.encrypted, false);
});

test('a name that looks like a verified one (Cyrillic і) with another key is flagged, not shown as new', async () => {
  const { attacker, ann } = await sealedPair({ verified: true });
  const identities = record(ann, 'peer-identity');
  const errors = record(ann, 'error');
  const room = ann.room;
  const twin = joined(attacker.url, room, 'K\u0456t');
  await waitFor(() => identities.some((i) => i.id === twin.selfId && i.status !== undefined), 'the twin’s identity', 20_000);
  const seen = identities.find((i) => i.id === twin.selfId)!;
  assert.equal(seen.status, 'new');
  assert.equal(seen.looksLike, 'Kit');
  assert.ok(errors.some((e) => e.code === 'identity-changed' && e.peer === twin.selfId));
});

test('comparisons a peer starts are answered a few at a time, not without limit', async () => {
  const sent: string[] = [];
  const channel: TrustChannel = {
    kind: 'relay',
    closed: false,
    send: (message) => (sent.push(message.type), true),
    fingerprints: () => Promise.resolve({ local: 'a', remote: 'b', source: 'relay-key' }),
  };
  let limited = 0;
  const verifier = new PeerVerifier(() => 'me', { settled: () => {}, limited: () => limited++ });
  for (let k = 0; k < 12; k++) {
    verifier.receive('peer', channel, { type: 'verify-commit', commit: `c${k}`.padEnd(43, 'x') });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // Each comparison answers with our own commitment: three in a row, then none until time passes.
  assert.equal(sent.filter((t) => t === 'verify-commit').length, 3);
  assert.ok(limited > 0);
});

test('an identity the server passes through its relay counts for nothing while the peer is reached directly: the key it proved there stays', async (t) => {
  const wrtc = await loadWrtc();
  if (!wrtc) return t.skip('@roamhq/wrtc is not installed (optional dependency): no WebRTC in Node');
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  const proxy = await SignalingProxy.start(server.url);
  try {
    // What Bob sends through the server, as a hostile server reads it (his relay payloads it keeps to itself).
    const fromBob: { type: string; to?: string; message?: { type: string; key?: string } }[] = [];
    proxy.toServer = (frame) => {
      const parsed = JSON.parse(frame) as (typeof fromBob)[number];
      fromBob.push(parsed);
      return parsed.type === 'relay' ? null : frame;
    };
    const room = `direct-key-${process.pid}`;
    const ann = joined(server.url, room, 'Ann', wrtc);
    await waitFor(() => ann.status === 'joined', 'Ann joined');
    const bob = joined(proxy.url, room, 'Bob', wrtc);
    await waitForDirectMesh([ann, bob]);
    const annId = ann.selfId!;
    const bobId = bob.selfId!;
    await waitFor(() => bob.verificationOf(annId).identity !== null, 'Ann proved her key to Bob directly');
    const annKey = bob.verificationOf(annId).identity!.key;
    const identities = record(bob, 'peer-identity');
    const errors = record(bob, 'error');
    const signals = record(bob, 'signal');

    // The server, posing as Ann on the relay: its own relay key, then (once Bob answers with his) its own identity, sealed.
    const relayKeys = await newRelayKeyPair();
    proxy.inject(JSON.stringify({ type: 'relay', from: annId, message: { type: 'relay-key', key: relayKeys.publicKey } }));
    await waitFor(() => fromBob.some((f) => f.type === 'relay' && f.to === annId && f.message?.type === 'relay-key' && f.message.key), 'Bob’s relay key');
    const bobKey = fromBob.find((f) => f.type === 'relay' && f.message?.type === 'relay-key')!.message!.key!;
    const shared = await deriveRelayKey(relayKeys, annId, bobKey, bobId);
    const { keys } = await loadIdentity('ephemeral');
    const binding = bindingText(
      { id: annId, fingerprint: await relayKeyFingerprint(relayKeys.publicKey) },
      { id: bobId, fingerprint: await relayKeyFingerprint(bobKey) },
    );
    const identity = JSON.stringify({ type: 'identity', key: keys.publicKey, sig: await signBinding(keys, binding) });
    const sealed = await seal(shared, identity, annId, bobId, 1);
    proxy.inject(JSON.stringify({ type: 'relay', from: annId, message: { type: 'sealed', ...sealed, n: 1 } }));

    // Set aside: a sealed pair of a peer reached directly is not that peer's connection.
    await waitFor(
      () => signals.some((x) => x.direction === 'note' && /identity over the relay set aside/.test(JSON.stringify(x.message))),
      'the server’s identity set aside',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: errors ${JSON.stringify(errors)}, identities ${JSON.stringify(identities)}`, { cause: error });
    });
    assert.equal(bob.verificationOf(annId).identity?.key, annKey, 'the direct connection still shows Ann’s own key');
    assert.equal(
      identities.some((i) => i.id === annId && i.key !== annKey && i.status !== 'changed'),
      false,
      'the server’s key is never taken for Ann’s',
    );
  } finally {
    await proxy.close();
    await server.close();
  }
});

/** Ann verified Kit; Kit leaves, and someone calling itself Kit joins through a server that swaps keys and keeps identities back. */
async function kitAgainWithoutIdentity() {
  const { attacker, ann, kit } = await sealedPair({ verified: true });
  const identities = record(ann, 'peer-identity');
  kit.close();
  await waitFor(() => ann.peers.length === 0, 'Kit gone');
  await attacker.act({ action: 'drop-identity' });
  await attacker.act({ action: 'swap' });
  const again = joined(attacker.url, ann.room, 'Kit');
  await waitFor(() => ann.peers[0]?.encrypted === true, 'the new pair is sealed');
  return { attacker, ann, identities, again };
}

test('a remembered name whose connection brings no identity (a man in the middle withholds it) shows "missing" with a warning', async () => {
  const { ann, identities, again } = await kitAgainWithoutIdentity();
  const errors = record(ann, 'error');
  await waitFor(() => identities.some((i) => i.id === again.selfId && i.status === 'missing'), 'missing, after the wait', 20_000);
  assert.equal(identities.find((i) => i.id === again.selfId && i.status === 'missing')?.reason, 'not-sent');
  assert.ok(errors.some((e) => e.code === 'identity-missing' && e.peer === again.selfId));
  assert.notEqual(ann.verificationOf(again.selfId!).match, true);
});

test('"they match" is taken only for the code the person read: after a re-key and a new comparison, the old code is refused', async () => {
  const { attacker, ann, kit, annId, kitId } = await sealedPair();
  const first = await ann.verify(kitId);
  assert.ok(first.ok);
  await waitFor(() => kit.verificationOf(annId).code !== null, 'Kit has the code');
  const read = first.ok ? first.code : '';
  // The server swaps the keys and a new comparison finishes (auto-answered on the other side).
  await attacker.act({ action: 'rekey' });
  await waitFor(() => ann.verificationOf(kitId).code === null, 'the new keys have no code yet');
  const again = await ann.verify(kitId);
  assert.ok(again.ok && again.code !== read);
  const errors = record(ann, 'error');
  assert.equal(ann.confirmVerification(kitId, true, read), false, 'the answer was about the old code');
  assert.notEqual(ann.verificationOf(kitId).match, true);
  assert.ok(errors.some((e) => e.code === 'verify-failed'));
});

test('a server that re-keys every few seconds cannot keep "identity missing" away from a remembered name', async () => {
  const { attacker, identities, again } = await kitAgainWithoutIdentity();
  const rekeys = setInterval(() => void attacker.act({ action: 'rekey' }), 4000);
  try {
    await waitFor(() => identities.some((i) => i.id === again.selfId && i.status === 'missing'), 'missing despite the re-keys', 20_000);
  } finally {
    clearInterval(rekeys);
  }
});
