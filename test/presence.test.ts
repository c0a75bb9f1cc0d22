/**
 * Presence between real browsers (issue 18, item 4): a page that is hidden says "away"
 * over the data channels, and "active" when it shows again; the peer list says so.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, setVisibility, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

const awayMark = (chat: P2pChat, peer: string) =>
  chat.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector(`li[data-peer-id="${peer}"] [part="away"]`);

describe('presence', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    setVisibility('visible');
    removeAll(chats);
    chats = [];
  });

  it('away while the page is hidden, active again when it shows; a peer joining later learns it too', async () => {
    const room = uniqueRoom('presence');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    const bobSees = record(bob, 'p2p-presence');
    // One document holds both chats, so the mesh API stands in for Ann's own page being hidden.
    ann.mesh!.setPresence('away');
    await waitUntil(() => bobSees.length === 1, 'Bob hears Ann is away');
    expect(bobSees[0]).to.deep.equal({ id: ann.selfId, state: 'away' });
    expect(bob.peers.find((p) => p.id === ann.selfId)!.away).to.equal(true);
    await bob.updateComplete;
    await bob.shadowRoot!.querySelector('peer-list')!.updateComplete;
    expect(awayMark(bob, ann.selfId!)?.textContent).to.equal('away');

    const cy = addChat(room, 'Cy');
    chats.push(cy);
    const cySees = record(cy, 'p2p-presence');
    await waitForMesh(chats);
    await waitUntil(() => cySees.some((p) => p.id === ann.selfId && p.state === 'away'), 'Cy, who came later, hears Ann is away');

    ann.mesh!.setPresence('active');
    await waitUntil(() => bobSees.length === 2, 'Bob hears Ann is back');
    expect(bobSees[1]).to.deep.equal({ id: ann.selfId, state: 'active' });
    await bob.updateComplete;
    await bob.shadowRoot!.querySelector('peer-list')!.updateComplete;
    expect(awayMark(bob, ann.selfId!)).to.equal(null);

    // The page's own visibility drives it: hidden, every chat on it says away.
    const annSees = record(ann, 'p2p-presence');
    setVisibility('hidden');
    await waitUntil(() => annSees.some((p) => p.id === bob.selfId && p.state === 'away'), "Ann hears Bob's page is hidden");
    setVisibility('visible');
    await waitUntil(() => annSees.some((p) => p.id === bob.selfId && p.state === 'active'), 'and shown again');
  });
});
