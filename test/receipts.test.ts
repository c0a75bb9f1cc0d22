/**
 * Delivery receipts between real browsers (issue 18, item 3): each receiver confirms the
 * messages it got over its data channel (batched), and the sender's line goes from sent
 * to "delivered to k of n".
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

describe('delivery receipts', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('in a mesh of four, a message reaches "delivered to 3 of 3"; a private one "1 of 1"', async () => {
    const room = uniqueRoom('receipts');
    const [ann, bob, cy, di] = ['Ann', 'Bob', 'Cy', 'Di'].map((name) => addChat(room, name)) as [P2pChat, P2pChat, P2pChat, P2pChat];
    chats = [ann, bob, cy, di];
    await waitForMesh(chats);
    const statuses = record(ann, 'p2p-message-status');
    const { message } = ann.send('did everyone get this?');
    const id = message!.id;
    await waitUntil(() => statuses.some((s) => s.id === id && s.delivered === 3), 'three receipts');
    const last = statuses.filter((s) => s.id === id).at(-1)!;
    expect(last).to.include({ delivered: 3, of: 3 });
    expect([...last.peers].sort()).to.deep.equal([bob.selfId, cy.selfId, di.selfId].sort());
    // Each receipt moved the count up by one, never past the number of peers.
    expect(statuses.filter((s) => s.id === id).map((s) => s.delivered)).to.deep.equal([1, 2, 3]);
    await ann.updateComplete;
    const own = [...ann.shadowRoot!.querySelectorAll('[role="log"] li[part~="own"]')].at(-1)!;
    expect(own.querySelector('[part="receipt"]')!.textContent!.trim()).to.equal('delivered to 3 of 3');

    const secret = ann.sendTo(bob.selfId!, 'only for Bob').message!.id;
    await waitUntil(() => statuses.some((s) => s.id === secret), 'the private message is confirmed');
    expect(statuses.filter((s) => s.id === secret).map((s) => [s.delivered, s.of])).to.deep.equal([[1, 1]]);
  });
});
