/**
 * A mesh of four chats spread over three signaling processes that share rooms through a
 * real redis-server (the `cluster` server command). The process two of them use is
 * killed (SIGKILL): they fail over to another with their ids, the mesh stays whole,
 * nobody sees a message twice, and a client of that process that never comes back is
 * announced gone once the grace (3 s here) has passed.
 */
import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

interface ClusterState {
  urls: string[];
}
const cluster = (payload: { action: 'start' | 'stop' | 'kill'; index?: number }) => executeServerCommand<ClusterState, typeof payload>('cluster', payload);

describe('several signaling processes sharing rooms through Redis', () => {
  let chats: P2pChat[] = [];
  let ghost: WebSocket | null = null;
  after(async () => {
    removeAll(chats);
    ghost?.close();
    await cluster({ action: 'stop' });
  });

  it('four chats over three processes: kill -9 the one two of them use, they fail over with their ids, nobody sees a duplicate', async () => {
    const { urls } = await cluster({ action: 'start' });
    expect(urls).to.have.length(3);
    const room = uniqueRoom('cluster');
    // Every chat is given all three URLs (as a page would be) and picks one at random.
    chats = ['A', 'B', 'C', 'D'].map((name) => addChat(room, name, { server: urls.join(' ') }));
    await waitForMesh(chats, 30_000);
    const ids = chats.map((chat) => chat.selfId);
    const got = chats.map((chat) => record(chat, 'p2p-message'));
    const left = chats.map((chat) => record(chat, 'p2p-peer-leave'));

    // Four chats on three processes: one process holds two or more of them.
    const used = chats.map((chat) => urls.indexOf(chat.mesh!.serverUrl));
    expect(used.every((index) => index >= 0)).to.equal(true);
    const counts = [0, 1, 2].map((index) => used.filter((u) => u === index).length);
    const victim = counts.indexOf(Math.max(...counts));
    const moving = chats.filter((_, k) => used[k] === victim);
    expect(moving.length).to.be.greaterThanOrEqual(2);

    // A client of that process that will never come back (no WebRTC: chat goes to it through the relay).
    ghost = new WebSocket(urls[victim]!);
    await new Promise((resolve) => ghost!.addEventListener('open', resolve, { once: true }));
    ghost.send(JSON.stringify({ type: 'new-peer', room, name: 'Ghost', webrtc: false, version: 3 }));
    const ghostId = await new Promise<string>((resolve) =>
      ghost!.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data)) as { type: string; id?: string };
        if (message.type === 'welcome') resolve(message.id!);
      }),
    );
    await waitUntil(() => chats.every((chat) => chat.peers.some((p) => p.id === ghostId)), 'every chat lists the ghost');

    await cluster({ action: 'kill', index: victim });
    const killedAt = performance.now();
    // The chats of the dead process reconnect to another, resuming their ids.
    await waitUntil(
      () => moving.every((chat) => chat.mesh!.status === 'joined' && chat.mesh!.serverUrl !== urls[victim]),
      'the chats of the killed process to join another',
      20_000,
    );
    expect(chats.map((chat) => chat.selfId)).to.deep.equal(ids);
    for (const chat of chats) chat.send(`after the failover, from ${chat.getAttribute('name')}`);
    await waitUntil(() => got.every((list) => list.length >= 3), 'every chat gets the three others’ messages');

    // The ghost is announced gone: after the grace, before liveness expiry + grace + slack.
    await waitUntil(() => chats.every((chat) => !chat.peers.some((p) => p.id === ghostId)), 'the ghost to be announced gone', 20_000);
    const goneAfter = performance.now() - killedAt;
    expect(goneAfter).to.be.greaterThan(3000);
    expect(goneAfter).to.be.lessThan(15_000);

    // The mesh stayed whole the whole time: nobody left but the ghost, nothing arrived twice.
    await waitForMesh(chats);
    for (const [k, list] of got.entries()) {
      const texts = list.map((m) => m.text).sort();
      const expected = chats.filter((_, j) => j !== k).map((chat) => `after the failover, from ${chat.getAttribute('name')}`);
      expect(texts).to.deep.equal(expected.sort());
    }
    for (const list of left) expect(list.map((l) => l.id)).to.deep.equal([ghostId]);
  });
});
