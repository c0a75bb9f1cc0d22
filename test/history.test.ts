/**
 * History for late joiners between real browsers (issue 18, item 1): the peers already in
 * the room pass on its recent public messages over their data channels; the newcomer
 * shows the last N once, in order, marked as earlier and by whom; private messages are
 * never passed on; `history="off"` neither asks nor answers.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, signalingUrl, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

function joinLate(room: string, name: string, history: string): P2pChat {
  const chat = document.createElement('p2p-chat');
  chat.setAttribute('history', history);
  chat.setAttribute('room', room);
  chat.setAttribute('name', name);
  chat.setAttribute('server', signalingUrl());
  document.body.append(chat);
  return chat;
}

describe('history for late joiners', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('a late joiner gets exactly the last N messages once, in order, passed on by the peers already there; never a private one', async () => {
    const room = uniqueRoom('history');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    const annGot = record(ann, 'p2p-message');
    const bobGot = record(bob, 'p2p-message');
    const said = ['one', 'two', 'three', 'four', 'five'];
    for (const [i, text] of said.entries()) {
      const [from, to] = i % 2 === 0 ? [ann, bobGot] : [bob, annGot];
      from.send(text);
      await waitUntil(() => to.some((m) => m.text === text), `"${text}" arrives`);
    }
    ann.sendTo(bob.selfId!, 'a secret for Bob');
    await waitUntil(() => bobGot.some((m) => m.text === 'a secret for Bob'), 'the private message arrives');
    // Each author's signatures follow its messages a moment later (batched).
    await new Promise((resolve) => setTimeout(resolve, 600));

    const cy = joinLate(room, 'Cy', '4');
    chats.push(cy);
    const cyGot = record(cy, 'p2p-message');
    const cyHistory = record(cy, 'p2p-history');
    await waitUntil(() => cyHistory.length >= 1, 'Cy gets the earlier messages');
    // Every answer is in before any line shows: one ordered batch, and a short settle finds nothing more.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(cyHistory).to.have.length(1);
    expect(cyGot, 'earlier messages are not live messages').to.deep.equal([]);
    const earlierGot = cyHistory[0]!.messages;
    expect(earlierGot.map((m) => m.text)).to.deep.equal(['two', 'three', 'four', 'five']);
    expect(earlierGot.every((m) => m.history === true)).to.equal(true);
    expect(earlierGot.map((m) => m.name)).to.deep.equal(['Bob', 'Ann', 'Bob', 'Ann']);
    expect(earlierGot.every((m) => m.via === ann.selfId || m.via === bob.selfId)).to.equal(true);
    expect(earlierGot.map((m) => m.from)).to.deep.equal([bob.selfId, ann.selfId, bob.selfId, ann.selfId]);
    // Both authors are here: every line's signature was checked against its author's key.
    expect(earlierGot.map((m) => m.signed)).to.deep.equal([true, true, true, true]);
    // And with the status of the key that checked it: a ✓ only for a key this profile verified.
    expect(earlierGot.every((m) => m.signer === 'verified' || m.signer === 'new')).to.equal(true);

    // Shown above the live messages, outside the live region, each saying who passed it on.
    await cy.updateComplete;
    const earlier = [...cy.shadowRoot!.querySelectorAll('[part="earlier"] li')];
    expect(earlier.map((li) => li.querySelector('[part="text"]')!.textContent)).to.deep.equal(['two', 'three', 'four', 'five']);
    expect(earlier.every((li) => /passed on by (Ann|Bob)/.test(li.querySelector('[part="via"]')!.textContent!))).to.equal(true);
    expect(earlier.every((li) => li.querySelector('[part="signed"]') !== null)).to.equal(true);
    const marks = earlier.map((li) => li.querySelector<HTMLElement>('[part="signed"]')!);
    expect(marks.map((mark) => mark.dataset['signer'])).to.deep.equal(earlierGot.map((m) => m.signer));
    expect(marks.every((mark) => mark.textContent!.startsWith('✓') === (mark.dataset['signer'] === 'verified'))).to.equal(true);
    expect(cy.shadowRoot!.querySelector('[role="log"] [part="earlier"]')).to.equal(null);

    // What is said now arrives live, once, and is not marked earlier.
    await waitForMesh(chats);
    ann.send('six');
    await waitUntil(() => cyGot.some((m) => m.text === 'six'), 'a live message reaches Cy');
    expect(cyGot.map((m) => m.text)).to.deep.equal(['six']);
    expect(cy.shadowRoot!.querySelector('[role="log"] [part~="message"] [part="text"]')!.textContent).to.equal('six');
  });

  it('history="off": the newcomer asks for nothing and shows nothing earlier', async () => {
    const room = uniqueRoom('history-off');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    const bobGot = record(bob, 'p2p-message');
    ann.send('before Di');
    await waitUntil(() => bobGot.length === 1, 'the message arrives');
    const di = joinLate(room, 'Di', 'off');
    chats.push(di);
    const diGot = record(di, 'p2p-message');
    const diHistory = record(di, 'p2p-history');
    await waitForMesh(chats);
    // A live message as the sentinel: anything earlier would have come before it on the same channel.
    ann.send('now');
    await waitUntil(() => diGot.some((m) => m.text === 'now'), 'a live message reaches Di');
    expect(diGot.map((m) => m.text)).to.deep.equal(['now']);
    expect(diHistory).to.deep.equal([]);
    await di.updateComplete;
    expect(di.shadowRoot!.querySelector('[part="earlier"]')).to.equal(null);
  });

  it("a peer that changes the lines it passes on is found out: its copies fail their authors' signatures and are not shown", async () => {
    const room = uniqueRoom('history-forged');
    const ann = addChat(room, 'Ann');
    const frame = document.createElement('iframe');
    frame.src = `/test/fixtures/peer.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=Kit&tamper=history`;
    document.body.append(frame);
    try {
      await waitUntil(() => ann.peers.some((p) => p.name === 'Kit' && p.state === 'connected'), 'Kit is here', 20_000);
      const kitId = ann.peers.find((p) => p.name === 'Kit')!.id;
      chats = [ann];
      ann.send('one');
      // Lines are ordered by sent time, then id: two in the same millisecond may come either way.
      await new Promise((resolve) => setTimeout(resolve, 5));
      ann.send('two');
      await new Promise((resolve) => setTimeout(resolve, 600));
      const cy = joinLate(room, 'Cy', '');
      chats.push(cy);
      const cyHistory = record(cy, 'p2p-history');
      const cyErrors = record(cy, 'p2p-error');
      await waitUntil(() => cyHistory.length >= 1 && cyErrors.length >= 1, 'Cy gets the lines and a warning');
      const lines = cyHistory.flatMap((h) => h.messages);
      expect(lines.map((m) => m.text)).to.deep.equal(['one', 'two']);
      expect(lines.every((m) => m.signed === true && m.via === ann.selfId)).to.equal(true);
      expect(cyErrors[0], JSON.stringify(cyErrors)).to.include({ code: 'bad-peer-message', peer: kitId });
      expect(cyErrors[0]!.message).to.match(/Kit passed on 2 earlier message/);
    } finally {
      frame.remove();
    }
  });
});
