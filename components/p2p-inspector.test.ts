import { expect } from '@esm-bundle/chai';
import type { P2pInspector } from './p2p-inspector.js';
import { Mesh } from '../client/mesh.js';
import { addChat, addInspectedChat, record, removeAll, signalingUrl, waitForMesh, waitUntil } from '../test/helpers.js';

describe('<p2p-inspector>', () => {
  let elements: HTMLElement[] = [];
  afterEach(() => {
    removeAll(elements);
    elements = [];
  });

  async function lesson() {
    const { room, a, inspector } = addInspectedChat('inspect');
    const signals = record(a, 'p2p-signal');
    await waitUntil(() => a.selfId !== null, 'Ann joined');
    const b = addChat(room, 'Bo');
    // A key of its own: the profile's default key may have been verified by another test ("they match"), and is then known by that key.
    b.identity = 'ephemeral';
    elements = [a, b, inspector];
    await waitForMesh([a, b]);
    await inspector.updateComplete;
    return { a, b, inspector, signals, root: inspector.shadowRoot! };
  }

  it('draws the real signaling messages of a 2-peer connection, in order', async () => {
    const { b, signals, root, inspector } = await lesson();
    await waitUntil(() => signals.some((s) => s.direction === 'in' && s.message.type === 'candidate'), 'a candidate arrived');
    await inspector.updateComplete;
    const peer = root.querySelector(`[data-peer="${b.selfId}"]`)!;
    expect(peer, 'a section for Bo').to.not.equal(null);
    const rows = [...peer.querySelectorAll('table[part="sequence"] tbody tr')].map(
      (tr) => `${(tr as HTMLElement).dataset['direction']} ${(tr as HTMLElement).dataset['type']}`,
    );
    // Exactly the messages that really went over the wire for this peer, in the same order.
    const real = signals.filter((s) => s.direction !== 'note' && (s.peer === b.selfId || !s.peer)).map((s) => `${s.direction} ${s.message.type}`);
    expect(rows).to.deep.equal(real);
    // The reference's flow: join, we are first so we offer, they answer, candidates both ways.
    const at = (row: string) => rows.indexOf(row);
    expect(at('out new-peer')).to.equal(0);
    expect(at('in welcome')).to.equal(1);
    expect(at('in new-peer')).to.be.greaterThan(at('in welcome'));
    expect(at('out offer')).to.be.greaterThan(at('in new-peer'));
    expect(at('in answer')).to.be.greaterThan(at('out offer'));
    expect(rows.some((r) => r === 'out candidate')).to.equal(true);
    expect(rows.some((r) => r === 'in candidate')).to.equal(true);
    // The text alternative names both ends of each arrow.
    const first = peer.querySelector('table[part="sequence"] tbody tr')!;
    expect(first.children[2]!.textContent).to.equal('this browser');
    expect(first.children[3]!.textContent).to.equal('signaling server');
  });

  it('lists host candidates, the timelines, the SDP lines to notice, and the selected pair once connected', async () => {
    const { b, root, inspector } = await lesson();
    const peer = () => root.querySelector(`[data-peer="${b.selfId}"]`)!;
    expect(peer().querySelectorAll('table[part="candidates"] tr[data-type="host"]').length).to.be.greaterThan(0);
    await waitUntil(() => peer().querySelector('[data-selected-pair]') !== null, 'the selected pair appears', 5000);
    expect(peer().querySelector('[data-selected-pair]')!.textContent).to.match(/host/);
    // And which way that is, explained.
    // (A check that arrives before the peer's candidate reads as prflx for a moment.)
    await waitUntil(() => (peer().querySelector('[part="path"]') as HTMLElement | null)?.dataset['path'] === 'host', 'the host path explained', 5000);
    expect(peer().querySelector('[part="path"]')!.textContent).to.match(/Direct, between local addresses/);
    await inspector.updateComplete;
    const timeline = (kind: string) =>
      [...peer().querySelectorAll(`tr[data-state-kind="${kind}"] [data-state]`)].map((el) => (el as HTMLElement).dataset['state']);
    expect(timeline('connectionState')).to.include('connected');
    expect(timeline('channelState').at(-1)).to.equal('open');
    expect(timeline('signalingState').at(-1)).to.equal('stable');
    const marks = [...peer().querySelectorAll('details[part="sdp"] mark')].map((m) => m.textContent!.split(':')[0]!.split(' ')[0]);
    for (const line of ['m=application', 'a=ice-ufrag', 'a=ice-pwd', 'a=fingerprint', 'a=setup', 'a=sctp-port']) expect(marks, line).to.include(line);
  });

  it('explains a peer reached through the server relay as readable by the server', async () => {
    const { room, a, inspector } = addInspectedChat('inspect-relay');
    await waitUntil(() => a.selfId !== null, 'Ann joined');
    // A peer without WebRTC (a browser like WebKitGTK): the pair can only use the relay.
    const noWebrtc = new Mesh({ server: signalingUrl(), room, name: 'Old browser', RTCPeerConnection: null });
    noWebrtc.connect();
    elements = [a, inspector];
    try {
      const path = () => inspector.shadowRoot!.querySelector('[part="path"]') as HTMLElement | null;
      await waitUntil(() => path()?.dataset['path'] === 'server', 'the relay path explained', 5000);
      expect(path()!.textContent).to.match(/server can read these messages/);
    } finally {
      noWebrtc.close();
    }
  });

  it('switching lang switches every label', async () => {
    const { root, inspector } = await lesson();
    const labels = () => [...root.querySelectorAll('h2, h3, th, .help, summary, label, caption')].map((el) => el.textContent!.replace(/\s+/g, ' ').trim());
    const english = labels();
    expect(english.length).to.be.greaterThan(20);
    const select = root.querySelector('select')!;
    select.value = 'ko';
    select.dispatchEvent(new Event('change'));
    await inspector.updateComplete;
    const korean = labels();
    expect(korean.length).to.equal(english.length);
    korean.forEach((text, i) => {
      expect(text, `label ${i}: "${english[i]}"`).to.not.equal(english[i]);
      expect(text).to.match(/[\uac00-\ud7a3]/);
    });
    expect(root.querySelector('section')!.getAttribute('lang')).to.equal('ko');
  });

  it('shows who is really on the other end: both fingerprints, the certificate presented, the identity key, and how the safety code was made (English and Korean)', async () => {
    const { a, b, inspector, root } = await lesson();
    const outcome = await a.verifyPeer(b.selfId!);
    expect(outcome.ok).to.equal(true);
    if (!outcome.ok) return;
    const section = () => root.querySelector('[part="verify"]');
    await waitUntil(() => section()?.querySelector('[data-code]')?.textContent === outcome.code, 'the code in the inspector');
    const text = section()!.textContent!;
    expect(text).to.contain(outcome.fingerprints.local);
    expect(text).to.contain(outcome.fingerprints.remote);
    expect(text).to.contain('verify-commit');
    await waitUntil(() => section()!.querySelector('[data-identity]') !== null, 'the identity key');
    expect(section()!.querySelector('[data-identity]')!.getAttribute('data-identity')).to.equal('new');
    inspector.setAttribute('lang', 'ko');
    await inspector.updateComplete;
    expect(section()!.querySelector('h3')!.textContent).to.match(/[\uac00-\ud7a3]/);
    expect(section()!.textContent).to.contain(outcome.code);
  });

  it('without a chat it says how to attach one; by default it follows the document language', async () => {
    const wrapper = document.createElement('div');
    wrapper.setAttribute('lang', 'ko-KR');
    const inspector = document.createElement('p2p-inspector') as P2pInspector;
    wrapper.append(inspector);
    document.body.append(wrapper);
    elements = [wrapper];
    await inspector.updateComplete;
    expect(inspector.language).to.equal('ko');
    expect(inspector.shadowRoot!.querySelector('p')!.textContent).to.contain('p2p-chat');
  });
});
