/**
 * Surviving a reload (issue 18, item 2): with `persist`, a page reloaded in the same tab
 * keeps its id and its transcript, and the peers see no leave and no join; what a peer
 * sends once it is back arrives once. `clearHistory()` forgets what was kept.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, framedChat, record, signalingUrl, uniqueRoom, waitUntil } from './helpers.js';

function addPersistentFrame(room: string, name: string): HTMLIFrameElement {
  const frame = document.createElement('iframe');
  frame.src = `/test/fixtures/peer.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=${name}&persist`;
  document.body.append(frame);
  return frame;
}

/** The texts of the message lines shown, and how many of them were restored. */
function shown(chat: P2pChat): { texts: string[]; restored: number; earlier: number } {
  const lines = [...chat.shadowRoot!.querySelectorAll('[part~="message"]')];
  return {
    texts: lines.map((line) => line.querySelector('[part="text"]')!.textContent!),
    restored: lines.filter((line) => line.getAttribute('part')!.includes('restored')).length,
    earlier: lines.filter((line) => line.getAttribute('part')!.includes('earlier')).length,
  };
}

/** Reloads the frame and waits for its new chat to be joined with a direct connection to a peer. */
async function reload(frame: HTMLIFrameElement, old: P2pChat): Promise<P2pChat> {
  frame.contentWindow!.location.reload();
  await waitUntil(() => framedChat(frame) !== null && framedChat(frame) !== old, 'the page is back');
  const chat = framedChat(frame)!;
  await waitUntil(() => chat.peers.some((p) => p.state === 'connected' && p.transport === 'direct'), 'connected again', 20_000);
  return chat;
}

describe('persist: surviving a reload', () => {
  let ann: P2pChat | null = null;
  let frame: HTMLIFrameElement | null = null;
  afterEach(() => {
    ann?.remove();
    frame?.remove();
    ann = frame = null;
  });

  it('same id, same transcript, no leave or join at the peer; clearHistory() forgets', async () => {
    const room = uniqueRoom('persist');
    ann = addChat(room, 'Ann');
    frame = addPersistentFrame(room, 'Kit');
    await waitUntil(() => framedChat(frame!)?.peers.some((p) => p.state === 'connected') === true, 'Kit connected', 20_000);
    let kit = framedChat(frame)!;
    await waitUntil(() => ann!.peers.some((p) => p.id === kit.selfId && p.state === 'connected'), 'Ann sees Kit');
    const kitId = kit.selfId!;
    ann.send('one');
    await waitUntil(() => shown(kit).texts.includes('one'), 'Kit has "one"');
    kit.send('two');
    ann.send('three');
    await waitUntil(() => shown(kit).texts.includes('three'), 'Kit has "three"');
    // A moment for the save after the last line (one write per burst).
    await new Promise((resolve) => setTimeout(resolve, 400));

    const leaves = record(ann, 'p2p-peer-leave');
    const joins = record(ann, 'p2p-peer-join');
    const annGot = record(ann, 'p2p-message');
    kit = await reload(frame, kit);
    expect(kit.selfId).to.equal(kitId);
    await waitUntil(() => shown(kit).restored === 3, 'three lines restored');
    expect(shown(kit).texts).to.deep.equal(['one', 'two', 'three']);

    // Both ways again, and what came before is not shown twice (history passed on again by Ann included).
    ann.send('four');
    await waitUntil(() => shown(kit).texts.includes('four'), 'four arrives');
    kit.send('five');
    await waitUntil(() => annGot.some((m) => m.text === 'five'), 'five arrives');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(shown(kit).texts).to.deep.equal(['one', 'two', 'three', 'four', 'five']);
    expect(annGot.filter((m) => m.text === 'five').map((m) => m.from)).to.deep.equal([kitId]);
    expect(leaves, 'Ann saw no leave').to.deep.equal([]);
    expect(joins, 'Ann saw no join').to.deep.equal([]);
    expect(ann.peers.filter((p) => p.id === kitId).map((p) => [p.state, p.transport])).to.deep.equal([['connected', 'direct']]);

    // Forgotten: nothing restored after the next reload (Ann's history is earlier, by Ann).
    await kit.clearHistory();
    expect(shown(kit).texts).to.deep.equal([]);
    kit = await reload(frame, kit);
    expect(kit.selfId).to.equal(kitId);
    await waitUntil(() => shown(kit).earlier > 0, 'history from Ann');
    expect(shown(kit).restored).to.equal(0);
  });

  it('without persist a reload is a new peer: a new id, and the peer sees a leave and a join', async () => {
    const room = uniqueRoom('no-persist');
    ann = addChat(room, 'Ann');
    frame = document.createElement('iframe');
    frame.src = `/test/fixtures/peer.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=Kit`;
    document.body.append(frame);
    await waitUntil(() => framedChat(frame!)?.peers.some((p) => p.state === 'connected') === true, 'Kit connected', 20_000);
    const kit = framedChat(frame)!;
    const kitId = kit.selfId!;
    const leaves = record(ann, 'p2p-peer-leave');
    const joins = record(ann, 'p2p-peer-join');
    const again = await reload(frame, kit);
    expect(again.selfId).to.not.equal(kitId);
    await waitUntil(() => leaves.some((l) => l.id === kitId) && joins.some((j) => j.id === again.selfId), 'a leave and a join');
  });
});
