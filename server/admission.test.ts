import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission, type JoinVerdict } from './admission.js';
import { parseTrustProxy } from './client-address.js';

const base = { maxClients: 100, maxConnectionsPerIp: 2, joinsPerIp: { perSecond: 1, burst: 3 }, joinsPerRoom: { perSecond: 2, burst: 5 } };

test('an upgrade counts from the request on, until its socket is released', () => {
  const admission = new Admission(base);
  const one = admission.admit(undefined, '198.18.0.1', undefined);
  const two = admission.admit(undefined, '198.18.0.1', undefined);
  assert.ok(one.ok && two.ok);
  // Neither handshake has finished: they still count.
  const three = admission.admit(undefined, '198.18.0.1', undefined);
  assert.deepEqual(three.ok ? null : [three.status, three.limit], [429, 'connections-per-ip']);
  if (one.ok) admission.release(one.group);
  assert.ok(admission.admit(undefined, '198.18.0.1', undefined).ok);
  assert.equal(admission.connections, 2, 'two and the new one');
});

test('capacity and origins: a refused origin is let in (and counted) only to be closed with a code', () => {
  const admission = new Admission({ ...base, maxClients: 2, allowedOrigins: ['https://chat.example'] });
  const bad = admission.admit('https://evil.example', '198.18.0.1', undefined);
  assert.deepEqual(bad.ok && bad.originAllowed, false);
  const good = admission.admit('https://chat.example', '198.18.0.1', undefined);
  assert.deepEqual(good.ok && good.originAllowed, true);
  assert.equal(admission.connections, 2, 'the refused one counts until its socket ends');
  const full = admission.admit('https://chat.example', '198.18.0.2', undefined);
  assert.deepEqual(full.ok ? null : full.status, 503);
  if (bad.ok) admission.release(bad.group);
  const none = admission.admit(undefined, '198.18.0.2', undefined);
  assert.deepEqual(none.ok && none.originAllowed, false, 'no Origin (not a browser): refused the same way');
  const any = new Admission(base).admit(undefined, '198.18.0.3', undefined);
  assert.deepEqual(any.ok && any.originAllowed, true, 'no list: any origin');
});

test('behind a trusted proxy each client address has its own count', () => {
  const admission = new Admission({ ...base, trustProxy: parseTrustProxy(1) });
  for (let i = 0; i < 2; i++) assert.ok(admission.admit(undefined, '127.0.0.1', '198.18.1.1').ok);
  assert.ok(admission.admit(undefined, '127.0.0.1', '198.18.1.2').ok);
  assert.equal(admission.admit(undefined, '127.0.0.1', '198.18.1.1').ok, false);
});

test('joins: a burst, then the rate, per address and per room; a refusal costs the other budget nothing', () => {
  const admission = new Admission({ ...base, joinsPerRoom: { perSecond: 1, burst: 4 } });
  const t = 1000;
  const limit = (v: JoinVerdict) => (v.ok ? 'ok' : v.limit);
  // a's share of the room is a quarter of its budget (burst 4): one join, then one per 4 s.
  assert.equal(limit(admission.allowJoin('a', 'room', t)), 'ok');
  assert.equal(limit(admission.allowJoin('a', 'room', t)), 'room-share');
  assert.deepEqual(
    ['one', 'two'].map((room) => limit(admission.allowJoin('a', room, t))),
    ['ok', 'ok'],
  );
  assert.equal(limit(admission.allowJoin('a', 'three', t)), 'address');
  assert.equal(limit(admission.allowJoin('a', 'three', t + 1000)), 'ok', 'one more a second later');
  // The room's budget (4, one back a second, whole again by now): b, c, d, e one each; f is refused.
  assert.deepEqual(
    ['b', 'c', 'd', 'e', 'f'].map((group) => limit(admission.allowJoin(group, 'room', t + 1000))),
    ['ok', 'ok', 'ok', 'ok', 'room'],
  );
  assert.equal(limit(admission.allowJoin('f', 'other', t + 1000)), 'ok', 'f lost nothing to the refusal');
});

test('a refused join says when to try again: when every budget it needs has a token', () => {
  const admission = new Admission({ ...base, joinsPerIp: { perSecond: 10, burst: 1 }, joinsPerRoom: { perSecond: 4, burst: 8 } });
  const t = 5000;
  assert.ok(admission.allowJoin('a', 'room', t).ok);
  // The address's token is back in 100 ms, its share of the room (1/s, burst 2) still has one.
  assert.deepEqual(admission.allowJoin('a', 'room', t + 30), { ok: false, limit: 'address', retryAfterMs: 70 });
  assert.ok(admission.allowJoin('a', 'room', t + 100).ok);
  // Now the share is spent too (its next token in 1000 ms from the first join): the later one counts.
  assert.deepEqual(admission.allowJoin('a', 'room', t + 200), { ok: false, limit: 'room-share', retryAfterMs: 800 });
  assert.ok(admission.allowJoin('a', 'room', t + 1000).ok);
});

test("one address cannot spend a room's join budget: others still get in", () => {
  const admission = new Admission({ ...base, joinsPerIp: { perSecond: 1000, burst: 1000 }, joinsPerRoom: { perSecond: 10, burst: 60 } });
  let welcomed = 0;
  for (let ms = 0; ms < 5000; ms++) if (admission.allowJoin('storm', 'room', ms).ok) welcomed++;
  // A quarter of the budget: burst 15, then 2.5 a second.
  assert.ok(welcomed <= 15 + 2.5 * 5 + 1, `${welcomed} joins from one address in 5 s`);
  assert.deepEqual(
    ['x', 'y', 'z'].map((group) => admission.allowJoin(group, 'room', 5000).ok),
    [true, true, true],
  );
});
