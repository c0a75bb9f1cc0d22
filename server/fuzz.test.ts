/**
 * Fuzz: thousands of hostile frames against a real server process (the CLI, default
 * limits) while two well-behaved clients in another room keep negotiating. Bounded in
 * count and time; 127.0.0.1 only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { LIMITS, type ErrorCode, type ServerMessage } from '../protocol/index.js';
import { TEST_SERVER_ARGS, TestClient, startCliServer } from './test-client.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 10_000);
/** Frames per attacker connection: under the default burst (200), so the rate limit only bites the floods. */
const PER_CONNECTION = 150;

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the server must answer to one frame: an error code, a close code, or nothing (accepted). */
type Expect = { error: ErrorCode } | { close: number } | { relayedTo: 'partner' } | { none: true };
interface Frame {
  readonly data: string | Buffer;
  readonly binary?: boolean;
  readonly expect: Expect;
  readonly kind: string;
}

function expectedForJson(text: string): Expect {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? { error: 'missing-field' } : { error: 'not-an-object' };
  } catch {
    return { error: 'bad-json' };
  }
}

function makeFrames(random: () => number, ids: { good: string[]; partner: string }): Frame[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chars = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join('');
  const validOffer = { type: 'offer', to: ids.partner, sdp: 'v=0\r\n' };
  const candidate = { candidate: 'candidate:1 1 udp 1 198.18.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  const generators: (() => Frame)[] = [
    () => {
      const text = `{${chars(1 + Math.floor(random() * 60))}`;
      return { data: text, expect: expectedForJson(text), kind: 'garbage' };
    },
    () => {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
      return { data: bytes, binary: true, expect: { error: 'binary-not-supported' }, kind: 'binary' };
    },
    () => {
      const whole = JSON.stringify(pick([validOffer, { type: 'candidate', to: ids.partner, candidate }, { type: 'answer', to: ids.partner, sdp: 'v=0' }]));
      return { data: whole.slice(0, 1 + Math.floor(random() * (whole.length - 2))), expect: { error: 'bad-json' }, kind: 'truncated' };
    },
    () => {
      const depth = 10 + Math.floor(random() * 10_000); // stays under the 64 KiB frame limit
      if (random() < 0.5) return { data: '['.repeat(depth) + ']'.repeat(depth), expect: { error: 'not-an-object' }, kind: 'deep-array' };
      const text = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      return { data: text, expect: expectedForJson(text), kind: 'deep-object' };
    },
    () =>
      pick<Frame>([
        { data: '{"__proto__":{"type":"offer"}}', expect: { error: 'missing-field' }, kind: 'proto' },
        { data: `{"type":"offer","to":"${ids.partner}","sdp":"v","__proto__":{"polluted":1}}`, expect: { relayedTo: 'partner' }, kind: 'proto-relay' },
        { data: '{"constructor":{"prototype":{"polluted":1}},"type":"candidate"}', expect: { error: 'missing-field' }, kind: 'constructor' },
        { data: '{"type":"__proto__"}', expect: { error: 'unknown-type' }, kind: 'proto-type' },
        { data: '{"type":"toString"}', expect: { error: 'unknown-type' }, kind: 'proto-type' },
      ]),
    () =>
      pick<Frame>([
        { data: JSON.stringify({ ...validOffer, sdp: 'x'.repeat(LIMITS.maxSdpLength) }), expect: { relayedTo: 'partner' }, kind: 'sdp-at-limit' },
        { data: JSON.stringify({ ...validOffer, sdp: 'x'.repeat(LIMITS.maxSdpLength + 1) }), expect: { error: 'too-large' }, kind: 'sdp-past-limit' },
        {
          data: JSON.stringify({ type: 'candidate', to: ids.partner, candidate: { ...candidate, candidate: 'c'.repeat(LIMITS.maxCandidateLength) } }),
          expect: { relayedTo: 'partner' },
          kind: 'candidate-at-limit',
        },
        {
          data: JSON.stringify({ type: 'candidate', to: ids.partner, candidate: { ...candidate, candidate: 'c'.repeat(LIMITS.maxCandidateLength + 1) } }),
          expect: { error: 'too-large' },
          kind: 'candidate-past-limit',
        },
        {
          data: JSON.stringify({ type: 'candidate', to: ids.partner, candidate: { ...candidate, sdpMid: 'm'.repeat(LIMITS.maxSdpMidLength + 1) } }),
          expect: { error: 'too-large' },
          kind: 'mid-past-limit',
        },
        { data: JSON.stringify({ ...validOffer, to: 'i'.repeat(LIMITS.maxPeerIdLength + 1) }), expect: { error: 'too-large' }, kind: 'to-past-limit' },
        { data: JSON.stringify({ type: 'new-peer', room: 'r'.repeat(LIMITS.maxRoomLength + 1) }), expect: { error: 'too-large' }, kind: 'room-past-limit' },
        { data: JSON.stringify({ type: 'new-peer', name: 'n'.repeat(LIMITS.maxNameLength + 1) }), expect: { error: 'too-large' }, kind: 'name-past-limit' },
        { data: JSON.stringify({ type: 'new-peer', room: 'evil' }), expect: { error: 'already-joined' }, kind: 'double-join' },
        { data: 'x'.repeat(LIMITS.maxFrameBytes + 1), expect: { close: 1009 }, kind: 'frame-past-limit' },
      ]),
    () =>
      pick<Frame>([
        { data: JSON.stringify({ type: 'offer', to: 1, sdp: 'v' }), expect: { error: 'wrong-type' }, kind: 'wrong-type' },
        { data: JSON.stringify({ type: 'offer', to: ids.partner, sdp: ['v'] }), expect: { error: 'wrong-type' }, kind: 'wrong-type' },
        { data: JSON.stringify({ type: 'candidate', to: ids.partner, candidate: 'str' }), expect: { error: 'wrong-type' }, kind: 'wrong-type' },
        {
          data: JSON.stringify({ type: 'candidate', to: ids.partner, candidate: { ...candidate, sdpMLineIndex: -1 } }),
          expect: { error: 'bad-value' },
          kind: 'bad-value',
        },
        { data: JSON.stringify({ type: 'new-peer', room: {} }), expect: { error: 'wrong-type' }, kind: 'wrong-type' },
        { data: JSON.stringify({ type: 7 }), expect: { error: 'wrong-type' }, kind: 'wrong-type' },
        { data: JSON.stringify({ type: 'ban', to: ids.partner }), expect: { error: 'unknown-type' }, kind: 'unknown-type' },
        { data: 'null', expect: { error: 'not-an-object' }, kind: 'null' },
      ]),
    () =>
      pick<Frame>([
        { data: JSON.stringify({ ...validOffer, from: pick(ids.good) }), expect: { relayedTo: 'partner' }, kind: 'spoofed-from' },
        { data: JSON.stringify({ ...validOffer, to: pick(ids.good) }), expect: { error: 'unknown-peer' }, kind: 'other-room' },
        { data: JSON.stringify({ ...validOffer, to: `nobody${Math.floor(random() * 1e6)}` }), expect: { error: 'unknown-peer' }, kind: 'nonexistent' },
      ]),
  ];
  const frames: Frame[] = [];
  while (frames.length < FRAMES) frames.push(pick(generators)());
  // Invalid UTF-8 in text frames: ws closes with 1007.
  for (let i = 0; i < 50; i++)
    frames[Math.floor(random() * FRAMES)] = { data: Buffer.from([0x7b, 0xc3, 0x28, 0xff]), expect: { close: 1007 }, kind: 'invalid-utf8' };
  return frames;
}

function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

test(`fuzz: ${FRAMES} hostile frames; the server survives, good clients lose nothing`, { timeout: 120_000 }, async (t) => {
  // Each batch of frames comes from a fresh connection that joins: the join rates are not what this tests.
  const { child, url } = await startCliServer([...TEST_SERVER_ARGS, '--log-level', 'warn']);
  let crashed = false;
  child.once('exit', () => (crashed = true));
  try {
    const pid = child.pid!;
    const rssBefore = rssKb(pid);

    // Two good clients in their own room, negotiating all along.
    const good1 = await TestClient.join(url, 'good', 'g1');
    const good2 = await TestClient.join(url, 'good', 'g2');
    await good1.client.next('new-peer');
    let goodRunning = true;
    let goodRounds = 0;
    const goodLoop = (async () => {
      while (goodRunning) {
        const round = goodRounds++;
        good1.client.send({ type: 'offer', to: good2.welcome.id, sdp: `v=0\r\no=round ${round}\r\n` });
        const offer = await good2.client.next('offer', 10_000);
        assert.equal(offer.sdp, `v=0\r\no=round ${round}\r\n`);
        assert.equal(offer.from, good1.welcome.id);
        good2.client.send({ type: 'answer', to: good1.welcome.id, sdp: `answer ${round}` });
        good2.client.send({
          type: 'candidate',
          to: good1.welcome.id,
          candidate: { candidate: `candidate:${round} 1 udp 1 198.18.0.1 5000 typ host`, sdpMid: '0', sdpMLineIndex: 0 },
        });
        assert.equal((await good1.client.next('answer', 10_000)).sdp, `answer ${round}`);
        assert.equal((await good1.client.next('candidate', 10_000)).from, good2.welcome.id);
        // Well-behaved: 2 frames per round, 16 rounds/s, under the default 50 frames/s.
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
    })();

    // The attackers' partner: a joined peer in room "evil" that valid relays go to.
    const partner = await TestClient.join(url, 'evil', 'partner');
    const random = prng(20261125);
    const frames = makeFrames(random, { good: [good1.welcome.id, good2.welcome.id], partner: partner.welcome.id });
    const tally = new Map<string, number>();
    let relayedExpected = 0;
    let closes = 0;

    let rssHalf = 0;
    for (let start = 0; start < frames.length;) {
      if (rssHalf === 0 && start >= frames.length / 2) rssHalf = rssKb(pid);
      const attacker = await TestClient.join(url, 'evil', 'attacker');
      await partner.client.next('new-peer');
      const batch: Frame[] = [];
      while (batch.length < PER_CONNECTION && start < frames.length) {
        const frame = frames[start++]!;
        batch.push(frame);
        if ('close' in frame.expect) break; // the connection ends here
      }
      for (const frame of batch) attacker.client.sendRaw(frame.data, frame.binary ?? false);
      const last = batch.at(-1)!;
      if ('close' in last.expect) {
        assert.equal((await attacker.client.waitClosed(10_000)).code, last.expect.close, last.kind);
        closes++;
        await partner.client.next('peer-disconnected');
      } else {
        await attacker.client.settle();
      }
      const errors = attacker.client.received.filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error').map((m) => m.code);
      const expected = batch.flatMap((f) => ('error' in f.expect ? [f.expect.error] : []));
      assert.deepEqual(errors, expected, 'every bad frame got its documented error, in order');
      relayedExpected += batch.filter((f) => 'relayedTo' in f.expect).length;
      for (const f of batch) tally.set(f.kind, (tally.get(f.kind) ?? 0) + 1);
      if (!attacker.client.closed) {
        attacker.client.close();
        await partner.client.next('peer-disconnected');
      }
    }
    const rssFrames = rssKb(pid);
    // Every valid frame reached the partner, stamped with the attacker's id, never a spoofed one.
    await partner.client.settle();
    const relayed = partner.client.received.filter((m) => m.type === 'offer' || m.type === 'candidate');
    assert.equal(relayed.length, relayedExpected);
    for (const m of relayed) assert.ok('from' in m && m.from !== good1.welcome.id && m.from !== good2.welcome.id);

    // Floods, at the default rate limit: one rate-limited error, then closed with 1008.
    for (let i = 0; i < 3; i++) {
      const flooder = await TestClient.join(url, 'evil', 'flooder');
      for (let n = 0; n < 1000; n++) flooder.client.sendRaw('{"type":"offer","to":"nobody","sdp":"v"}');
      assert.equal((await flooder.client.waitClosed(10_000)).code, 1008);
      const codes = flooder.client.received.filter((m) => m.type === 'error').map((m) => (m.type === 'error' ? m.code : ''));
      assert.equal(codes.filter((c) => c === 'rate-limited').length, 1);
      assert.ok(codes.every((c) => c === 'unknown-peer' || c === 'rate-limited'));
    }

    goodRunning = false;
    await goodLoop;
    // The good clients saw only each other.
    await good1.client.settle();
    await good2.client.settle();
    assert.deepEqual(good1.client.received, []);
    assert.deepEqual(good2.client.received, []);
    assert.equal(good1.client.closed, null);
    assert.equal(good2.client.closed, null);
    assert.ok(goodRounds > 10, `good clients completed ${goodRounds} rounds`);

    partner.client.close();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const health = (await (await fetch(`${url.replace('ws:', 'http:')}/healthz`)).json()) as { clients: number };
    assert.equal(health.clients, 2, 'only the good clients remain');
    const rssAfter = rssKb(pid);
    t.diagnostic(
      `frames: ${frames.length} + 3000 flood; closes: ${closes}; good rounds: ${goodRounds}; RSS kB: before ${rssBefore}, half-way ${rssHalf}, after all frames ${rssFrames}, at the end ${rssAfter}`,
    );
    // No leak: the second half of the frames (same kinds as the first) does not keep growing the heap.
    assert.ok(rssFrames - rssHalf < Math.max(16 * 1024, rssHalf - rssBefore), `RSS plateaus (${rssBefore} -> ${rssHalf} -> ${rssFrames} kB)`);
    t.diagnostic(`kinds: ${[...tally].map(([k, n]) => `${k}=${n}`).join(' ')}`);
    assert.ok(rssAfter < rssBefore + 64 * 1024, `RSS settled (${rssBefore} -> ${rssAfter} kB)`);
    assert.equal(crashed, false);
    good1.client.close();
    good2.client.close();
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
});
