import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, withServer } from './test-client.js';

/** Joins with `persist` (protocol version 8): this page keeps its token across a reload. */
async function joinPersistent(url: string, room: string, name: string, resume?: string) {
  const client = await TestClient.open(url);
  client.send({ type: 'new-peer', room, name, persist: true, version: 8, ...(resume ? { resume } : {}) });
  return { client, welcome: await client.next('welcome') };
}

test('persist: a page that goes without a clean close is announced as returning, and comes back with its id', async () => {
  await withServer({}, async (url) => {
    const stay = await TestClient.join(url, 'back', 'stay');
    const kit = await joinPersistent(url, 'back', 'kit');
    await stay.client.next('new-peer');

    // The page goes away (a reload: the browser says 1001; a dead network says nothing at all).
    kit.client.socket.terminate();
    assert.deepEqual(await stay.client.next('peer-disconnected'), { type: 'peer-disconnected', id: kit.welcome.id, returning: true });
    const again = await joinPersistent(url, 'back', 'kit', kit.welcome.resume);
    assert.equal(again.welcome.id, kit.welcome.id);
    assert.deepEqual(
      again.welcome.peers.map((p) => p.id),
      [stay.welcome.id],
    );
    assert.equal((await stay.client.next('new-peer')).id, kit.welcome.id);

    // Leaving on purpose (a clean close) is a plain leave.
    again.client.close();
    assert.deepEqual(await stay.client.next('peer-disconnected'), { type: 'peer-disconnected', id: kit.welcome.id });

    // Without persist, a dropped socket is a plain leave too.
    const plain = await TestClient.join(url, 'back', 'plain');
    await stay.client.next('new-peer');
    plain.client.socket.terminate();
    assert.deepEqual(await stay.client.next('peer-disconnected'), { type: 'peer-disconnected', id: plain.welcome.id });
    stay.client.close();
  });
});

test('rename (protocol 8): checked as in a join, told to the room, kept for later joiners', async () => {
  await withServer({ maxNameLength: 12 }, async (url) => {
    const ann = await TestClient.join(url, 'names', 'ann');
    const bob = await TestClient.join(url, 'names', 'bob');
    await ann.client.next('new-peer');
    bob.client.send({ type: 'rename', name: '  Robert  ' });
    assert.deepEqual(await ann.client.next('peer-renamed'), { type: 'peer-renamed', id: bob.welcome.id, name: 'Robert' });
    const cy = await TestClient.join(url, 'names', 'cy');
    assert.equal(cy.welcome.peers.find((p) => p.id === bob.welcome.id)?.name, 'Robert');
    // Refused: too long here, empty, forbidden characters; before joining.
    bob.client.send({ type: 'rename', name: 'a'.repeat(13) });
    assert.equal((await bob.client.next('error')).code, 'too-large');
    bob.client.send({ type: 'rename', name: '   ' });
    assert.equal((await bob.client.next('error')).code, 'missing-field');
    bob.client.send({ type: 'rename', name: 'bell\u0007' });
    assert.equal((await bob.client.next('error')).field, 'name');
    const early = await TestClient.open(url);
    early.send({ type: 'rename', name: 'early' });
    assert.equal((await early.next('error')).code, 'not-joined');
    await ann.client.settle();
    assert.equal(ann.client.received.filter((m) => m.type === 'peer-renamed').length, 0, 'no refused rename was told');
    for (const c of [ann.client, bob.client, cy.client, early]) c.close();
  });
});
