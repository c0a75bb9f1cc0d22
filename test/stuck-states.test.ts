/**
 * Never stuck, never silent (issue 32), as a page author meets it in a real browser:
 * attribute values the chat cannot use are named in a `p2p-error` instead of wedging the
 * chat or being taken as defaults in silence; `send()` called before the join (the
 * README's snippet) shows the line and sends it once joined; the chat sets its own font
 * and draws its attach icon. Each assertion failed on the code before issue 32.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, signalingUrl, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';
import { chatStrings } from '../components/chat-strings.js';
import { KO } from '../components/chat-strings-ko.js';

describe('never stuck, never silent', () => {
  const chats: P2pChat[] = [];
  afterEach(() => removeAll(chats.splice(0)));

  /** A chat made with these attributes, listened to before it is on the page. */
  function chatWith(attributes: Record<string, string>) {
    const chat = document.createElement('p2p-chat');
    for (const [name, value] of Object.entries(attributes)) chat.setAttribute(name, value);
    const errors = record(chat, 'p2p-error');
    chats.push(chat);
    document.body.append(chat);
    return { chat, errors };
  }

  it('a room the server would refuse is said, naming the attribute, and the chat does not join another room', async () => {
    const { chat, errors } = chatWith({ server: signalingUrl(), room: 'team chat 😀', name: 'Ann' });
    await chat.updateComplete;
    expect(errors.map((e) => [e.code, e.attribute])).to.deep.equal([['bad-value', 'room']]);
    expect(chat.status).to.equal('idle');
    expect(chat.mesh).to.equal(null);
    const status = chat.shadowRoot!.querySelector('[part="status"]')!.textContent!;
    expect(status).to.contain('cannot be used');
    // A good room: it joins.
    chat.room = uniqueRoom('fixed');
    await waitUntil(() => chat.status === 'joined', 'joined once the room is good');
  });

  it('numbers and words it cannot use are said and go back to what is in use; a 41-character name while joined keeps the old name and the join', async () => {
    const { chat, errors } = chatWith({
      server: signalingUrl(),
      room: uniqueRoom('attrs'),
      name: 'Ann',
      'max-file-size': '-5',
      'auto-accept-images': 'lots',
      'ice-transport-policy': 'bogus',
      history: 'abc',
      lang: 'xx',
    });
    await chat.updateComplete;
    expect(errors.map((e) => e.attribute).sort()).to.deep.equal(['auto-accept-images', 'history', 'ice-transport-policy', 'lang', 'max-file-size']);
    expect(chat.maxFileSize).to.equal(2 ** 31);
    expect(chat.autoAcceptImages).to.equal(10_000_000);
    expect(chat.iceTransportPolicy).to.equal('');
    expect(chat.history).to.equal('');
    await waitUntil(() => chat.status === 'joined', 'joined');
    chat.name = 'N'.repeat(41);
    await chat.updateComplete;
    expect(errors.at(-1)).to.include({ code: 'bad-value', attribute: 'name' });
    expect(chat.name).to.equal('Ann');
    expect(chat.status).to.equal('joined');
    expect(chat.mesh!.displayName).to.equal('Ann');
    // A file limit changed while joined is applied.
    chat.maxFileSize = 1000;
    await chat.updateComplete;
    expect(chat.mesh!.maxFileSize).to.equal(1000);
  });

  it('send() before the join (the README snippet) shows the line and sends it once joined', async () => {
    const room = uniqueRoom('early');
    const bob = addChat(room, 'Bob');
    chats.push(bob);
    await waitUntil(() => bob.status === 'joined', 'Bob joined');
    const got = record(bob, 'p2p-message');
    const ann = document.createElement('p2p-chat');
    ann.setAttribute('server', signalingUrl());
    ann.setAttribute('room', room);
    ann.setAttribute('name', 'Ann');
    chats.push(ann);
    document.body.append(ann);
    const result = ann.send('hello');
    expect(result.error).to.equal(undefined);
    expect(result.waiting).to.equal(true);
    await ann.updateComplete;
    const line = () => [...ann.shadowRoot!.querySelectorAll('[part~="message"]')].find((li) => li.textContent!.includes('hello'));
    expect(line(), 'the line shows at once').to.not.equal(undefined);
    await waitForMesh([ann, bob]);
    await waitUntil(() => got.some((m) => m.text === 'hello'), 'Bob gets it');
    await waitUntil(() => /delivered to 1 of 1/.test(line()!.textContent!), 'and it says so');
  });

  it('sets its own font (not a plain page’s serif) and draws its attach icon, not an emoji', async () => {
    const { chat } = chatWith({ server: signalingUrl(), room: uniqueRoom('look'), name: 'Ann' });
    await chat.updateComplete;
    expect(getComputedStyle(chat).fontFamily).to.match(/system-ui/);
    const attach = chat.shadowRoot!.querySelector('[part="attach"]')!;
    expect(attach.querySelector('svg')).to.not.equal(null);
    expect(attach.textContent!.trim()).to.equal('');
  });

  it('status words, English and Korean: no promise of peers that are not there, sentences that end, a line for being back', () => {
    const en = chatStrings('en', () => {});
    expect(en.reconnecting(3, 0)).to.equal('Signaling server unreachable: reconnecting in 3 s.');
    expect(en.reconnecting(3, 2)).to.equal('Signaling server unreachable: reconnecting in 3 s. 2 peers still connected directly: chat keeps working.');
    expect(en.disconnected('The server closed.')).to.equal('Signaling lost: The server closed. Open chats keep working; new peers cannot join.');
    expect(KO.reconnecting(3, 0)).to.not.match(/피어/);
    expect(KO.reconnecting(3, 2)).to.match(/다시 연결합니다\. 피어 2명/);
    for (const strings of [en, KO]) {
      expect(strings.reconnected).to.be.a('string').and.not.equal('');
      expect(strings.alone).to.be.a('string').and.not.equal('');
      expect(strings.disconnected('x.')).to.not.contain('..');
    }
  });
});
