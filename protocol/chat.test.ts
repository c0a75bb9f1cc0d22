import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAT_CHANNEL_LABEL, LIMITS, encodeChannelMessage, lineSigningText, parseChannelMessage, type ChatMessage } from './index.js';

test('the data channel keeps the reference name', () => {
  assert.equal(CHAT_CHANNEL_LABEL, 'chat');
});

test('a chat message round-trips, HTML and all, as plain data', () => {
  const message: ChatMessage = { type: 'chat', id: 'm1', text: '<img src=x onerror=alert(1)> 안녕', at: 1_700_000_000_000, name: '<b>Ada</b>' };
  assert.deepEqual(parseChannelMessage(encodeChannelMessage(message)), { ok: true, value: message });
});

test('bad data-channel messages are typed errors', () => {
  const cases: [unknown, string][] = [
    [new ArrayBuffer(4), 'binary-not-supported'],
    ['{', 'bad-json'],
    ['{"type":"chat","id":"1","text":"","at":1,"name":"a"}', 'bad-value'],
    ['{"type":"chat","id":"1","text":"hi","at":"now","name":"a"}', 'wrong-type'],
    ['{"type":"chat","id":"1","text":"hi","at":1}', 'missing-field'],
    ['{"type":"file"}', 'unknown-type'],
    [JSON.stringify({ type: 'chat', id: '1', text: 'x'.repeat(LIMITS.maxChatTextLength + 1), at: 1, name: 'a' }), 'too-large'],
  ];
  for (const [raw, code] of cases) {
    const result = parseChannelMessage(raw);
    assert.equal(result.ok ? 'ok' : result.error.code, code, String(raw).slice(0, 60));
  }
});

test('the ready message (receiver listens) parses, and nothing else rides along', () => {
  assert.deepEqual(parseChannelMessage('{"type":"ready"}'), { ok: true, value: { type: 'ready' } });
  assert.deepEqual(parseChannelMessage(encodeChannelMessage({ type: 'ready' })), { ok: true, value: { type: 'ready' } });
});

test('a receipt names 1 to 100 message ids; anything else is refused with the field at fault', () => {
  const parsed = parseChannelMessage(JSON.stringify({ type: 'receipt', ids: ['a', 'b'] }));
  assert.deepEqual(parsed.ok && parsed.value, { type: 'receipt', ids: ['a', 'b'] });
  for (const ids of [[], Array.from({ length: 101 }, (_, i) => `m${i}`), [''], ['x'.repeat(LIMITS.maxChatIdLength + 1)], [7], 'a']) {
    const bad = parseChannelMessage(JSON.stringify({ type: 'receipt', ids }));
    assert.equal(bad.ok, false, JSON.stringify(ids).slice(0, 40));
    assert.equal(!bad.ok && bad.error.field, 'ids');
  }
});

test('presence is "active" or "away", nothing else', () => {
  const parsed = parseChannelMessage(JSON.stringify({ type: 'presence', state: 'away' }));
  assert.deepEqual(parsed.ok && parsed.value, { type: 'presence', state: 'away' });
  for (const state of ['busy', '', 1, undefined]) {
    const bad = parseChannelMessage(JSON.stringify({ type: 'presence', state }));
    assert.equal(!bad.ok && bad.error.field, 'state');
  }
});

test('history lines and their signatures (version 8): a sig is 64 bytes of base64url; history-sig holds 1 to 100', () => {
  const sig = 'A'.repeat(86);
  const line = { type: 'history', id: 'm1', from: 'abcdefgh1234', name: 'Ann', text: 'hi', at: 1, sig };
  assert.deepEqual(parseChannelMessage(JSON.stringify(line)), { ok: true, value: line });
  const unsigned = { ...line, sig: undefined };
  assert.equal(parseChannelMessage(JSON.stringify(unsigned)).ok, true);
  assert.equal(parseChannelMessage(JSON.stringify({ ...line, sig: 'short' })).ok, false);
  const batch = { type: 'history-sig', sigs: [{ id: 'm1', sig }] };
  assert.deepEqual(parseChannelMessage(JSON.stringify(batch)), { ok: true, value: batch });
  for (const sigs of [[], Array.from({ length: 101 }, (_, i) => ({ id: `m${i}`, sig })), 'x', [{ id: 'm1' }], [{ id: 'm1', sig: '!'.repeat(86) }], [null]]) {
    const result = parseChannelMessage(JSON.stringify({ type: 'history-sig', sigs }));
    assert.equal(result.ok, false, JSON.stringify(sigs).slice(0, 40));
  }
});

test('lineSigningText binds the room, the author, the id, the time and the text, not the name', () => {
  const line = { from: 'abcdefgh1234', id: 'm1', at: 5, text: 'hi' };
  assert.equal(lineSigningText('lobby', line), 'p2p-chat line 1\nlobby\nabcdefgh1234\nm1\n5\nhi');
  assert.notEqual(lineSigningText('other', line), lineSigningText('lobby', line));
  assert.notEqual(lineSigningText('lobby', { ...line, text: 'hi!' }), lineSigningText('lobby', line));
});
