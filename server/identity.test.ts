import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idFromToken, newIdentity, resumedIdentity } from './identity.js';
import { TOKEN, takeToken } from './token-bucket.js';
import { PEER_ID_PATTERN } from '../protocol/index.js';

test('identities: random, valid ids; a resume token gives the same id back', () => {
  const a = newIdentity();
  const b = newIdentity();
  assert.notEqual(a.id, b.id);
  assert.match(a.id, PEER_ID_PATTERN);
  assert.match(a.resume, PEER_ID_PATTERN);
  assert.deepEqual(resumedIdentity(a.resume), a);
  assert.notEqual(idFromToken(`${a.resume}x`), a.id);
});

test('token bucket: a burst, then the rate', () => {
  let now = 0;
  const bucket = { milliTokens: 5 * TOKEN, tokensAt: 0, take: () => takeToken(bucket, 10, 5, now) };
  const burst = Array.from({ length: 8 }, () => bucket.take());
  assert.deepEqual(burst, [true, true, true, true, true, false, false, false]);
  now += 100; // 0.1 s at 10/s: one token back
  assert.equal(bucket.take(), true);
  assert.equal(bucket.take(), false);
  now += 10_000; // never more than the burst
  assert.equal(Array.from({ length: 7 }, () => bucket.take()).filter(Boolean).length, 5);
});

test('takeToken: the same bucket on plain fields', () => {
  const holder = { milliTokens: 2 * TOKEN, tokensAt: 0 };
  assert.deepEqual([takeToken(holder, 10, 2, 0), takeToken(holder, 10, 2, 0), takeToken(holder, 10, 2, 0)], [true, true, false]);
  assert.equal(takeToken(holder, 10, 2, 100), true);
});
