import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, remote, signalingUrl, textsFrom, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

interface Remote {
  id: string;
  userAgent: string;
}

describe('cross-browser mesh', () => {
  const here: P2pChat[] = [];
  afterEach(async () => {
    for (const chat of here.splice(0)) chat.remove();
    await remote({ action: 'close' });
  });

  it('Chromium and Firefox peers in one room: every message reaches every peer once', async () => {
    const thisIsFirefox = navigator.userAgent.includes('Firefox');
    const other = thisIsFirefox ? 'chromium' : 'firefox';
    const room = uniqueRoom('cross');
    const url = (name: string) => `${location.origin}/test/fixtures/drop-in.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=${name}`;
    // Two peers in this browser, two in the other one: every pair but two crosses browsers.
    here.push(addChat(room, 'here-1'), addChat(room, 'here-2'));
    const remotes: Remote[] = [];
    for (const name of ['there-1', 'there-2']) remotes.push((await remote<Remote>({ action: 'open', product: other, url: url(name) }))!);
    expect(remotes[0]!.userAgent.includes('Firefox')).to.equal(!thisIsFirefox);
    const got = here.map((chat) => record(chat, 'p2p-message'));
    const eval_ = <T>(id: string, expression: string) => remote<T>({ action: 'eval', id, expression });
    await waitUntil(
      () => here.every((chat) => chat.peers.filter((p) => p.state === 'connected' && p.transport === 'direct').length === 3),
      'a full direct mesh of 4',
      30_000,
    ).catch(async (error: Error) => {
      const there = await Promise.all(remotes.map((r) => eval_<unknown>(r.id, 'JSON.stringify(window.p2pTest.chat.peers)')));
      throw new Error(`${error.message}: here ${JSON.stringify(here.map((c) => c.peers))} there ${JSON.stringify(there)}`);
    });
    await waitForMesh(here);
    // The other browser's view of the mesh (polled: it may lag ours a little).
    const directThere = () =>
      Promise.all(
        remotes.map((r) => eval_<number>(r.id, `window.p2pTest.chat.peers.filter((p) => p.state === 'connected' && p.transport === 'direct').length`)),
      );
    let counts = await directThere();
    for (let attempt = 0; attempt < 150 && !counts.every((n) => n === 3); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      counts = await directThere();
    }
    expect(counts, 'the other browser sees three direct peers each').to.deep.equal([3, 3]);
    here[0]!.send('from here-1');
    here[1]!.send('from here-2');
    for (const [i, r] of remotes.entries()) await eval_(r.id, `window.p2pTest.chat.send('from there-${i + 1}')`);
    // Then a sentinel from every peer, last on each ordered channel: once every peer has
    // all of them, a duplicate of an earlier message would have arrived too.
    here[0]!.send('sentinel');
    here[1]!.send('sentinel');
    for (const r of remotes) await eval_(r.id, `window.p2pTest.chat.send('sentinel')`);
    const sentinels = (list: readonly { text: string }[]) => list.filter((m) => m.text === 'sentinel').length;
    await waitUntil(() => got.every((list) => sentinels(list) === 3), 'this browser has every sentinel', 15_000);
    for (let attempt = 0; attempt < 150; attempt++) {
      const counts = await Promise.all(remotes.map((r) => eval_<number>(r.id, "window.p2pTest.received.filter((m) => m.text === 'sentinel').length")));
      if (counts.every((n) => n === 3)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const real = (list: readonly { text: string }[]) => list.map((m) => m.text).filter((text) => text !== 'sentinel');
    expect(real(got[0]!).sort()).to.deep.equal(['from here-2', 'from there-1', 'from there-2']);
    expect(real(got[1]!).sort()).to.deep.equal(['from here-1', 'from there-1', 'from there-2']);
    for (const [i, r] of remotes.entries()) {
      const texts = real((await eval_<{ text: string }[]>(r.id, 'window.p2pTest.received.map((m) => ({ text: m.text }))'))!).sort();
      const expected = ['from here-1', 'from here-2', `from there-${2 - i}`].sort();
      expect(texts, `there-${i + 1}`).to.deep.equal(expected);
    }
    expect(textsFrom(got[0]!, here[1]!.selfId)).to.deep.equal(['from here-2', 'sentinel']);
  });

  it('safety codes match between Chromium and Firefox', async () => {
    const thisIsFirefox = navigator.userAgent.includes('Firefox');
    const room = uniqueRoom('cross-verify');
    const chat = addChat(room, 'here');
    here.push(chat);
    await waitUntil(() => chat.selfId !== null, 'joined here');
    const url = `${location.origin}/test/fixtures/drop-in.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=there`;
    const there = (await remote<Remote>({ action: 'open', product: thisIsFirefox ? 'chromium' : 'firefox', url }))!;
    await waitUntil(
      () => chat.peers.some((p) => p.name === 'there' && p.state === 'connected' && p.transport === 'direct'),
      'connected across browsers',
      30_000,
    );
    const peer = chat.peers.find((p) => p.name === 'there')!.id;
    const outcome = await chat.verifyPeer(peer);
    expect(outcome.ok, outcome.ok ? '' : outcome.reason).to.equal(true);
    if (!outcome.ok) return;
    // The other browser's verify shows that same comparison's code.
    const theirs = await remote<{ ok: boolean; code?: string }>({
      action: 'eval',
      id: there.id,
      expression: `window.p2pTest.chat.verifyPeer(${JSON.stringify(chat.selfId)})`,
    });
    expect(theirs!.ok).to.equal(true);
    expect(theirs!.code).to.equal(outcome.code);
  });
});
