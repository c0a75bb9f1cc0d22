/**
 * Blocking a peer locally (issue 18, item 7) in real browsers: nothing of theirs shows
 * here (lines already shown included), their files are declined, they are not told, and
 * the others are not affected; unblocking shows their new messages again.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

const logText = (chat: P2pChat) => chat.shadowRoot!.querySelector('[role="log"]')!.textContent!;

describe('blocking a peer', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('hides their messages (already shown too), typing and files here only; unblock shows new ones', async () => {
    const room = uniqueRoom('block');
    const [ann, bob, cy] = ['Ann', 'Bob', 'Cy'].map((name) => addChat(room, name)) as [P2pChat, P2pChat, P2pChat];
    chats = [ann, bob, cy];
    await waitForMesh(chats);
    const annGot = record(ann, 'p2p-message');
    const cyGot = record(cy, 'p2p-message');
    bob.send('before the block');
    await waitUntil(() => annGot.length === 1 && cyGot.length === 1, 'both get it');
    await ann.updateComplete;
    expect(logText(ann)).to.contain('before the block');

    ann.block(bob.selfId!);
    await ann.updateComplete;
    expect(logText(ann)).to.not.contain('before the block');
    expect(ann.peers.find((p) => p.id === bob.selfId)!.blocked).to.equal(true);
    await ann.shadowRoot!.querySelector('peer-list')!.updateComplete;
    expect(ann.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector(`li[data-peer-id="${bob.selfId}"] [part="blocked"]`)).to.not.equal(null);

    const annTyping = record(ann, 'p2p-typing');
    const bobFileErrors = record(bob, 'p2p-file-error');
    const annOffers = record(ann, 'p2p-file-offer');
    bob.mesh!.typing();
    const [fileId] = await bob.sendFile(new File([new Uint8Array(1000)], 'unwanted.bin'), { to: ann.selfId! });
    await waitUntil(() => bobFileErrors.some((e) => e.id === fileId && e.code === 'file-declined'), "Bob's file is declined");
    bob.send('after the block');
    await waitUntil(() => cyGot.length === 2, 'Cy still gets Bob');
    // Ann's sentinel: Cy's message comes after Bob's on a different channel, so give Bob's a moment too.
    cy.send('from Cy');
    await waitUntil(() => annGot.some((m) => m.text === 'from Cy'), "Cy's message reaches Ann");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(annGot.map((m) => m.text)).to.deep.equal(['before the block', 'from Cy']);
    expect(annTyping).to.deep.equal([]);
    expect(annOffers).to.deep.equal([]);

    ann.unblock(bob.selfId!);
    bob.send('after the unblock');
    await waitUntil(() => annGot.some((m) => m.text === 'after the unblock'), 'Bob shows again');
    await ann.updateComplete;
    expect(logText(ann)).to.contain('before the block');
  });
});
