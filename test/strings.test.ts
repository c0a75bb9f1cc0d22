/**
 * The chat's strings in English and Korean (issue 18, item 8): with lang="ko" every
 * visible string of <p2p-chat> and <peer-list> (status, notices, placeholder, buttons,
 * receipts, typing, labels) is in Hangul; an app adds a language of its own.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, removeAll, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

/** Every text a person sees or hears in a chat: text nodes and the labels of its shadow trees. */
function visibleTexts(chat: P2pChat): string[] {
  const out: string[] = [];
  const walk = (root: ShadowRoot) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node instanceof Text) {
        if (node.parentElement?.closest('style') === null && node.data.trim()) out.push(node.data.trim());
        continue;
      }
      const element = node as Element;
      for (const attribute of ['aria-label', 'title', 'placeholder']) {
        const value = element.getAttribute(attribute);
        if (value) out.push(value);
      }
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(chat.shadowRoot!);
  return out;
}

/** English words left: runs of three or more Latin letters, apart from names, the room and protocol names. */
function englishIn(texts: readonly string[], allowed: readonly string[]): string[] {
  const words = texts.flatMap((text) => text.match(/[A-Za-z]{3,}/g) ?? []);
  return words.filter((word) => !allowed.includes(word));
}

describe('strings', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('lang="ko": every string of the chat and its peer list in Hangul', async () => {
    const room = uniqueRoom('ko');
    const ann = addChat(room, 'Ann');
    ann.setAttribute('lang', 'ko');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    bob.send('hello');
    ann.send('안녕하세요');
    bob.mesh!.typing();
    await waitUntil(() => visibleTexts(ann).some((t) => t.includes('전달됨')), 'a receipt in Korean');
    await waitUntil(() => visibleTexts(ann).some((t) => t.includes('입력 중')), 'typing in Korean');
    const texts = visibleTexts(ann);
    for (const expected of ['보내기', '메시지를 입력하고 Enter를 누르세요', 'Bob 님이 들어왔습니다', '연결됨', '확인', '비공개', '(나)', '이 방에 있는 사람']) {
      expect(
        texts.some((t) => t.includes(expected)),
        expected,
      ).to.equal(true);
    }
    expect(texts.join(' ')).to.match(/피어 1명 중 1명과 직접 연결됨/);
    const roomWords = room.match(/[A-Za-z]{3,}/g) ?? [];
    // Names of technologies stay as they are written in Korean too.
    expect(englishIn(texts, ['Ann', 'Bob', 'hello', 'Enter', 'P2P', 'WebRTC', 'STUN', 'TURN', 'NAT', ...roomWords])).to.deep.equal([]);
    // The same page in English, for contrast: the check above would have found it.
    expect(englishIn(visibleTexts(bob), ['Ann', 'Bob', 'hello', ...roomWords]).length).to.be.greaterThan(5);
  });

  it('the lang property works as the attribute does', async () => {
    const room = uniqueRoom('ko-prop');
    const ann = addChat(room, 'Ann');
    chats = [ann];
    await ann.updateComplete;
    ann.lang = 'ko';
    await waitUntil(() => visibleTexts(ann).includes('보내기'), 'the chat in Korean');
    expect(ann.hasAttribute('lang')).to.equal(false);
  });

  it('an app adds a language: its strings, English for the rest; the language follows the page', async () => {
    const { P2pChat } = (await import('../components/p2p-chat.js')) as { P2pChat: typeof import('../components/p2p-chat.js').P2pChat };
    P2pChat.addLanguage('fr', { send: 'Envoyer', placeholder: 'Écrivez un message', isHere: (name) => `${name} est là` });
    const holder = document.createElement('div');
    holder.lang = 'fr-CA';
    document.body.append(holder);
    try {
      const room = uniqueRoom('fr');
      const ann = addChat(room, 'Ann', { parent: holder });
      const bob = addChat(room, 'Bob');
      chats = [ann, bob];
      await waitForMesh(chats);
      await waitUntil(() => visibleTexts(ann).includes('Bob est là'), 'the notice in French');
      const texts = visibleTexts(ann);
      expect(texts).to.include('Envoyer');
      expect(texts).to.include('Écrivez un message');
      expect(texts).to.include('People in this room');
    } finally {
      holder.remove();
    }
  });
});
