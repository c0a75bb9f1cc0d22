import { expect } from '@esm-bundle/chai';
import type { P2pChat } from './p2p-chat.js';
import { addChat, addFramedChat, framedChat, noRelayUrl, record, signalingUrl, uniqueRoom, waitUntil } from '../test/helpers.js';

const transports = (chat: P2pChat) =>
  [...chat.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelectorAll('[data-transport]')].map(
    (el) => `${(el as HTMLElement).dataset['transport']}:${el.textContent!.trim()}`,
  );

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
    // Relayed chat is sealed end to end once the two keys are swapped (test/relay-attacker.test.ts shows what the server sees).
    await waitUntil(() => chrome.peers[0]?.encrypted !== undefined && kit.peers[0]?.encrypted !== undefined, 'the keys are swapped');
    expect(chrome.peers).to.deep.equal([{ id: kit.selfId, name: 'Kit', state: 'connected', transport: 'relayed', encrypted: true }]);
    expect(kit.peers).to.deep.equal([{ id: chrome.selfId, name: 'Chrome', state: 'connected', transport: 'relayed', encrypted: true }]);
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
    const alerts = [...kit.shadowRoot!.querySelectorAll('li.notice.error')].map((el) => el.textContent!);
    expect(alerts.some((text) => text.includes('does not relay'))).to.equal(true);
    // The WebRTC side is told too, and sees Kit as unreachable.
    await waitUntil(() => chrome.peers.some((p) => p.name === 'Kit'), 'Chrome sees Kit');
    expect(chrome.peers[0]).to.include({ transport: 'none', state: 'failed' });
    await chrome.updateComplete;
    expect(transports(chrome)).to.deep.equal(['none:unreachable']);
  });
});

describe('ICE that keeps failing', () => {
  it('after the ICE restarts fail, the pair falls back to the relay on both sides', async () => {
    const { Mesh } = await import('../client/mesh.js');
    // A real RTCPeerConnection whose ICE is made to look failed from a moment on.
    let breakIce = false;
    const broken: RTCPeerConnection[] = [];
    class FailingIce extends RTCPeerConnection {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        broken.push(this);
      }
      override get iceConnectionState(): RTCIceConnectionState {
        return breakIce ? 'failed' : super.iceConnectionState;
      }
    }
    const room = uniqueRoom('icefail');
    const a = new Mesh({ server: signalingUrl(), room, name: 'A', RTCPeerConnection: FailingIce, negotiation: { maxIceRestarts: 1 } });
    const b = new Mesh({ server: signalingUrl(), room, name: 'B' });
    const errorsA: string[] = [];
    a.addEventListener('error', (e) => errorsA.push(e.detail.code));
    const gotA: string[] = [];
    const gotB: string[] = [];
    a.addEventListener('message', (e) => gotA.push(e.detail.text));
    b.addEventListener('message', (e) => gotB.push(e.detail.text));
    a.connect();
    await waitUntil(() => a.status === 'joined', 'A joined');
    b.connect();
    await waitUntil(() => a.peers[0]?.state === 'connected' && b.peers[0]?.state === 'connected', 'direct channel open');
    expect(a.peers[0]!.transport).to.equal('direct');
    a.send('direct first');
    await waitUntil(() => gotB.length === 1, 'the direct message');
    // ICE "fails" on A, the offerer: it restarts ICE (once here), which "fails" again.
    breakIce = true;
    // Each report of "failed" (the restart's own checks report it again) moves the machine on.
    const report = setInterval(() => broken[0]!.dispatchEvent(new Event('iceconnectionstatechange')), 300);
    try {
      await waitUntil(() => a.peers[0]?.transport === 'relayed', 'A falls back to the relay', 20_000);
    } finally {
      clearInterval(report);
    }
    expect(errorsA).to.include('peer-failed');
    a.send('relayed after ICE failed');
    await waitUntil(() => gotB.length === 2, 'B gets the relayed message');
    expect(gotB).to.deep.equal(['direct first', 'relayed after ICE failed']);
    await waitUntil(() => b.peers[0]?.transport === 'relayed', 'B falls back too');
    b.send('and back through the relay');
    await waitUntil(() => gotA.length === 1, 'A gets the reply');
    expect(a.connectionCount).to.equal(0);
    expect(b.connectionCount).to.equal(0);
    a.close();
    b.close();
  });

  it('"hide my IP address" with a TURN server that cannot be reached: an error names the server, and the pair chats through the relay', async () => {
    // Port 9 (discard) on loopback: nobody answers there.
    const { Mesh } = await import('../client/mesh.js');
    const turn = { urls: 'turn:127.0.0.1:9?transport=udp', username: 'someone', credential: 'wrong' };
    const room = uniqueRoom('turn-down');
    const options = { server: signalingUrl(), room, iceServers: [turn], iceTransportPolicy: 'relay' as const };
    const a = new Mesh({ ...options, name: 'A' });
    const b = new Mesh({ ...options, name: 'B' });
    const errorsA: { code: string; message: string }[] = [];
    a.addEventListener('error', (e) => errorsA.push(e.detail));
    const gotB: string[] = [];
    b.addEventListener('message', (e) => gotB.push(e.detail.text));
    const t0 = performance.now();
    const log: string[] = [];
    for (const [who, m] of [
      ['A', a],
      ['B', b],
    ] as const) {
      m.addEventListener('signal', (e) =>
        log.push(
          `${Math.round(performance.now() - t0)} ${who} ${e.detail.direction} ${e.detail.message.type} ${'code' in e.detail.message ? e.detail.message.code : ''}`,
        ),
      );
      m.addEventListener('error', (e) => log.push(`${Math.round(performance.now() - t0)} ${who} error ${e.detail.code} ${e.detail.message}`));
      m.addEventListener('peer-state', (e) => log.push(`${Math.round(performance.now() - t0)} ${who} state ${e.detail.state} ${e.detail.path ?? ''}`));
    }
    try {
      a.connect();
      await waitUntil(() => a.status === 'joined', 'A joined');
      b.connect();
      await waitUntil(() => a.peers[0]?.transport === 'relayed' && b.peers[0]?.transport === 'relayed', 'both on the relay', 50_000).catch((e) => {
        console.log(log.join('\n'));
        throw e;
      });
      expect(a.pathTo(a.peers[0]!.id)).to.equal('server');
      // Either the browser refuses the server outright (Firefox: port 9 is a port it blocks),
      // which is said (bad-ice-server) and decided at once, or it tries it and gives up
      // slowly (Chromium: the connect watch and its one restart, ~25 s, decide). Either way
      // the reason names the TURN server.
      const failed = errorsA.find((e) => e.code === 'peer-failed')?.message ?? '';
      expect(failed).to.match(/No network address to connect from/);
      const named = errorsA.some((e) => (e.code === 'bad-ice-server' || e.code === 'peer-failed') && e.message.includes(turn.urls));
      expect(named, JSON.stringify(errorsA)).to.equal(true);
      a.send('through the server');
      await waitUntil(() => gotB.length === 1, 'B gets it');
    } finally {
      a.close();
      b.close();
    }
  });
});
