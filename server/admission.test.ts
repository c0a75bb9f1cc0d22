import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission } from './admission.js';
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

test('capacity and origins', () => {
  const admission = new Admission({ ...base, maxClients: 1, allowedOrigins: ['https://chat.example'] });
  const bad = admission.admit('https://evil.example', '198.18.0.1', undefined);
  assert.deepEqual(bad.ok ? null : bad.status, 403);
  assert.ok(admission.admit('https://chat.example', '198.18.0.1', undefined).ok);
  const full = admission.admit('https://chat.example', '198.18.0.2', undefined);
  assert.deepEqual(full.ok ? null : full.status, 503);
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
  assert.deepEqual(
    [1, 2, 3].map(() => admission.allowJoin('a', 'room', t)),
    ['ok', 'ok', 'ok'],
  );
  assert.equal(admission.allowJoin('a', 'room', t), 'address');
  assert.equal(admission.allowJoin('a', 'room', t + 1000), 'ok', 'one more a second later');
  // The room's budget (4, one back a second) is spent: b gets the last, c is refused.
  assert.equal(admission.allowJoin('b', 'room', t + 1000), 'ok');
  assert.equal(admission.allowJoin('c', 'room', t + 1000), 'room');
  assert.equal(admission.allowJoin('c', 'other', t + 1000), 'ok', 'c lost nothing to the refusal');
});
