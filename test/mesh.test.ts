import { expect } from '@esm-bundle/chai';
import { Mesh } from '../client/mesh.js';
import { signalingUrl, uniqueRoom, waitUntil } from './helpers.js';
import type { ErrorDetail, SignalDetail } from '../client/mesh-events.js';

describe('Mesh (plain class)', () => {
  it('without RTCPeerConnection it says so (webrtc-unsupported), never throws, and still joins to chat through the relay', async () => {
    const mesh = new Mesh({ server: signalingUrl(), RTCPeerConnection: null, room: uniqueRoom('nortc') });
    const errors: ErrorDetail[] = [];
    mesh.addEventListener('error', (event) => errors.push(event.detail));
    mesh.connect();
    expect(errors.map((e) => e.code)).to.deep.equal(['webrtc-unsupported']);
    await waitUntil(() => mesh.status === 'joined', 'joined');
    expect(mesh.webrtc).to.equal(false);
    expect(mesh.canChat).to.equal(true);
    mesh.close();
  });

  it('emits the signaling steps in the reference order: join, offer/answer, candidates', async () => {
    const room = uniqueRoom('signals');
    const first = new Mesh({ server: signalingUrl(), room, name: 'first' });
    const second = new Mesh({ server: signalingUrl(), room, name: 'second' });
    const log: string[] = [];
    const opened: string[] = [];
    const track = (mesh: Mesh, who: string) => {
      mesh.addEventListener('signal', (event) => {
        const d: SignalDetail = event.detail;
        log.push(`${who} ${d.direction} ${d.message.type}`);
      });
      mesh.addEventListener('channel-open', () => opened.push(who));
    };
    track(first, 'first');
    track(second, 'second');
    first.connect();
    await waitUntil(() => first.status === 'joined', 'first joined');
    second.connect();
    await waitUntil(() => opened.length === 2, 'the channel opens on both');
    const at = (entry: string) => log.indexOf(entry);
    // The existing peer (first) offers to the newcomer; the newcomer answers.
    expect(at('first in new-peer')).to.be.greaterThan(-1);
    expect(at('first out offer')).to.be.greaterThan(at('first in new-peer'));
    expect(at('second in offer')).to.be.greaterThan(-1);
    expect(at('second out answer')).to.be.greaterThan(at('second in offer'));
    expect(at('first in answer')).to.be.greaterThan(at('second out answer'));
    expect(log.filter((e) => e === 'second out offer')).to.deep.equal([]);
    expect(log.some((e) => e.endsWith('out candidate'))).to.equal(true);
    expect(first.connectionCount).to.equal(1);
    first.close();
    second.close();
    expect(first.connectionCount).to.equal(0);
  });

  it('makes one DTLS certificate while joining and uses it for all its connections', async () => {
    const room = uniqueRoom('certificate');
    const meshes = ['first', 'second', 'third'].map((name) => new Mesh({ server: signalingUrl(), room, name }));
    const [first, second, third] = meshes as [Mesh, Mesh, Mesh];
    first.connect();
    await waitUntil(() => first.status === 'joined', 'first joined');
    second.connect();
    third.connect();
    await waitUntil(() => meshes.every((m) => m.peers.filter((p) => p.state === 'connected').length === 2), 'all three connected');
    const fingerprint = (mesh: Mesh, other: Mesh) => /^a=fingerprint:(.+)$/m.exec(mesh.connectionTo(other.selfId!)?.localDescription?.sdp ?? '')?.[1];
    // One key per page: both of first's connections show the same fingerprint...
    expect(fingerprint(first, second)).to.be.a('string');
    expect(fingerprint(first, second)).to.equal(fingerprint(first, third));
    // ...and it is first's own, not a fixed one: another Mesh has another.
    expect(fingerprint(second, first)).to.be.a('string');
    expect(fingerprint(second, first)).to.not.equal(fingerprint(first, second));
    for (const mesh of meshes) mesh.close();
  });

  it('knows which way each connection runs (from the selected candidate pair), and says so in p2p-peer-state and the peer list', async () => {
    const room = uniqueRoom('path');
    const chats = [document.createElement('p2p-chat'), document.createElement('p2p-chat')];
    const states: { id: string; state: string; path?: string }[] = [];
    chats.forEach((chat, i) => {
      chat.setAttribute('server', signalingUrl());
      chat.setAttribute('room', room);
      chat.setAttribute('name', `P${i}`);
      chat.addEventListener('p2p-peer-state', (event) => states.push(event.detail));
      document.body.append(chat);
    });
    try {
      const [a, b] = chats as [HTMLElementTagNameMap['p2p-chat'], HTMLElementTagNameMap['p2p-chat']];
      await waitUntil(() => a.selfId !== null && b.selfId !== null && a.mesh?.pathTo(b.selfId) === 'host', 'the path is known', 20_000);
      // Two pages of one machine: host candidates on both sides.
      expect(b.mesh?.pathTo(a.selfId!)).to.be.oneOf(['host', null]);
      expect(states.some((s) => s.id === b.selfId && s.path === 'host')).to.equal(true);
      const list = a.shadowRoot!.querySelector('peer-list')!;
      await waitUntil(() => list.shadowRoot!.querySelector('[part~="path"]') !== null, 'the peer list shows it');
      const label = list.shadowRoot!.querySelector('[part~="path"]')!;
      expect(label.getAttribute('data-path')).to.equal('host');
      expect(label.textContent).to.equal('local');
      // The peers list keeps its shape: the path is told separately.
      expect(Object.keys(a.peers[0]!).sort()).to.deep.equal(['id', 'name', 'state', 'transport']);
    } finally {
      for (const chat of chats) chat.remove();
    }
  });
});
