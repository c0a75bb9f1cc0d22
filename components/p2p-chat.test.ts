import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import type { P2pChat } from './p2p-chat.js';
import { addChat, record, removeAll, uniqueRoom, waitForMesh, waitUntil } from '../test/helpers.js';

describe('<p2p-chat> in a real mesh', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('(a) two peers: the channel opens on both and messages go both ways', async () => {
    const room = uniqueRoom('two');
    const ann = addChat(room, 'Ann');
    const annOpen = record(ann, 'p2p-channel-open');
    const annGot = record(ann, 'p2p-message');
    const welcome = record(ann, 'p2p-welcome');
    await waitUntil(() => welcome.length === 1, 'Ann is welcomed');
    const bo = addChat(room, 'Bo');
    chats = [ann, bo];
    const boOpen = record(bo, 'p2p-channel-open');
    const boGot = record(bo, 'p2p-message');
    await waitUntil(() => annOpen.length === 1 && boOpen.length === 1, 'the channel is open on both sides');
    expect(annOpen[0]?.id).to.equal(bo.selfId);
    expect(boOpen[0]?.id).to.equal(ann.selfId);
    expect(ann.peers).to.deep.equal([{ id: bo.selfId, name: 'Bo', state: 'connected', transport: 'direct' }]);

    expect(ann.send('hello from Ann').sent).to.deep.equal([bo.selfId]);
    bo.send('hi Ann, Bo here');
    await waitUntil(() => annGot.length === 1 && boGot.length === 1, 'both messages arrive');
    expect(boGot[0]).to.include({ from: ann.selfId, name: 'Ann', text: 'hello from Ann' });
    expect(annGot[0]).to.include({ from: bo.selfId, name: 'Bo', text: 'hi Ann, Bo here' });
    expect(typeof boGot[0]?.at).to.equal('number');
    // Both messages are in both transcripts, as text.
    const texts = (chat: P2pChat) => [...chat.shadowRoot!.querySelectorAll('[part~="text"]')].map((el) => el.textContent);
    await waitUntil(() => texts(ann).length === 2 && texts(bo).length === 2, 'both transcripts show both messages');
    expect(texts(ann)).to.deep.equal(['hello from Ann', 'hi Ann, Bo here']);
  });

  it('the input is labelled and Enter sends', async () => {
    const room = uniqueRoom('enter');
    const ann = addChat(room, 'Ann');
    const bo = addChat(room, 'Bo');
    chats = [ann, bo];
    const boGot = record(bo, 'p2p-message');
    await waitForMesh(chats);
    const input = ann.shadowRoot!.querySelector('input')!;
    const label = ann.shadowRoot!.querySelector(`label[for="${input.id}"]`);
    expect(label?.textContent?.trim()).to.equal('Message');
    // The list of messages sits in a live log (role=log on the list itself is not allowed).
    const log = ann.shadowRoot!.querySelector('[role="log"]')!;
    expect(log.querySelector('[part="messages"]')).to.not.equal(null);
    expect(log.getAttribute('aria-live')).to.equal('polite');
    input.focus();
    await sendKeys({ type: 'typed with the keyboard' });
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => boGot.length === 1, 'the typed message arrives');
    expect(boGot[0]?.text).to.equal('typed with the keyboard');
    expect(input.value).to.equal('');
  });

  it('(b) four peers: a full mesh, and every message reaches every other peer exactly once', async () => {
    const room = uniqueRoom('four');
    const names = ['P1', 'P2', 'P3', 'P4'];
    chats = names.map((name) => addChat(room, name));
    const got = chats.map((chat) => record(chat, 'p2p-message'));
    const opened = chats.map((chat) => record(chat, 'p2p-channel-open'));
    await waitForMesh(chats);
    opened.forEach((list) => expect(list.length).to.equal(3));
    chats.forEach((chat, i) => {
      for (let n = 0; n < 3; n++) chat.send(`${names[i]} #${n}`);
    });
    await waitUntil(() => got.every((list) => list.length >= 9), 'every peer has 9 messages');
    // A sentinel from each peer, last on each ordered channel: once all are in, any
    // duplicate of an earlier message would be too.
    chats.forEach((chat, i) => chat.send(`sentinel ${names[i]}`));
    await waitUntil(() => got.every((list) => list.filter((m) => m.text.startsWith('sentinel')).length === 3), 'every sentinel arrives');
    for (const list of got) list.splice(0, list.length, ...list.filter((m) => !m.text.startsWith('sentinel')));
    chats.forEach((chat, i) => {
      const texts = got[i]!.map((m) => m.text).sort();
      const expected = names
        .filter((_, j) => j !== i)
        .flatMap((name) => [0, 1, 2].map((n) => `${name} #${n}`))
        .sort();
      expect(texts, `${names[i]} received`).to.deep.equal(expected);
      // Each sender's messages arrive in the order sent.
      for (const sender of chats.filter((c) => c !== chat)) {
        const fromSender = got[i]!.filter((m) => m.from === sender.selfId).map((m) => m.text);
        expect(fromSender).to.deep.equal([0, 1, 2].map((n) => `${names[chats.indexOf(sender)]} #${n}`));
      }
    });
  });

  it('(c) a peer leaves: the others get p2p-peer-leave and their peer-list updates; a newcomer joins the mesh', async () => {
    const room = uniqueRoom('leave');
    chats = ['A', 'B', 'C'].map((name) => addChat(room, name));
    await waitForMesh(chats);
    const [a, b, c] = chats as [P2pChat, P2pChat, P2pChat];
    const leftA = record(a, 'p2p-peer-leave');
    const leftB = record(b, 'p2p-peer-leave');
    const goneId = c.selfId;
    c.remove();
    await waitUntil(() => leftA.length === 1 && leftB.length === 1, 'both remaining peers see C leave');
    expect(leftA[0]?.id).to.equal(goneId);
    expect(leftB[0]?.id).to.equal(goneId);
    const listed = (chat: P2pChat) =>
      [...chat.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelectorAll('li[data-peer-id]')].map(
        (li) => li.querySelector('[part="name"]')!.textContent,
      );
    await waitUntil(() => listed(a).length === 1 && listed(b).length === 1, 'the peer lists drop C');
    expect(listed(a)).to.deep.equal(['B']);
    expect(listed(b)).to.deep.equal(['A']);

    const d = addChat(room, 'D');
    chats = [a, b, d];
    await waitForMesh(chats);
    expect(listed(a).sort()).to.deep.equal(['B', 'D']);
    const dGot = record(d, 'p2p-message');
    a.send('welcome D');
    b.send('hello D');
    await waitUntil(() => dGot.length === 2, 'D hears from both');
    expect(dGot.map((m) => m.name).sort()).to.deep.equal(['A', 'B']);
  });

  it('a hostile message and name render as inert text', async () => {
    const room = uniqueRoom('hostile');
    const evilName = '<img src=x onerror="window.__pwned=1">';
    const evilText = '<script>window.__pwned=2</script><b onmouseover=alert(1)>bold</b>';
    const victim = addChat(room, 'Victim');
    const evil = addChat(room, evilName);
    chats = [victim, evil];
    const got = record(victim, 'p2p-message');
    await waitForMesh(chats);
    evil.send(evilText);
    await waitUntil(() => got.length === 1, 'the message arrives');
    const root = victim.shadowRoot!;
    await waitUntil(() => root.querySelector('li[part~="message"]') !== null, 'the message is rendered');
    const line = root.querySelector('li[part~="message"]')!;
    expect(line.querySelector('[part="name"]')!.textContent).to.equal(evilName);
    expect(line.querySelector('[part="text"]')!.textContent).to.equal(evilText);
    expect(root.querySelectorAll('img, script, b').length).to.equal(0);
    const list = root.querySelector('peer-list')!.shadowRoot!;
    expect(list.querySelectorAll('img').length).to.equal(0);
    expect(list.textContent).to.contain(evilName);
    expect((window as unknown as { __pwned?: number }).__pwned).to.equal(undefined);
  });

  it('without a server attribute it does nothing and says why; a bad server gives p2p-error', async () => {
    const idle = document.createElement('p2p-chat');
    document.body.append(idle);
    chats = [idle];
    await idle.updateComplete;
    expect(idle.shadowRoot!.querySelector('[part="status"]')!.textContent).to.contain('server');
    const errors = record(idle, 'p2p-error');
    idle.server = 'ws://127.0.0.1:9';
    await waitUntil(() => errors.length > 0, 'an error event');
    expect(errors[0]?.code).to.equal('signaling-unavailable');
  });

  it('names cannot reorder text or hide characters, and look-alike names carry a short id', async () => {
    const room = uniqueRoom('names');
    const viewer = addChat(room, 'Viewer');
    const ann = addChat(room, 'Ann');
    // Cyrillic "А" and a zero-width space: "Аnn" is not "Ann", but looks it.
    const twin = addChat(room, '\u0410n\u200bn');
    // A right-to-left override would show "exe.txt" as "txt.exe".
    const reorder = addChat(room, 'Bob\u202Etxt.exe');
    chats = [viewer, ann, twin, reorder];
    await waitForMesh(chats);
    const got = record(viewer, 'p2p-message');
    twin.send('it is me, Ann');
    reorder.send('hi');
    await waitUntil(() => got.length === 2, 'both messages arrive');
    const root = viewer.shadowRoot!;
    await waitUntil(() => root.querySelectorAll('li[part~="message"]').length === 2, 'rendered');
    // Two senders, two channels: arrival order is not send order, so find each line by its sender.
    const lineFrom = (chat: P2pChat) => root.querySelector(`li[part~="message"][data-from="${chat.selfId}"]`)!;
    const [fromTwin, fromReorder] = [lineFrom(twin), lineFrom(reorder)];
    expect(fromTwin!.querySelector('bdi')!.textContent).to.equal('\u0410nn', 'the zero-width space is gone');
    expect(fromTwin!.querySelector('[part="id-tag"]')!.textContent).to.equal(`#${twin.selfId!.slice(0, 4)}`);
    expect(fromReorder!.querySelector('bdi')!.textContent).to.equal('Bobtxt.exe', 'no override character left');
    expect(fromReorder!.querySelector('[part="id-tag"]')).to.equal(null, 'a name like no other has no tag');
    const list = root.querySelector('peer-list')!.shadowRoot!;
    await waitUntil(() => list.querySelectorAll('[part="id-tag"]').length === 2, 'both look-alikes tagged in the peer list');
    const tagged = [...list.querySelectorAll('[part="id-tag"]')].map((el) => el.closest('li')!.getAttribute('data-peer-id'));
    expect(tagged.sort()).to.deep.equal([ann.selfId, twin.selfId].sort());
  });

  it('text typed while alone stays in the box; removing the name attribute does not throw', async () => {
    const alone = addChat(uniqueRoom('alone'), 'Solo');
    chats = [alone];
    const errors = record(alone, 'p2p-error');
    await waitUntil(() => alone.selfId !== null, 'joined');
    const input = alone.shadowRoot!.querySelector('input')!;
    input.focus();
    input.value = 'is anyone here?';
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => errors.some((e) => e.code === 'not-connected'), 'told that nobody got it');
    expect(input.value, 'not lost').to.equal('is anyone here?');
    let thrown: unknown = null;
    const onError = (event: ErrorEvent) => (thrown = event.error);
    window.addEventListener('error', onError);
    try {
      alone.removeAttribute('name');
      await alone.updateComplete;
      await waitUntil(() => alone.selfId !== null && alone.mesh?.displayName?.startsWith('guest-') === true, "rejoined under the server's name");
    } finally {
      window.removeEventListener('error', onError);
    }
    expect(thrown).to.equal(null);
  });

  it('the element API: status, leave() and connect(), a cancelled p2p-message stays off screen, focus() lands in the message box, peer-list parts are exported', async () => {
    const room = uniqueRoom('api');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    expect(ann.status).to.equal('joined');

    // An app filters a message before it renders.
    ann.addEventListener('p2p-message', (event) => {
      if (event.detail.text.includes('spam')) event.preventDefault();
    });
    bob.send('buy spam now');
    bob.send('hello Ann');
    const texts = () => [...ann.shadowRoot!.querySelectorAll('li[part~="message"] [part="text"]')].map((el) => el.textContent);
    await waitUntil(() => texts().includes('hello Ann'), 'the second message is shown');
    expect(texts()).to.deep.equal(['hello Ann']);

    ann.focus();
    expect(ann.shadowRoot!.activeElement).to.equal(ann.shadowRoot!.querySelector('input[part="input"]'));

    // Page CSS reaches the peer list's parts through the chat.
    const style = document.createElement('style');
    style.textContent = 'p2p-chat::part(peers-name) { color: rgb(1, 2, 3); }';
    document.head.append(style);
    try {
      const name = ann.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector('[part="name"]')!;
      expect(getComputedStyle(name).color).to.equal('rgb(1, 2, 3)');
    } finally {
      style.remove();
    }

    const leaves = record(bob, 'p2p-peer-leave');
    const annId = ann.selfId;
    ann.leave();
    expect(ann.status).to.equal('closed');
    await waitUntil(() => leaves.some((l) => l.id === annId), 'Bob sees Ann leave');
    ann.connect();
    await waitForMesh(chats);
    expect(ann.status).to.equal('joined');
  });

  it('private messages: chosen in the peer list, only that peer gets them, both sides show them as private; Escape writes to everyone again', async () => {
    const room = uniqueRoom('private');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    const cy = addChat(room, 'Cy');
    chats = [ann, bob, cy];
    await waitForMesh(chats);
    const toBob = record(bob, 'p2p-message');
    const toCy = record(cy, 'p2p-message');
    await ann.updateComplete;
    const list = ann.shadowRoot!.querySelector('peer-list')!.shadowRoot!;
    list.querySelector<HTMLButtonElement>(`li[data-peer-id="${bob.selfId}"] [part="private"]`)!.click();
    await ann.updateComplete;
    const input = ann.shadowRoot!.querySelector<HTMLInputElement>('input[part="input"]')!;
    expect(ann.shadowRoot!.activeElement).to.equal(input);
    expect(input.placeholder).to.equal('Private message to Bob');
    input.value = 'just for Bob';
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => toBob.length === 1, 'Bob gets it');
    expect(toBob[0]).to.include({ text: 'just for Bob', private: true, from: ann.selfId });
    // Back to everyone: a public line reaches Cy, and nothing private came before it.
    await sendKeys({ press: 'Escape' });
    await ann.updateComplete;
    expect(input.placeholder).to.equal('Write a message and press Enter');
    input.value = 'for everyone';
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => toCy.length === 1 && toBob.length === 2, 'the public line arrives');
    expect(toCy.map((m) => m.text)).to.deep.equal(['for everyone']);
    expect(toBob[1]!.private).to.equal(undefined);
    await bob.updateComplete;
    const bobLine = bob.shadowRoot!.querySelector(`li[part~="message"][data-from="${ann.selfId}"]`)!;
    expect(bobLine.querySelector('[part="private"]')!.textContent!.trim()).to.equal('private');
    const annLine = ann.shadowRoot!.querySelector('li[part~="own"]')!;
    expect(annLine.querySelector('[part="private"]')!.textContent!.replace(/\s+/g, ' ').trim()).to.equal('to Bob, private');
    // The plain class too, without the element.
    const result = cy.mesh!.sendTo(bob.selfId!, 'from Cy, privately');
    expect(result.sent).to.deep.equal([bob.selfId]);
    await waitUntil(() => toBob.length === 3, 'Bob gets Cy’s');
    expect(toBob[2]).to.include({ private: true, from: cy.selfId });
  });

  it('typing: the other side reads "Ann is typing…" while she types, and it goes when her message arrives', async () => {
    const room = uniqueRoom('typing');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    const typing = record(bob, 'p2p-typing');
    const shown = () => bob.shadowRoot!.querySelector('[part="typing"]')!.textContent!.trim();
    const input = ann.shadowRoot!.querySelector<HTMLInputElement>('input[part="input"]')!;
    input.focus();
    await sendKeys({ type: 'hel' });
    await waitUntil(() => shown() === 'Ann is typing…', 'Bob reads that Ann is typing');
    expect(typing.length, 'a few keys make one typing message (at most every 2 s)').to.equal(1);
    expect(typing[0]!.id).to.equal(ann.selfId);
    await sendKeys({ type: 'lo' });
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => shown() === '', 'it goes when the message arrives');
    expect(bob.shadowRoot!.querySelector('li[part~="message"] [part="text"]')!.textContent).to.equal('hello');
  });
});
