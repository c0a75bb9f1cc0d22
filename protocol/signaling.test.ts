import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, encode, errorMessage, parseClientMessage, parseServerMessage, relayed, type ErrorCode, type Result } from './index.js';

function errorCode<T>(result: Result<T>): ErrorCode | 'ok' {
  return result.ok ? 'ok' : result.error.code;
}

test('new-peer: room and trimmed name, defaults to the lobby', () => {
  assert.deepEqual(parseClientMessage('{"type":"new-peer","room":"r1","name":"  Ada "}'), {
    ok: true,
    value: { type: 'new-peer', room: 'r1', name: 'Ada' },
  });
  assert.deepEqual(parseClientMessage('{"type":"new-peer"}'), { ok: true, value: { type: 'new-peer', room: 'lobby' } });
  assert.deepEqual(parseClientMessage('{"type":"new-peer","resume":"abcdefghijklmnopqrstuvwx"}'), {
    ok: true,
    value: { type: 'new-peer', room: 'lobby', resume: 'abcdefghijklmnopqrstuvwx' },
  });
  assert.deepEqual(parseClientMessage('{"type":"new-peer","name":"   "}'), {
    ok: true,
    value: { type: 'new-peer', room: 'lobby' },
  });
});

test('offer/answer/candidate from a client need `to` and drop any `from`', () => {
  const offer = parseClientMessage(JSON.stringify({ type: 'offer', to: 'abc', sdp: 'v=0', from: 'spoofed' }));
  assert.deepEqual(offer, { ok: true, value: { type: 'offer', to: 'abc', sdp: 'v=0' } });
  const candidate = parseClientMessage(
    JSON.stringify({
      type: 'candidate',
      to: 'abc',
      candidate: { candidate: 'candidate:1 1 udp 1 x.local 5000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' },
    }),
  );
  assert.equal(candidate.ok, true);
  const end = parseClientMessage('{"type":"candidate","to":"abc","candidate":null}');
  assert.deepEqual(end, { ok: true, value: { type: 'candidate', to: 'abc', candidate: null } });
  assert.equal(errorCode(parseClientMessage('{"type":"answer","sdp":"v=0"}')), 'missing-field');
});

test('every kind of bad frame is a typed error, never a throw', () => {
  const cases: [unknown, ErrorCode][] = [
    [new Uint8Array([1, 2, 3]), 'binary-not-supported'],
    ['not json', 'bad-json'],
    ['{"type":"offer"', 'bad-json'],
    ['[1,2]', 'not-an-object'],
    ['null', 'not-an-object'],
    ['"text"', 'not-an-object'],
    ['{}', 'missing-field'],
    ['{"type":42}', 'wrong-type'],
    ['{"type":"hello"}', 'unknown-type'],
    ['{"type":"__proto__"}', 'unknown-type'],
    ['{"type":"offer","to":7,"sdp":"v=0"}', 'wrong-type'],
    ['{"type":"offer","to":"a b","sdp":"v=0"}', 'bad-value'],
    ['{"type":"offer","to":"","sdp":"v=0"}', 'bad-value'],
    ['{"type":"offer","to":"a","sdp":""}', 'bad-value'],
    [JSON.stringify({ type: 'offer', to: 'a', sdp: 'x'.repeat(LIMITS.maxSdpLength + 1) }), 'too-large'],
    [
      JSON.stringify({ type: 'candidate', to: 'a', candidate: { candidate: 'x'.repeat(LIMITS.maxCandidateLength + 1), sdpMid: '0', sdpMLineIndex: 0 } }),
      'too-large',
    ],
    ['{"type":"candidate","to":"a","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":-1}}', 'bad-value'],
    ['{"type":"candidate","to":"a","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0.5}}', 'bad-value'],
    ['{"type":"candidate","to":"a","candidate":"c"}', 'wrong-type'],
    ['{"type":"new-peer","room":"has space"}', 'bad-value'],
    [JSON.stringify({ type: 'new-peer', room: 'r'.repeat(LIMITS.maxRoomLength + 1) }), 'too-large'],
    [JSON.stringify({ type: 'new-peer', name: 'n'.repeat(LIMITS.maxNameLength + 1) }), 'too-large'],
    ['{"type":"new-peer","name":"bell\\u0007"}', 'bad-value'],
    ['{"type":"new-peer","resume":"short"}', 'bad-value'],
    ['{"type":"new-peer","resume":"has spaces in the token!!"}', 'bad-value'],
    [JSON.stringify({ type: 'new-peer', resume: 'r'.repeat(LIMITS.maxResumeTokenLength + 1) }), 'too-large'],
    ['{"type":"new-peer","name":["x"]}', 'wrong-type'],
    ['['.repeat(100_000) + ']'.repeat(100_000), 'too-large'],
  ];
  for (const [raw, code] of cases) {
    assert.equal(errorCode(parseClientMessage(raw)), code, String(raw).slice(0, 80));
  }
  // Deep nesting under the frame limit: JSON.parse may refuse it, parse still must not throw.
  const deep = '['.repeat(30_000) + ']'.repeat(30_000);
  assert.ok(['not-an-object', 'bad-json'].includes(errorCode(parseClientMessage(deep))));
});

test('limits are inclusive: a field exactly at its limit passes', () => {
  const atLimit = JSON.stringify({ type: 'offer', to: 'p'.repeat(LIMITS.maxPeerIdLength), sdp: 's'.repeat(LIMITS.maxSdpLength) });
  assert.equal(errorCode(parseClientMessage(atLimit)), 'ok');
  const name = JSON.stringify({ type: 'new-peer', name: '가'.repeat(LIMITS.maxNameLength) });
  assert.equal(errorCode(parseClientMessage(name)), 'ok');
});

test('__proto__ and constructor keys never reach a prototype', () => {
  const raw = '{"type":"new-peer","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"room":"r"}';
  const result = parseClientMessage(raw);
  assert.equal(result.ok, true);
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  assert.deepEqual(Object.keys(result.ok ? result.value : {}), ['type', 'room']);
  // A `type` inherited through a hostile `__proto__` is not an own field.
  assert.equal(errorCode(parseClientMessage('{"__proto__":{"type":"offer"}}')), 'missing-field');
});

test('relayed() stamps the sender and drops `to`', () => {
  assert.deepEqual(relayed({ type: 'answer', to: 'b', sdp: 'v=0' }, 'a'), { type: 'answer', from: 'a', sdp: 'v=0' });
  assert.deepEqual(relayed({ type: 'candidate', to: 'b', candidate: null }, 'a'), { type: 'candidate', from: 'a', candidate: null });
});

test('server messages round-trip through encode/parseServerMessage', () => {
  const messages = [
    {
      type: 'welcome',
      id: 'me',
      room: 'lobby',
      peers: [{ id: 'p1', name: 'Ada' }],
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:127.0.0.1'], username: 'u', credential: 'c' }],
      limits: { maxRoomSize: 10, maxFrameBytes: 65536, maxChatTextLength: 4000, maxNameLength: 40, relay: true },
      resume: 'abcdefghijklmnopqrstuvwx',
    },
    { type: 'new-peer', id: 'p2', name: 'Grace' },
    { type: 'offer', from: 'p2', sdp: 'v=0' },
    { type: 'answer', from: 'p2', sdp: 'v=0' },
    { type: 'candidate', from: 'p2', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } },
    { type: 'peer-disconnected', id: 'p2' },
    errorMessage('room-full'),
    errorMessage('wrong-type', 'Field "to" must be a string.', 'to'),
  ] as const;
  for (const message of messages) {
    assert.deepEqual(parseServerMessage(encode(message)), { ok: true, value: message });
  }
  assert.equal(errorCode(parseServerMessage('{"type":"error","code":"made-up","message":"x"}')), 'bad-value');
  assert.equal(errorCode(parseServerMessage('{"type":"welcome","id":"x"}')), 'missing-field');
});

test('every error code with a message is a code a client accepts, and no other', async () => {
  const { ERROR_CODES, isErrorCode } = await import('./errors.js');
  for (const code of Object.keys(ERROR_CODES)) assert.equal(isErrorCode(code), true, code);
  assert.equal(isErrorCode('no-such-code'), false);
  assert.equal(isErrorCode('__proto__'), false);
});
