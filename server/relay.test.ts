import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { TestClient, withServer } from './test-client.js';

const chat = (text: string) => ({ type: 'chat', id: `m-${text.length}`, text, at: 1, name: 'kit' });

test('chat relay: a peer without WebRTC is announced as such, and chat is relayed within the room only', async () => {
  await withServer({}, async (url) => {
    const direct = await TestClient.join(url, 'relay', 'direct');
    const kit = await TestClient.open(url);
    kit.send({ type: 'new-peer', room: 'relay', name: 'kit', webrtc: false });
    const welcome = await kit.next('welcome');
    assert.equal(welcome.limits.relay, true);
    assert.deepEqual(await direct.client.next('new-peer'), { type: 'new-peer', id: welcome.id, name: 'kit', webrtc: false });
    const later = await TestClient.join(url, 'relay', 'later');
    assert.deepEqual(
      later.welcome.peers.find((p) => p.id === welcome.id),
      { id: welcome.id, name: 'kit', webrtc: false },
    );

    kit.send({ type: 'relay', to: direct.welcome.id, message: chat('hi over the relay'), from: 'spoofed' });
    assert.deepEqual(await direct.client.next('relay'), { type: 'relay', from: welcome.id, message: chat('hi over the relay') });
    // Not to another room.
    const elsewhere = await TestClient.join(url, 'other-room', 'x');
    kit.send({ type: 'relay', to: elsewhere.welcome.id, message: chat('leak?') });
    assert.equal((await kit.next('error')).code, 'unknown-peer');
    // Validated like any chat message.
    kit.send({ type: 'relay', to: direct.welcome.id, message: { ...chat('x'), text: 'x'.repeat(4001) } });
    assert.equal((await kit.next('error')).code, 'too-large');
    kit.send({ type: 'relay', to: direct.welcome.id, message: { type: 'chat', text: 'no id' } });
    assert.equal((await kit.next('error')).code, 'missing-field');
    kit.send({ type: 'relay', to: direct.welcome.id, message: 'text' });
    assert.equal((await kit.next('error')).code, 'wrong-type');
    await elsewhere.client.settle();
    assert.equal(elsewhere.client.received.length, 0);
    for (const c of [direct.client, kit, later.client, elsewhere.client]) c.close();
  });
});

test('with relaying off, relay messages get relay-disabled and welcome says so', async () => {
  await withServer({ relay: false }, async (url) => {
    const a = await TestClient.join(url, 'norelay', 'a');
    const b = await TestClient.join(url, 'norelay', 'b');
    assert.equal(a.welcome.limits.relay, false);
    a.client.send({ type: 'relay', to: b.welcome.id, message: chat('nope') });
    assert.equal((await a.client.next('error')).code, 'relay-disabled');
    await b.client.settle();
    assert.equal(b.client.received.filter((m) => m.type === 'relay').length, 0);
    a.client.close();
    b.client.close();
  });
});

test('sealed relay (protocol 5): keys and sealed messages pass as they are; malformed ones are refused', async () => {
  await withServer({}, async (url) => {
    const a = await TestClient.join(url, 'sealed', 'a');
    const b = await TestClient.join(url, 'sealed', 'b');
    assert.equal(a.welcome.version, PROTOCOL_VERSION);
    const key = { type: 'relay-key', key: 'B'.repeat(87) };
    const sealed = { type: 'sealed', iv: 'A'.repeat(16), data: 'z-_9'.repeat(40) };
    a.client.send({ type: 'relay', to: b.welcome.id, message: key });
    assert.deepEqual(await b.client.next('relay'), { type: 'relay', from: a.welcome.id, message: key });
    a.client.send({ type: 'relay', to: b.welcome.id, message: { type: 'relay-key' } });
    assert.deepEqual(await b.client.next('relay'), { type: 'relay', from: a.welcome.id, message: { type: 'relay-key' } });
    a.client.send({ type: 'relay', to: b.welcome.id, message: sealed });
    assert.deepEqual(await b.client.next('relay'), { type: 'relay', from: a.welcome.id, message: sealed });
    for (const [bad, code] of [
      [{ ...sealed, iv: 'short' }, 'bad-value'],
      [{ ...sealed, data: 'not base64url!' }, 'bad-value'],
      [{ ...sealed, data: 'x'.repeat(40_000) }, 'too-large'],
      [{ type: 'sealed', iv: sealed.iv }, 'missing-field'],
      [{ type: 'relay-key', key: 'short' }, 'bad-value'],
    ] as const) {
      a.client.send({ type: 'relay', to: b.welcome.id, message: bad });
      const error = await a.client.next('error');
      assert.equal(error.code, code, JSON.stringify(bad).slice(0, 60));
    }
    await b.client.settle();
    assert.equal(b.client.received.filter((m) => m.type === 'relay').length, 0, 'nothing malformed reached the peer');
    a.client.close();
    b.client.close();
  });
});
