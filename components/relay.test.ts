import { expect } from '@esm-bundle/chai';
import type { P2pChat } from './p2p-chat.js';
import { addChat, addFramedChat, framedChat, noRelayUrl, record, signalingUrl, uniqueRoom, waitUntil } from '../test/helpers.js';

const transports = (chat: P2pChat) =>
  [...chat.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelectorAll('[data-transport]')].map((el) => `${(el as HTMLElement).dataset['transport']}:${el.textContent!.trim()}`);

describe('browsers without WebRTC', () => {
  const cleanup: HTMLElement[] = [];
  afterEach(() => {
    for (const el of cleanup.splice(0)) el.remove();
  });

  it('chat with a WebRTC browser through the server relay, and the peer list says so', async () => {
    const room = uniqueRoom('relay');
    const frame = addFramedChat('no-webrtc', signalingUrl(), room, 'Kit');
    const chrome = addChat(room, 'Chrome');
    cleanup.push(frame, chrome);
    await waitUntil(() => framedChat(frame)?.mesh?.status === 'joined', 'the no-WebRTC page joined');
    const kit = framedChat(frame)!;
    expect(kit.mesh!.webrtc).to.equal(false);
    await waitUntil(() => chrome.peers.some((p) => p.name === 'Kit') && kit.peers.some((p) => p.name === 'Chrome'), 'they see each other');
    expect(chrome.peers).to.deep.equal([{ id: kit.selfId, name: 'Kit', state: 'connected', transport: 'relayed' }]);
    expect(kit.peers).to.deep.equal([{ id: chrome.selfId, name: 'Chrome', state: 'connected', transport: 'relayed' }]);
    const gotChrome = record(chrome, 'p2p-message');
    const gotKit = record(kit, 'p2p-message');
    kit.send('hello from a browser without WebRTC');
    chrome.send('hello back, through the relay');
    await waitUntil(() => gotChrome.length === 1 && gotKit.length === 1, 'messages both ways');
    expect(gotChrome[0]).to.include({ from: kit.selfId, name: 'Kit', text: 'hello from a browser without WebRTC' });
    expect(gotKit[0]).to.include({ from: chrome.selfId, name: 'Chrome', text: 'hello back, through the relay' });
    await kit.updateComplete;
    await chrome.updateComplete;
    expect(transports(chrome)).to.deep.equal(['relayed:via server']);
    expect(transports(kit)).to.deep.equal(['relayed:via server']);
    expect(chrome.shadowRoot!.querySelector('[part="status"]')!.textContent).to.contain('relayed through the server');
    // No RTCPeerConnection was made for this pair.
    expect(chrome.mesh!.connectionCount).to.equal(0);
  });

  it('with relaying off, the page without WebRTC explains why it cannot chat', async () => {
    const room = uniqueRoom('norelay');
    const chrome = addChat(room, 'Chrome', { server: noRelayUrl() });
    const frame = addFramedChat('no-webrtc', noRelayUrl(), room, 'Kit');
    cleanup.push(frame, chrome);
    await waitUntil(() => framedChat(frame)?.mesh?.status === 'joined', 'the no-WebRTC page joined');
    const kit = framedChat(frame)!;
    await waitUntil(() => kit.shadowRoot!.querySelector('[part="status"]')!.textContent!.includes('does not relay'), 'the explanation is shown');
    const status = kit.shadowRoot!.querySelector('[part="status"]')!.textContent!;
    expect(status).to.contain('cannot make direct (WebRTC) connections');
    expect(kit.shadowRoot!.querySelector('input')!.disabled).to.equal(true);
    const alerts = [...kit.shadowRoot!.querySelectorAll('[role="alert"]')].map((el) => el.textContent!);
    expect(alerts.some((text) => text.includes('does not relay'))).to.equal(true);
    // The WebRTC side is told too, and sees Kit as unreachable.
    await waitUntil(() => chrome.peers.some((p) => p.name === 'Kit'), 'Chrome sees Kit');
    expect(chrome.peers[0]).to.include({ transport: 'none', state: 'failed' });
    await chrome.updateComplete;
    expect(transports(chrome)).to.deep.equal(['none:unreachable']);
  });
});
