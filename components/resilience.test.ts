import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import type { P2pChat } from './p2p-chat.js';
import { addChat, addFramedChat, framedChat, meshOf, record, removeAll, signalingUrl, textsFrom, uniqueRoom, waitForMesh, waitUntil } from '../test/helpers.js';

interface ProcessState {
  url: string;
  running: boolean;
}
const signalingProcess = (action: 'start' | 'stop' | 'status') => executeServerCommand<ProcessState, { action: string }>('signaling-process', { action });

describe('resilience', () => {
  let chats: P2pChat[] = [];
  let frames: HTMLIFrameElement[] = [];
  afterEach(async () => {
    removeAll(chats);
    removeAll(frames);
    chats = [];
    frames = [];
    await signalingProcess('start');
  });

  it('signaling outage: open channels keep chatting, peers rejoin with the same ids, a newcomer reaches everyone', async () => {
    const { url } = await signalingProcess('status');
    const room = uniqueRoom('outage');
    chats = await meshOf(room, ['A', 'B', 'C'], url);
    const [a, b, c] = chats as [P2pChat, P2pChat, P2pChat];
    const ids = chats.map((chat) => chat.selfId);
    const got = chats.map((chat) => record(chat, 'p2p-message'));
    const left = chats.map((chat) => record(chat, 'p2p-peer-leave'));

    const stoppedAt = performance.now();
    await signalingProcess('stop');
    await waitUntil(() => chats.every((chat) => chat.mesh?.status === 'reconnecting'), 'every chat notices the outage');
    // The element renders on its next frame, which a busy machine delays: wait for it to show.
    const status = () => a.shadowRoot!.querySelector('[part="status"]')!.textContent!;
    await waitUntil(() => status().includes('reconnecting'), 'the status line says so', 2_000).catch(() => {});
    expect(status()).to.contain('reconnecting');
    // The server is gone; the data channels are not.
    a.send('during the outage, from A');
    b.send('during the outage, from B');
    c.send('during the outage, from C');
    await waitUntil(() => got.every((list) => list.length === 2), 'messages during the outage arrive');
    expect(textsFrom(got[1]!, a.selfId)).to.deep.equal(['during the outage, from A']);
    expect(textsFrom(got[0]!, c.selfId)).to.deep.equal(['during the outage, from C']);

    await new Promise((resolve) => setTimeout(resolve, 1000));
    await signalingProcess('start');
    const restartedAt = performance.now();
    await waitUntil(() => chats.every((chat) => chat.mesh?.status === 'joined'), 'every chat rejoins', 20_000);
    const rejoinMs = performance.now() - restartedAt;
    console.log(`outage: ${Math.round(restartedAt - stoppedAt)} ms down; all three rejoined ${Math.round(rejoinMs)} ms after the restart`);
    expect(chats.map((chat) => chat.selfId)).to.deep.equal(ids);

    const d = addChat(room, 'D', { server: url });
    chats.push(d);
    await waitForMesh(chats);
    for (const chat of chats) {
      expect(chat.peers.length, 'no duplicate peers').to.equal(3);
      expect(chat.mesh!.connectionCount, 'no duplicate connections').to.equal(3);
    }
    expect(
      left.every((list) => list.length === 0),
      'nobody was reported gone',
    ).to.equal(true);
    const dGot = record(d, 'p2p-message');
    d.send('hello from the newcomer');
    a.send('welcome D');
    await waitUntil(() => got.slice(0, 3).every((list) => list.some((m) => m.text === 'hello from the newcomer')) && dGot.length === 1, 'D reaches everyone');
    // Nothing lost, nothing doubled.
    expect(got[1]!.map((m) => m.text).sort()).to.deep.equal(
      ['during the outage, from A', 'during the outage, from C', 'hello from the newcomer', 'welcome D'].sort(),
    );
  });

  it('a peer dies mid-negotiation: the other cleans up, leaks no connection, and the peer can come back', async () => {
    const room = uniqueRoom('midneg');
    const frame = addFramedChat('peer', signalingUrl(), room, 'X');
    frames.push(frame);
    // X is in the room first, so X will offer to A.
    await waitUntil(() => framedChat(frame)?.selfId != null, 'X joined');
    const a = addChat(room, 'A');
    chats = [a];
    const left = record(a, 'p2p-peer-leave');
    const errors = record(a, 'p2p-error');
    let pc: RTCPeerConnection | undefined;
    let xId = '';
    a.addEventListener('p2p-signal', (event) => {
      const { direction, message, peer } = event.detail;
      if (direction === 'in' && message.type === 'offer' && frame.isConnected) {
        // The page of the offerer closes right after its offer, before any answer.
        xId = peer!;
        pc = a.mesh!.connectionTo(peer!);
        frame.remove();
      }
    });
    await waitUntil(() => left.length === 1, 'A sees X leave');
    expect(left[0]!.id).to.equal(xId);
    expect(a.mesh!.connectionCount).to.equal(0);
    expect(pc?.connectionState).to.equal('closed');
    const list = () => a.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelectorAll('li[data-peer-id]').length;
    await waitUntil(() => list() === 0, 'the peer list is empty again');
    expect(errors.map((e) => e.code)).to.deep.equal([]);

    frames.push(addFramedChat('peer', signalingUrl(), room, 'X'));
    await waitUntil(() => a.peers.some((p) => p.name === 'X' && p.state === 'connected'), 'X is back and connected');
    expect(a.mesh!.connectionCount).to.equal(1);
  });

  it('ICE restart: a new offer with new ICE credentials, and the channel carries on', async () => {
    const room = uniqueRoom('ice');
    chats = await meshOf(room, ['A', 'B']);
    const [a, b] = chats as [P2pChat, P2pChat];
    const signals = record(a, 'p2p-signal');
    const closed = record(a, 'p2p-channel-close');
    const got = record(b, 'p2p-message');
    const ufrag = (sdp: string) => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
    const before = a.mesh!.connectionTo(b.selfId!)!.localDescription!.sdp;
    a.mesh!.restartIce(b.selfId!);
    await waitUntil(() => signals.some((s) => s.direction === 'in' && s.message.type === 'answer'), 'the restart offer is answered');
    const offer = signals.find((s) => s.direction === 'out' && s.message.type === 'offer');
    expect(offer && offer.message.type === 'offer' && ufrag(offer.message.sdp)).to.not.equal(ufrag(before));
    expect(signals.some((s) => s.direction === 'note' && s.message.code === 'ice-restart')).to.equal(true);
    await waitUntil(() => ['connected', 'completed'].includes(a.mesh!.connectionTo(b.selfId!)!.iceConnectionState), 'ICE connected again');
    a.send('after the restart');
    await waitUntil(() => got.length === 1, 'the message arrives');
    expect(closed).to.deep.equal([]);
    // The answerer may ask too (perfect negotiation sorts out who offers).
    b.mesh!.restartIce(a.selfId!);
    const gotA = record(a, 'p2p-message');
    await new Promise((resolve) => setTimeout(resolve, 500));
    b.send('after the second restart');
    await waitUntil(() => gotA.length === 1, 'the reply arrives');
  });

  it('delivery: a burst of 1,000 messages across 4 peers, sent while channels are still opening, arrives exactly once and in order', async () => {
    const room = uniqueRoom('burst');
    const names = ['P1', 'P2', 'P3', 'P4'];
    chats = names.map((name) => addChat(room, name));
    const got = chats.map((chat) => record(chat, 'p2p-message'));
    const errs = chats.map((chat) => record(chat, 'p2p-error'));
    // Everyone knows everyone (the links exist) but channels are still opening.
    await waitUntil(() => chats.every((chat) => chat.peers.length === 3), 'all peers known');
    const openAtStart = chats.reduce((n, chat) => n + chat.peers.filter((p) => p.state === 'connected').length, 0);
    let queued = 0;
    chats.forEach((chat, i) => {
      for (let n = 0; n < 250; n++) queued += chat.send(`${names[i]}:${n}`).queued.length;
    });
    const sentAt = performance.now();
    await waitUntil(() => got.every((list) => list.length >= 750), 'every peer has 750 messages', 25_000).catch((error: Error) => {
      const bySender = got.map((list) => chats.map((sender) => textsFrom(list, sender.selfId).length));
      const pending = chats.map((c) => chats.map((o) => (o === c ? '-' : c.mesh!.pendingTo(o.selfId!))).join(' '));
      throw new Error(
        `${error.message}: received by sender ${JSON.stringify(bySender)}; still queued ${JSON.stringify(pending)}; errors ${JSON.stringify(errs)}`,
      );
    });
    console.log(`burst delivered in ${Math.round(performance.now() - sentAt)} ms`);
    // A sentinel from each peer, last on each ordered channel: once all are in, any
    // duplicate of the burst would be too.
    chats.forEach((chat, i) => chat.send(`sentinel ${names[i]}`));
    await waitUntil(() => got.every((list) => list.filter((m) => m.text.startsWith('sentinel')).length === 3), 'every sentinel arrives');
    for (const list of got) list.splice(0, list.length, ...list.filter((m) => !m.text.startsWith('sentinel')));
    console.log(`burst: ${openAtStart} of 12 channel ends open when sending began; ${queued} sends waited for a channel to open`);
    expect(queued).to.be.greaterThan(0);
    chats.forEach((chat, i) => {
      expect(got[i]!.length, `${names[i]} got each message once`).to.equal(750);
      for (const [j, sender] of chats.entries()) {
        if (sender === chat) continue;
        expect(textsFrom(got[i]!, sender.selfId)).to.deep.equal(Array.from({ length: 250 }, (_, n) => `${names[j]}:${n}`));
      }
    });
  });
});
