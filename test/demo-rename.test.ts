/**
 * The demo after a rename (issue 32, finding 11): the page joins as `guestNNN` by itself;
 * a name typed in its Join form (same room, same server) is a `rename`, and the
 * connections stay, so the five-phase cards keep what happened on them (candidates,
 * offer/answer, channel open, and no messages that were never sent). Current names show
 * on the cards, in the log and in the inspector, and the log explains `rename` and
 * `peer-renamed`.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, addDemoFrame, demoLoaded, removeAll, uniqueRoom, waitUntil } from './helpers.js';

interface Card {
  title: string;
  done: string[];
  candidates: number;
}

function card(doc: Document, id: string): Card | null {
  const article = doc.querySelector<HTMLElement>(`#peer-phases [data-peer="${id}"]`);
  if (!article) return null;
  const title = article.querySelector('strong')!.textContent!;
  return {
    title,
    done: [...article.querySelectorAll<HTMLElement>('li.done')].map((li) => li.dataset['phase']!),
    candidates: Number(/(\d+) candidate\(s\) exchanged/.exec(title)?.[1] ?? NaN),
  };
}

const logLines = (doc: Document) => [...doc.querySelectorAll('#log li')].map((li) => li.textContent!);

describe('the demo after a rename', () => {
  let elements: HTMLElement[] = [];
  afterEach(() => {
    removeAll(elements);
    elements = [];
  });

  it('keeps the phases of the connections that stay, and shows and explains the new names', async () => {
    const room = uniqueRoom('demo-rename');
    const frame = addDemoFrame(room);
    elements.push(frame);
    const doc = await demoLoaded(frame);
    const chat = doc.getElementById('chat') as P2pChat;
    await waitUntil(() => chat.selfId !== null, 'the demo joined by itself');
    expect(chat.name).to.match(/^guest\d{3}$/);
    const selfId = chat.selfId!;

    const peer = addChat(room, 'Pia');
    elements.push(peer);
    await waitUntil(() => peer.selfId !== null, 'the peer joined');
    const peerId = peer.selfId!;
    await waitUntil(() => chat.peers.some((p) => p.id === peerId && p.state === 'connected'), 'connected to the peer', 20_000);
    await waitUntil(() => {
      const c = card(doc, peerId);
      return c !== null && ['join', 'sdp', 'ice', 'open'].every((phase) => c.done.includes(phase));
    }, 'the card shows phases 1-4');
    // The candidates still trickling settle before the count is taken.
    await waitUntil(() => chat.mesh?.connectionTo(peerId)?.iceGatheringState === 'complete', 'gathering complete');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = card(doc, peerId)!;
    expect(before.candidates).to.be.greaterThan(0);
    expect(before.done).to.not.include('messages');
    const connection = chat.mesh!.connectionTo(peerId);
    const inspector = doc.querySelector('.inspect p2p-inspector')!;

    // Our new name, through the Join form (same room, same server): a rename.
    (doc.querySelector('#join input[name="name"]') as HTMLInputElement).value = 'Rae Renamed';
    (doc.getElementById('join') as HTMLFormElement).requestSubmit();
    await waitUntil(() => peer.peers.some((p) => p.id === selfId && p.name === 'Rae Renamed'), 'the peer hears of our new name');
    // The peer's new name: the server tells us.
    peer.name = 'Pia Two';
    await waitUntil(() => chat.peers.some((p) => p.id === peerId && p.name === 'Pia Two'), 'we hear of the new name');
    await new Promise((resolve) => setTimeout(resolve, 300));

    // It was a rename: the same session and connection.
    expect(chat.selfId).to.equal(selfId);
    expect(chat.mesh!.connectionTo(peerId)).to.equal(connection);

    const after = card(doc, peerId);
    expect(after, 'the card of the connection that stayed').to.not.equal(null);
    expect(after!.candidates).to.be.at.least(before.candidates);
    expect(after!.done).to.deep.equal(['join', 'sdp', 'ice', 'open']);
    expect(after!.title).to.match(/^Pia Two \(/);

    const lines = logLines(doc);
    // The log from the first join is still there, and the renames are explained.
    expect(lines.some((l) => / → offer | ← offer /.test(l))).to.equal(true);
    const renameOut = lines.find((l) => / → rename /.test(l));
    expect(renameOut).to.include('"Rae Renamed"');
    expect(renameOut).to.match(/connection stays/i);
    const renamedIn = lines.find((l) => / ← peer-renamed /.test(l));
    expect(renamedIn).to.include('Pia → Pia Two');
    expect(renamedIn).to.match(/same connection/i);
    // What is said after the rename uses the new name.
    peer.send('hello Rae');
    await waitUntil(() => card(doc, peerId)?.done.includes('messages') === true, 'the message phase');

    // The inspector: our name in its heading, the peer's on its section, the rename in its diagram.
    const root = inspector.shadowRoot!;
    await waitUntil(() => root.querySelector('h2')!.textContent!.includes('Rae Renamed'), "the inspector's heading");
    const section = root.querySelector(`[data-peer="${peerId}"]`)!;
    expect(section.querySelector('summary')!.textContent).to.include('Pia Two');
    const renameRow = section.querySelector('tr[data-type="rename"][data-direction="out"]');
    expect(renameRow, 'our rename in the diagram').to.not.equal(null);
    expect(renameRow!.querySelectorAll('td')[3]!.textContent).to.equal('signaling server');
    expect(renameRow!.textContent).to.match(/connection stays/i);
    const renamedRow = section.querySelector('tr[data-type="peer-renamed"][data-direction="in"]');
    expect(renamedRow!.textContent).to.match(/connection stays/i);
  });
});
