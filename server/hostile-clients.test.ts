/**
 * What an outside hostile-client test found, each reproduced with real sockets: closed
 * connections that keep acting, a refused resume that still evicted its owner, join
 * churn without limit, one member getting another disconnected, and per-address limits
 * behind a proxy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeafClient, TestClient, withServer } from './test-client.js';
import { createSignalingServer } from './signaling-server.js';

const SDP = 'v=0\r\n';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a connection replaced by its own resume token stops counting at once, even if it ignores the close', async () => {
  await withServer({}, async (url) => {
    const witness = await TestClient.join(url, 'room', 'witness');
    const old = await DeafClient.open(url);
    old.send({ type: 'new-peer', room: 'room', name: 'old' });
    await witness.client.next('new-peer');
    await sleep(50);
    const welcome = old.received.find((m) => m.type === 'welcome');
    assert.ok(welcome && welcome.type === 'welcome');
    // The same peer comes back on a new connection: the old one is closed (1008)...
    const fresh = await TestClient.open(url);
    fresh.send({ type: 'new-peer', room: 'room', name: 'new', resume: welcome.resume });
    const freshWelcome = await fresh.next('welcome');
    assert.equal(freshWelcome.id, welcome.id);
    await sleep(50);
    assert.equal(old.closeCode, 1008);
    // ...but ignores that and tries to push the newer connection out, to signal, and to haunt another room.
    old.send({ type: 'new-peer', room: 'room', resume: welcome.resume });
    old.send({ type: 'offer', to: witness.welcome.id, sdp: SDP });
    old.send({ type: 'new-peer', room: 'elsewhere', name: 'ghost' });
    const elsewhere = await TestClient.join(url, 'elsewhere', 'resident');
    await sleep(200);
    await witness.client.settle();
    assert.equal(fresh.closed, null, 'the newer connection stays');
    assert.deepEqual(
      witness.client.received.filter((m) => m.type === 'offer'),
      [],
      'no offer from the closed connection',
    );
    assert.deepEqual(elsewhere.welcome.peers, [], 'no ghost in another room');
    old.destroy();
    fresh.close();
    witness.client.close();
    elsewhere.client.close();
  });
});

test('a connection closed for flooding relays nothing more', async () => {
  await withServer({ messagesPerSecond: 5, messageBurst: 5, floodCloseAfter: 5 }, async (url) => {
    const target = await TestClient.join(url, 'flood', 'target');
    const flooder = await DeafClient.open(url);
    flooder.send({ type: 'new-peer', room: 'flood', name: 'flooder' });
    await target.client.next('new-peer');
    for (let i = 0; i < 20; i++) flooder.send({ type: 'candidate', to: target.welcome.id, candidate: null });
    const closedAt = Date.now();
    while (flooder.closeCode === null && Date.now() - closedAt < 2000) await sleep(10);
    assert.equal(flooder.closeCode, 1008);
    await target.client.next('peer-disconnected');
    const before = target.client.received.filter((m) => m.type === 'candidate').length;
    // Its tokens refill over a second; it keeps sending after the close.
    await sleep(1100);
    for (let i = 0; i < 10; i++) flooder.send({ type: 'candidate', to: target.welcome.id, candidate: null });
    await sleep(200);
    await target.client.settle();
    assert.equal(target.client.received.filter((m) => m.type === 'candidate').length, before, 'nothing after the close');
    flooder.destroy();
    target.client.close();
  });
});

test("a resume refused because the room is full leaves the owner's live session alone", async () => {
  await withServer({ maxRoomSize: 2 }, async (url) => {
    const owner = await TestClient.join(url, 'home', 'owner');
    const mate = await TestClient.join(url, 'home', 'mate');
    await owner.client.next('new-peer');
    const full1 = await TestClient.join(url, 'full', 'f1');
    const full2 = await TestClient.join(url, 'full', 'f2');
    // Someone with the owner's token asks to join the full room as the owner.
    const thief = await TestClient.open(url);
    thief.send({ type: 'new-peer', room: 'full', resume: owner.welcome.resume });
    assert.equal((await thief.next('error')).code, 'room-full');
    await sleep(100);
    await mate.client.settle();
    assert.equal(owner.client.closed, null, 'the owner is still connected');
    assert.deepEqual(
      mate.client.received.filter((m) => m.type === 'peer-disconnected'),
      [],
      'its room was not told it left',
    );
    // And it still signals.
    owner.client.send({ type: 'offer', to: mate.welcome.id, sdp: SDP });
    assert.equal((await mate.client.next('offer')).from, owner.welcome.id);
    for (const c of [owner.client, mate.client, full1.client, full2.client, thief]) c.close();
  });
});

test('join churn from one address is limited: a room hears at most the burst, then the rate', async () => {
  await withServer({ joinsPerIp: { perSecond: 5, burst: 10 }, joinsPerRoom: { perSecond: 100, burst: 100 } }, async (url) => {
    const member = await TestClient.join(url, 'churn', 'member'); // one join of the budget
    const started = Date.now();
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const c = await TestClient.open(url);
      c.send({ type: 'new-peer', room: 'churn' });
      const reply = await Promise.race([c.next('welcome').then(() => 'welcome' as const), c.next('error').then((e) => e.code)]);
      if (reply === 'rate-limited') refused++;
      c.close();
      await c.waitClosed();
    }
    const elapsed = (Date.now() - started) / 1000;
    await sleep(100);
    await member.client.settle();
    const notices = member.client.received.filter((m) => m.type === 'new-peer').length;
    const allowed = 9 + Math.ceil(elapsed * 5) + 1;
    assert.ok(notices <= allowed, `${notices} join notices in ${elapsed.toFixed(2)} s (at most ${allowed})`);
    assert.ok(refused >= 40 - allowed, `${refused} joins refused with rate-limited`);
    member.client.close();
  });
});

test('one member cannot get another disconnected by filling its queue: the sender is stopped, the receiver stays', async () => {
  await withServer({ maxBufferedBytes: 256 * 1024, messagesPerSecond: 1000, messageBurst: 1000, floodCloseAfter: 1000 }, async (url) => {
    const victim = await TestClient.join(url, 'busy', 'victim');
    const flooder = await TestClient.join(url, 'busy', 'flooder');
    const friend = await TestClient.join(url, 'busy', 'friend');
    await victim.client.next('new-peer');
    await victim.client.next('new-peer');
    // The victim is slow (its socket does not read for a moment)...
    const raw = (victim.client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    // ...and the flooder sends it large offers as fast as it may.
    const big = `v=0\r\n${'a'.repeat(30 * 1024)}`;
    for (let i = 0; i < 500; i++) flooder.client.send({ type: 'offer', to: victim.welcome.id, sdp: big });
    const busy = await flooder.client.next('error', 5000);
    assert.equal(busy.code, 'receiver-busy');
    raw.resume();
    await victim.client.settle();
    assert.equal(victim.client.closed, null, 'the victim keeps its connection');
    // And it still hears the room: a friend's offer arrives.
    friend.client.send({ type: 'offer', to: victim.welcome.id, sdp: 'v=0\r\nfriend' });
    const offers = async () => {
      for (;;) {
        const offer = await victim.client.next('offer', 5000);
        if (offer.from === friend.welcome.id) return offer;
      }
    };
    assert.equal((await offers()).sdp, 'v=0\r\nfriend');
    for (const c of [victim.client, flooder.client, friend.client]) c.close();
  });
});

test('per-address limits behind a proxy: X-Forwarded-For counts only from trusted proxies', async () => {
  // Untrusted: the header is ignored, everyone is the socket's address.
  await withServer({ maxConnectionsPerIp: 2 }, async (url) => {
    const a = await DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.1' });
    const b = await DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.2' });
    await assert.rejects(DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.3' }), /429/);
    a.destroy();
    b.destroy();
  });
  // One trusted hop (the proxy on 127.0.0.1): each forwarded address has its own count.
  await withServer({ maxConnectionsPerIp: 2, trustProxy: 1 }, async (url) => {
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(await DeafClient.open(url, { 'X-Forwarded-For': `198.18.1.${i + 1}` }));
    clients.push(await DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.1' }));
    await assert.rejects(DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.1' }), /429/, 'the third from one client address');
    // A client cannot pick its address past the trusted hop: only the last entry counts.
    await assert.rejects(DeafClient.open(url, { 'X-Forwarded-For': '198.19.0.9, 198.18.1.1' }), /429/);
    for (const c of clients) c.destroy();
  });
  // Trusted by address range; IPv6 clients count per /64.
  await withServer({ maxConnectionsPerIp: 1, trustProxy: '127.0.0.0/8' }, async (url) => {
    const one = await DeafClient.open(url, { 'X-Forwarded-For': '2001:2:0:1::1' });
    await assert.rejects(DeafClient.open(url, { 'X-Forwarded-For': '2001:2:0:1:ffff::9' }), /429/, 'same /64');
    const other = await DeafClient.open(url, { 'X-Forwarded-For': '2001:2:0:2::1' });
    one.destroy();
    other.destroy();
  });
});

test('under --trust-proxy <hops>, a client that reaches the port directly cannot pick its address with X-Forwarded-For', async () => {
  // Every test connection comes from loopback, where a proxy would be. Here the server is
  // handed each upgrade with its socket's address rewritten to 198.18.0.7 (a public-looking
  // address), as a client on the internet that skips the proxy and writes the header itself.
  const signaling = await createSignalingServer({ noServer: true, trustProxy: 1, maxConnectionsPerIp: 1 });
  const front = createServer();
  let direct = true;
  front.on('upgrade', (request, socket, head) => {
    if (direct) Object.defineProperty(socket, 'remoteAddress', { value: '198.18.0.7' });
    signaling.handleUpgrade(request, socket, head);
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  const url = `ws://127.0.0.1:${(front.address() as AddressInfo).port}`;
  try {
    const first = await DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.1' });
    // A second connection with another forged address is the same address: over the limit of 1.
    await assert.rejects(DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.2' }), /429/, 'counted as its socket address');
    // From loopback (the proxy's place) the same header is believed.
    direct = false;
    const proxied = await DeafClient.open(url, { 'X-Forwarded-For': '198.18.1.2' });
    first.destroy();
    proxied.destroy();
  } finally {
    await signaling.close();
    front.closeAllConnections();
    front.close();
  }
});

/** The answer to one join: 'welcome', or the error's code and message. */
function joinReply(client: TestClient): Promise<string> {
  return Promise.race([client.next('welcome', 3000).then(() => 'welcome'), client.next('error', 3000).then((e) => `${e.code}: ${e.message}`)]);
}

test('a join/leave storm from one address does not keep other addresses out of the room (finding 2)', async (t) => {
  // The default join rates: 10/s with a burst of 100 per address, 10/s with a burst of 60 per room.
  await withServer({}, async (url) => {
    const member = await TestClient.join(url, 'storm', 'member');
    const started = Date.now();
    let attempts = 0;
    let welcomed = 0;
    // From 127.0.0.2, as fast as it can, two at a time: join, leave, again; 400 joins at most.
    const storm = async () => {
      while (attempts < 400 && Date.now() - started < 8000) {
        attempts++;
        const c = await TestClient.open(url, { localAddress: '127.0.0.2' });
        c.send({ type: 'new-peer', room: 'storm' });
        if ((await joinReply(c)) === 'welcome') welcomed++;
        c.close();
        await c.waitClosed();
      }
    };
    const storming = Promise.all([storm(), storm()]);
    /** One join from 127.0.0.3 once the storm has tried `after` joins: its answer, and how long it took. */
    const otherJoins = async (after: number) => {
      while (attempts < after && Date.now() - started < 8000) await sleep(5);
      const at = Date.now();
      const c = await TestClient.open(url, { localAddress: '127.0.0.3' });
      c.send({ type: 'new-peer', room: 'storm', name: 'other' });
      const reply = await joinReply(c);
      c.close();
      return { reply, ms: Date.now() - at };
    };
    // Well past the room's burst of 60 (which one address used to spend alone), later on, and at once after it.
    const early = await otherJoins(100);
    const late = await otherJoins(300);
    await storming;
    const elapsed = (Date.now() - started) / 1000;
    const after = await otherJoins(0);
    t.diagnostic(
      `storm: ${attempts} joins tried in ${elapsed.toFixed(2)} s, ${welcomed} welcomed; another address: ${early.ms} and ${late.ms} ms during, ${after.ms} ms after`,
    );
    for (const [when, join] of Object.entries({ early, late, after })) {
      assert.equal(join.reply, 'welcome', `another address joins (${when})`);
      assert.ok(join.ms < 1000, `within 1 s (${when}: ${join.ms} ms)`);
    }
    // The room is still spared the storm: one address gets a quarter of its budget (burst 15, 2.5/s).
    const share = 15 + Math.ceil(elapsed * 2.5) + 1;
    assert.ok(welcomed <= share, `${welcomed} of the storm's joins welcomed in ${elapsed.toFixed(2)} s (at most ${share})`);
    member.client.close();
  });
});

/** Three members of one room, the first one's socket paused (it reads nothing until resumed). */
async function slowRoom(url: string) {
  const victim = await TestClient.join(url, 'slow', 'victim');
  const flooder = await TestClient.join(url, 'slow', 'flooder');
  const friend = await TestClient.join(url, 'slow', 'friend');
  await victim.client.next('new-peer');
  await victim.client.next('new-peer');
  await flooder.client.next('new-peer');
  const raw = (victim.client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  raw.pause();
  const big = `v=0\r\n${'a'.repeat(30 * 1024)}`;
  const small = `v=0\r\n${'a'.repeat(1024)}`;
  /**
   * The flooder sends large offers to the victim, `max` of them or (`untilBusy`) until told
   * receiver-busy, then small ones to fill what a large one left (up to 1 KiB free). Says
   * how many large ones it sent (the kernel's buffers take some before the queue fills).
   */
  const flood = async (max: number, untilBusy = true) => {
    let sent = 0;
    while (sent < max && flooder.client.closed === null) {
      flooder.client.send({ type: 'offer', to: victim.welcome.id, sdp: big });
      if (++sent % 20 > 0) continue;
      await sleep(5);
      if (untilBusy && flooder.client.received.some((m) => m.type === 'error' && m.code === 'receiver-busy')) break;
    }
    for (let i = 0; i < 40 && flooder.client.closed === null; i++) flooder.client.send({ type: 'offer', to: victim.welcome.id, sdp: small });
    await sleep(20);
    return sent;
  };
  /** An ordinary offer (4 KiB, as a browser's are) from the friend to the victim. */
  const ordinary = (tag: string) => friend.client.send({ type: 'offer', to: victim.welcome.id, sdp: `v=0\r\n${tag}\r\n${'a'.repeat(4096)}` });
  /** Whether the room heard that the victim is gone (its friend is told at once). */
  const victimGone = () => friend.client.received.some((m) => m.type === 'peer-disconnected' && m.id === victim.welcome.id);
  return { victim, flooder, friend, raw, flood, ordinary, victimGone };
}

test("a slow receiver is judged by its own reading: another sender's frame to its full queue is refused, it stays, the flooder is cut (finding 3)", async () => {
  await withServer({ maxBufferedBytes: 256 * 1024, messagesPerSecond: 1000, messageBurst: 1000, floodCloseAfter: 100 }, async (url) => {
    const { victim, flooder, friend, raw, flood, ordinary, victimGone } = await slowRoom(url);
    await flood(1000);
    assert.equal((await flooder.client.next('error', 5000)).code, 'receiver-busy', 'the queue is full');
    // An ordinary member sends the victim one frame: refused, not the victim's end.
    ordinary('friend');
    assert.equal((await friend.client.next('error')).code, 'receiver-busy', 'the other sender is told');
    await friend.client.settle();
    assert.equal(victimGone(), false, 'the victim is not closed for it');
    // The flooder keeps on: it is the one cut.
    await flood(1000);
    assert.equal((await flooder.client.waitClosed(5000)).code, 1008);
    assert.equal((await friend.client.next('peer-disconnected')).id, flooder.welcome.id);
    assert.equal(victimGone(), false);
    // The victim reads again: it is still here and hears the room.
    raw.resume();
    await victim.client.settle();
    assert.equal(victim.client.closed, null, 'the victim keeps its connection');
    friend.client.send({ type: 'offer', to: victim.welcome.id, sdp: 'v=0\r\nagain' });
    for (;;) {
      const offer = await victim.client.next('offer', 5000);
      if (offer.from === friend.welcome.id) {
        assert.equal(offer.sdp, 'v=0\r\nagain');
        break;
      }
    }
    for (const c of [victim.client, friend.client]) c.close();
  });
});

test('a receiver whose full queue drains nothing for receiverStallMs is closed with 1013; one that reads slowly is not', async (t) => {
  const options = { maxBufferedBytes: 256 * 1024, messagesPerSecond: 5000, messageBurst: 5000, floodCloseAfter: 100_000 };
  // Slow but reading: a moment in every round (well under the 2 s allowed), the queue full
  // again each time before the friend sends, for more than twice the 2 s.
  await withServer({ ...options, receiverStallMs: 2000 }, async (url) => {
    const { victim, flooder, friend, raw, flood, ordinary, victimGone } = await slowRoom(url);
    const fills = await flood(1000);
    await flooder.client.next('error', 5000);
    const started = Date.now();
    let longest = 0;
    for (let round = 0; round < 20 && Date.now() - started < 4500; round++) {
      const at = Date.now();
      raw.resume();
      await sleep(30);
      raw.pause();
      // Twice what filled it from empty (the kernel's buffers grow as it reads), so it is full again.
      await flood(2 * fills, false);
      await sleep(100);
      ordinary(`round ${round}`);
      longest = Math.max(longest, Date.now() - at);
    }
    t.diagnostic(`slow reader: ${Date.now() - started} ms of rounds, the longest without reading ${longest} ms`);
    await friend.client.settle();
    assert.equal(victimGone(), false, 'a receiver that reads is never closed for being slow');
    assert.ok(
      friend.client.received.some((m) => m.type === 'error' && m.code === 'receiver-busy'),
      'its queue was full when the friend sent',
    );
    raw.resume();
    await victim.client.settle();
    assert.equal(victim.client.closed, null);
    for (const c of [victim.client, flooder.client, friend.client]) c.close();
  });
  // Not reading at all.
  await withServer({ ...options, receiverStallMs: 300 }, async (url) => {
    const { victim, flooder, friend, raw, flood, ordinary } = await slowRoom(url);
    await flood(1000);
    await flooder.client.next('error', 5000);
    await sleep(400);
    ordinary('late');
    const gone = await friend.client.next('peer-disconnected');
    assert.equal(gone.id, victim.welcome.id, 'the receiver that read nothing for 300 ms is closed');
    // Behind what was queued for it, its close frame says why.
    raw.resume();
    assert.equal((await victim.client.waitClosed(5000)).code, 1013);
    for (const c of [flooder.client, friend.client]) c.close();
  });
});
