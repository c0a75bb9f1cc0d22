import { expect } from '@esm-bundle/chai';
import { addChat, noRelayUrl, record, remote, signalingUrl, uniqueRoom, waitUntil } from '../helpers.js';
import type { P2pChat } from '../../components/p2p-chat.js';

interface Remote {
  id: string;
}
const hasWebRTC = typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';

describe(`this browser (${hasWebRTC ? 'with' : 'without'} WebRTC) and a Chromium peer`, () => {
  let chat: P2pChat | null = null;
  afterEach(async () => {
    chat?.remove();
    chat = null;
    await remote({ action: 'close' });
  });

  it(`chat ${hasWebRTC ? 'directly' : 'through the relay'}, and the peer list says how`, async () => {
    const room = uniqueRoom('webkit');
    chat = addChat(room, 'WebKit');
    const got = record(chat, 'p2p-message');
    await waitUntil(() => chat!.selfId !== null, 'joined');
    const url = `${location.origin}/test/fixtures/drop-in.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=Chromium`;
    const peer = (await remote<Remote>({ action: 'open', product: 'chromium', url }))!;
    const expected = hasWebRTC ? 'direct' : 'relayed';
    await waitUntil(
      () => chat!.peers.some((p) => p.name === 'Chromium' && p.state === 'connected' && p.transport === expected),
      `Chromium is ${expected}`,
      20_000,
    );
    chat.send('hello from WebKit');
    await remote({ action: 'eval', id: peer.id, expression: "window.p2pTest.chat.send('hello from Chromium')" });
    await waitUntil(() => got.length === 1, 'the message from Chromium arrives');
    expect(got[0]).to.include({ name: 'Chromium', text: 'hello from Chromium' });
    let there: { name: string; text: string }[] = [];
    for (let i = 0; i < 100 && there.length === 0; i++) {
      there = (await remote<{ name: string; text: string }[]>({ action: 'eval', id: peer.id, expression: 'window.p2pTest.received' }))!;
      if (there.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(there.map((m) => [m.name, m.text])).to.deep.equal([['WebKit', 'hello from WebKit']]);
    await chat.updateComplete;
    const badge = chat.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector('[data-transport]')!;
    expect(badge.textContent!.trim()).to.equal(hasWebRTC ? 'P2P' : 'via server');
    if (hasWebRTC) return;
    // Relayed chat is sealed end to end: this WebKit page and the built drop-in file (its trust chunk) agree on a key.
    await waitUntil(() => chat!.peers[0]?.encrypted === true, 'the relayed pair encrypts');
    await chat.updateComplete;
    const sealed = chat.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector('[part="encryption"]')!;
    expect(sealed.textContent).to.equal('encrypted');
  });

  it('with relaying off, a browser without WebRTC explains why it cannot chat', async function () {
    if (hasWebRTC) this.skip();
    chat = addChat(uniqueRoom('webkit-norelay'), 'WebKit', { server: noRelayUrl() });
    await waitUntil(() => chat!.shadowRoot?.querySelector('[part="status"]')?.textContent?.includes('does not relay') ?? false, 'the explanation');
    expect(chat.shadowRoot!.querySelector('input')!.disabled).to.equal(true);
  });
});
