import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, withServer } from './test-client.js';

const SDP = 'v=0\r\n';

test('rate limit: frames over the burst are dropped with one rate-limited error; a flood is closed with 1008', async () => {
  await withServer({ messagesPerSecond: 5, messageBurst: 10, floodCloseAfter: 30 }, async (url) => {
    const a = await TestClient.join(url, 'rate', 'a'); // the join took one token
    const b = await TestClient.join(url, 'rate', 'b');
    for (let i = 0; i < 12; i++) a.client.send({ type: 'offer', to: b.welcome.id, sdp: `${SDP}${i}` });
    const limited = await a.client.next('error');
    assert.equal(limited.code, 'rate-limited');
    await a.client.settle();
    // Only one error for the whole burst, not one per dropped frame.
    assert.equal(a.client.received.filter((m) => m.type === 'error').length, 0);
    await b.client.settle();
    const offers = b.client.received.filter((m) => m.type === 'offer').length;
    assert.ok(offers >= 9 && offers <= 10, `${offers} offers passed`);
    // Keep flooding: closed.
    for (let i = 0; i < 40; i++) a.client.send({ type: 'offer', to: b.welcome.id, sdp: SDP });
    assert.equal((await a.client.waitClosed()).code, 1008);
    assert.equal((await b.client.next('peer-disconnected')).id, a.welcome.id);
    b.client.close();
  });
});

test('max clients: the next connection is refused at the upgrade with 503', async () => {
  await withServer({ maxClients: 2 }, async (url) => {
    const one = await TestClient.open(url);
    const two = await TestClient.open(url);
    await assert.rejects(TestClient.open(url), /503/);
    one.close();
    await one.waitClosed();
    // A freed place can be taken (the server notices the close a moment later).
    let three: TestClient | undefined;
    for (let i = 0; i < 50 && !three; i++) three = await TestClient.open(url).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 20)));
    assert.ok(three);
    two.close();
    three.close();
  });
});

test('connections per IP: more from one address are refused with 429', async () => {
  await withServer({ maxConnectionsPerIp: 2 }, async (url) => {
    const one = await TestClient.open(url);
    const two = await TestClient.open(url);
    await assert.rejects(TestClient.open(url), /429/);
    one.close();
    two.close();
  });
});

test('name and room length limits are options', async () => {
  await withServer({ maxNameLength: 5, maxRoomLength: 4 }, async (url) => {
    const client = await TestClient.open(url);
    client.send({ type: 'new-peer', room: 'abcde' });
    const room = await client.next('error');
    assert.deepEqual([room.code, room.field], ['too-large', 'room']);
    client.send({ type: 'new-peer', room: 'abcd', name: 'sixsix' });
    const name = await client.next('error');
    assert.deepEqual([name.code, name.field], ['too-large', 'name']);
    client.send({ type: 'new-peer', room: 'abcd', name: 'five5' });
    assert.equal((await client.next('welcome')).limits.maxNameLength, 5);
    client.close();
  });
});

test('resume: the token brings back the same id; the old socket is replaced without a leave', async () => {
  await withServer({}, async (url) => {
    const a = await TestClient.join(url, 'resume', 'a');
    const b = await TestClient.join(url, 'resume', 'b');
    await a.client.next('new-peer');
    // b comes back on a second socket before its first one is known to be dead.
    const again = await TestClient.open(url);
    again.send({ type: 'new-peer', room: 'resume', name: 'b', resume: b.welcome.resume });
    const welcome = await again.next('welcome');
    assert.equal(welcome.id, b.welcome.id);
    assert.deepEqual(welcome.peers, [{ id: a.welcome.id, name: 'a' }]);
    assert.equal((await b.client.waitClosed()).code, 1008);
    // a hears "new-peer" again (it may already be connected to b) but never "peer-disconnected".
    assert.equal((await a.client.next('new-peer')).id, b.welcome.id);
    await a.client.settle();
    assert.equal(a.client.received.filter((m) => m.type === 'peer-disconnected').length, 0);
    // Relays reach the new socket.
    a.client.send({ type: 'offer', to: b.welcome.id, sdp: SDP });
    assert.equal((await again.next('offer')).from, a.welcome.id);
    // A made-up token gives a different, unused id: ids cannot be claimed without their token.
    const other = await TestClient.open(url);
    other.send({ type: 'new-peer', room: 'resume', resume: 'x'.repeat(24) });
    const otherWelcome = await other.next('welcome');
    assert.ok(![a.welcome.id, b.welcome.id].includes(otherWelcome.id));
    for (const c of [a.client, again, other]) c.close();
  });
});

test('resume after a server restart: same id on a new server process', async () => {
  let token = '';
  let id = '';
  await withServer({}, async (url) => {
    const a = await TestClient.join(url, 'restart', 'a');
    token = a.welcome.resume;
    id = a.welcome.id;
    a.client.close();
  });
  await withServer({}, async (url) => {
    const client = await TestClient.open(url);
    client.send({ type: 'new-peer', room: 'restart', resume: token });
    assert.equal((await client.next('welcome')).id, id);
    client.close();
  });
});
