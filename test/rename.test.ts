/**
 * Renaming without reconnecting (issue 18, item 7): a new `name` while joined keeps every
 * connection; the peers get p2p-peer-rename and a notice, their lists and the next
 * messages carry the new name, and a later joiner is introduced with it.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, meshOf, record, removeAll, waitForMesh, waitUntil } from './helpers.js';

describe('renaming', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('a new name while joined: no reconnect, the peers see "Bob is now Robert", later joiners get it', async () => {
    chats = await meshOf(`rename-${Date.now().toString(36)}`, ['Ann', 'Bob']);
    const [ann, bob] = chats as [P2pChat, P2pChat];
    const bobId = bob.selfId!;
    const connection = ann.mesh!.connectionTo(bobId);
    const renames = record(ann, 'p2p-peer-rename');
    const leaves = record(ann, 'p2p-peer-leave');
    const statuses = record(bob, 'p2p-status');
    const got = record(ann, 'p2p-message');

    bob.name = 'Robert';
    await waitUntil(() => renames.length === 1, 'Ann hears of it');
    expect(renames[0]).to.deep.equal({ id: bobId, name: 'Robert', previous: 'Bob' });
    expect(ann.peers.find((p) => p.id === bobId)?.name).to.equal('Robert');
    await ann.updateComplete;
    const notices = [...ann.shadowRoot!.querySelectorAll('[part~="notice"]')].map((n) => n.textContent!.trim());
    expect(notices).to.include('Bob is now Robert');
    bob.send('hello');
    await waitUntil(() => got.length === 1, 'the message arrives');
    expect(got[0]!.name).to.equal('Robert');
    // The same connection and signaling session: nothing left, nothing rejoined.
    expect(bob.selfId).to.equal(bobId);
    expect(ann.mesh!.connectionTo(bobId)).to.equal(connection);
    expect(leaves).to.deep.equal([]);
    expect(statuses.map((s) => s.status)).to.deep.equal([]);

    const cy = addChat(ann.room, 'Cy');
    chats.push(cy);
    await waitForMesh(chats);
    expect(cy.peers.find((p) => p.id === bobId)?.name).to.equal('Robert');
  });
});
