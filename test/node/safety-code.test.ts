/**
 * Safety codes without browsers: two PeerVerification objects wired to each other (or
 * to a tamperer), with fingerprints given by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerVerification, type VerificationOutcome } from '../../client/peer-verification.js';
import { commitmentTo, fingerprintInSdp, normalizeFingerprint, safetyCode, type ConnectionFingerprints } from '../../client/safety-code.js';
import { parseChannelMessage, type VerifyCommitMessage, type VerifyRevealMessage } from '../../protocol/index.js';

type VerifyMessage = VerifyCommitMessage | VerifyRevealMessage;
const FP_A = 'sha-256 AA:11';
const FP_B = 'sha-256 BB:22';
const FP_M = 'sha-256 EE:99';

/** Two sides whose messages go through `wire` (which may change or drop them), delivered in order. */
function pair(seenByA: ConnectionFingerprints, seenByB: ConnectionFingerprints, wire: (m: VerifyMessage, to: 'a' | 'b') => VerifyMessage | null = (m) => m) {
  const sides: Record<'a' | 'b', PeerVerification> = {} as Record<'a' | 'b', PeerVerification>;
  const log: string[] = [];
  let chain = Promise.resolve();
  const deliver = (to: 'a' | 'b', message: VerifyMessage) => {
    const passed = wire(message, to);
    log.push(`${to === 'a' ? 'b' : 'a'}→${to} ${message.type}`);
    if (passed) chain = chain.then(() => sides[to].receive(passed).then(() => {}));
    return true;
  };
  sides.a = new PeerVerification({ selfId: 'ann', peerId: 'bob', fingerprints: async () => seenByA, send: (m) => deliver('b', m) });
  sides.b = new PeerVerification({ selfId: 'bob', peerId: 'ann', fingerprints: async () => seenByB, send: (m) => deliver('a', m) });
  return { ...sides, log };
}

const honest = { a: { local: FP_A, remote: FP_B, source: 'certificate' as const }, b: { local: FP_B, remote: FP_A, source: 'certificate' as const } };
const code = (o: VerificationOutcome) => (o.ok ? o.code : `failed: ${o.reason}`);

test('an honest connection: both sides get the same 12-digit code, commitments before reveals on the wire', async () => {
  const { a, b, log } = pair(honest.a, honest.b);
  const [fromA, fromB] = await Promise.all([a.start(), b.outcome]);
  assert.match(code(fromA), /^\d{4} \d{4} \d{4}$/);
  assert.equal(code(fromB), code(fromA));
  assert.equal(fromB.ok && fromB.startedByPeer, true);
  // Nobody reveals before it has the other's commitment.
  assert.deepEqual(log, ['a→b verify-commit', 'b→a verify-commit', 'b→a verify-reveal', 'a→b verify-reveal']);
});

test('a man in the middle: each side sees the attacker’s fingerprint, so the codes differ', async () => {
  // Ann talks to the attacker's certificate, and so does Bob: each sees FP_M as the remote one.
  const { a, b } = pair({ local: FP_A, remote: FP_M, source: 'certificate' }, { local: FP_B, remote: FP_M, source: 'certificate' });
  const [fromA, fromB] = await Promise.all([a.start(), b.outcome]);
  assert.ok(fromA.ok && fromB.ok);
  assert.notEqual(code(fromA), code(fromB));
});

test('a reveal that does not match its commitment, or one before any commitment, ends the comparison', async () => {
  const forged = 'A'.repeat(43);
  const tampered = pair(honest.a, honest.b, (m, to) => (to === 'a' && m.type === 'verify-reveal' ? { type: 'verify-reveal', nonce: forged } : m));
  const outcome = await tampered.a.start();
  assert.equal(outcome.ok, false);
  assert.match(code(outcome), /does not match its commitment/);

  const early = new PeerVerification({ selfId: 'ann', peerId: 'bob', fingerprints: async () => honest.a, send: () => true });
  await early.receive({ type: 'verify-reveal', nonce: forged });
  assert.match(code(await early.outcome), /before both sides had committed/);
});

test('the code hashes ids, fingerprints and nonces in an order both sides agree on', async () => {
  const x = { id: 'ann', fingerprint: FP_A, nonce: 'n'.repeat(43) };
  const y = { id: 'bob', fingerprint: FP_B, nonce: 'm'.repeat(43) };
  assert.equal(await safetyCode(x, y), await safetyCode(y, x));
  assert.notEqual(await safetyCode(x, y), await safetyCode({ ...x, nonce: 'o'.repeat(43) }, y));
  assert.notEqual(await safetyCode(x, y), await safetyCode({ ...x, fingerprint: FP_M }, y));
  assert.match(await commitmentTo(x.nonce), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(fingerprintInSdp('v=0\r\na=fingerprint:SHA-256 ab:cd:ef\r\n'), 'sha-256 AB:CD:EF');
  assert.equal(normalizeFingerprint(' SHA-256', 'ab:01 '), 'sha-256 AB:01');
});

test('verify messages parse only with a 43-character base64url value', () => {
  assert.equal(parseChannelMessage(JSON.stringify({ type: 'verify-commit', commit: 'A'.repeat(43) })).ok, true);
  for (const bad of [{ type: 'verify-commit', commit: 'A'.repeat(42) }, { type: 'verify-reveal', nonce: `${'A'.repeat(42)}=` }, { type: 'verify-reveal' }]) {
    assert.equal(parseChannelMessage(JSON.stringify(bad)).ok, false, JSON.stringify(bad));
  }
});
