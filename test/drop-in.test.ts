import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import type { MessageDetail } from '../client/mesh-events.js';
import type { Mesh } from '../client/mesh.js';
import { addChat, addFramedChat, framedChat, record, signalingUrl, uniqueRoom, waitUntil } from './helpers.js';

interface FramedBuild {
  readonly frame: HTMLIFrameElement;
  /** The chat in the frame (the build's element). */
  readonly framed: P2pChat;
  /** A chat of this page, from the sources, in the same room. */
  readonly here: P2pChat;
  /** What `here` received. */
  readonly got: MessageDetail[];
  /** Paths of every resource the frame loaded. */
  readonly scripts: string[];
}

/** A build's fixture page in a frame and a chat here, connected; both removed afterwards. */
async function withFramedBuild(fixture: 'drop-in' | 'elements', name: string, body: (pair: FramedBuild) => Promise<void>): Promise<void> {
  const room = uniqueRoom(fixture);
  const frame = addFramedChat(fixture, signalingUrl(), room, name);
  const here = addChat(room, 'Source');
  try {
    const got = record(here, 'p2p-message');
    await waitUntil(() => here.peers.some((p) => p.name === name && p.state === 'connected'), `the ${fixture} chat connects`);
    const scripts = frame.contentWindow!.performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
    await body({ frame, framed: framedChat(frame)!, here, got, scripts });
  } finally {
    frame.remove();
    here.remove();
  }
}

describe('the builds in dist/: drop-in and unbundled', () => {
  it('a plain HTML page that loads only the built file chats with a peer', () =>
    withFramedBuild('drop-in', 'Built', async ({ frame, framed: built, here, got, scripts }) => {
      // The element in the frame is the bundle's, not this page's.
      expect(frame.contentWindow!.customElements.get('p2p-chat')).to.not.equal(customElements.get('p2p-chat'));
      expect(scripts.some((path) => path.endsWith('/dist/p2p-chat.js'))).to.equal(true);
      expect(scripts.some((path) => path.includes('/components/') || path.includes('/node_modules/'))).to.equal(false);
      const gotBuilt = record(built, 'p2p-message');
      built.send('from the built file');
      here.send('to the built file');
      await waitUntil(() => got.length === 1 && gotBuilt.length === 1, 'messages both ways');
      expect(got[0]).to.include({ text: 'from the built file', name: 'Built' });
      expect(gotBuilt[0]).to.include({ text: 'to the built file', name: 'Source' });
    }));

  it("what loads on demand renders with the built file's own Lit: the safety-code dialog, a file's line, notifications", () =>
    withFramedBuild('drop-in', 'Built', async ({ frame, framed: built, here }) => {
      const win = frame.contentWindow!;
      const loaded = () => win.performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
      const rendering = ['verify-dialog', 'file-line', 'notify-controller'].map((chunk) => `/dist/chunks/${chunk}.js`);
      expect(loaded().filter((path) => rendering.includes(path))).to.deep.equal([], 'nothing on demand before it is needed');
      built.notify = true;

      // The dialog: the chunk's element is defined in the frame and shows the code.
      await waitUntil(() => built.mesh?.canVerify(here.selfId!) === true, 'a pair to compare codes over');
      const outcome = await built.verifyPeer(here.selfId!);
      expect(outcome.ok, outcome.ok ? '' : outcome.reason).to.equal(true);
      const dialog = built.shadowRoot!.querySelector('p2p-verify-dialog')!;
      await waitUntil(() => dialog.shadowRoot?.querySelector('[part="code"]')?.textContent === (outcome.ok && outcome.code), 'the dialog shows the code');
      expect(dialog.shadowRoot!.querySelector('dialog')!.open).to.equal(true);
      expect(dialog instanceof win.customElements.get('p2p-verify-dialog')!).to.equal(true);
      built.confirmPeer(here.selfId!, true);

      // A file's line: an offer from the peer, with its buttons; where the pair is relayed
      // (WebKitGTK has no WebRTC), the refusal of its own file.
      const file = new File(['just some bytes'], 'notes.txt', { type: 'text/plain' });
      if (built.peers.find((peer) => peer.id === here.selfId)?.transport === 'relayed') {
        await built.sendFile(file);
        await waitUntil(() => built.shadowRoot!.querySelector('[part~="file"] .file-error') !== null, "the file's line with the refusal");
      } else {
        await here.sendFile(file);
        await waitUntil(() => built.shadowRoot!.querySelector('[part~="file-accept"]') !== null, "the file's line with its buttons");
      }
      expect(built.shadowRoot!.querySelector('[part~="file-name"]')!.textContent).to.equal('notes.txt');

      // Notifications (notify was set at the start): the title counts a message while the page is hidden.
      Object.defineProperty(frame.contentDocument, 'visibilityState', { configurable: true, get: () => 'hidden' });
      here.send('while hidden');
      await waitUntil(() => frame.contentDocument!.title.startsWith('(1) '), 'the title counts the message');

      expect(loaded().filter((path) => rendering.includes(path))).to.have.members(rendering);
      // One Lit in the frame: the chunks brought none of their own.
      expect(loaded().some((path) => path.includes('lit'))).to.equal(false);
    }));

  it('dist/p2p-mesh.js, the Mesh alone, chats with a chat: no element, no Lit', async () => {
    const room = uniqueRoom('mesh-alone');
    const frame = document.createElement('iframe');
    frame.src = `/test/fixtures/mesh-alone.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=Alone`;
    document.body.append(frame);
    const here = addChat(room, 'Source');
    try {
      const got = record(here, 'p2p-message');
      await waitUntil(() => here.peers.some((p) => p.name === 'Alone' && p.state === 'connected'), 'the mesh connects');
      const page = frame.contentWindow as Window & { p2pTest: { mesh: Mesh; received: MessageDetail[] } };
      page.p2pTest.mesh.send('from the mesh alone');
      here.send('to the mesh alone');
      await waitUntil(() => got.length === 1 && page.p2pTest.received.length === 1, 'messages both ways');
      expect(got[0]).to.include({ text: 'from the mesh alone', name: 'Alone' });
      expect(page.p2pTest.received[0]).to.include({ text: 'to the mesh alone', name: 'Source' });
      const loaded = page.performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
      expect(loaded).to.include('/dist/p2p-mesh.js');
      expect(loaded.filter((path) => path.includes('lit') || path.endsWith('/dist/p2p-chat.js'))).to.deep.equal([]);
      expect(page.customElements.get('p2p-chat')).to.equal(undefined);
    } finally {
      frame.remove();
      here.remove();
    }
  });

  it("the unbundled modules (p2p-chat/elements) chat too, on the page's own Lit", () =>
    withFramedBuild('elements', 'Unbundled', async ({ framed: unbundled, got, scripts }) => {
      expect(scripts.some((path) => path.endsWith('/dist/lib/components/p2p-chat.js'))).to.equal(true);
      expect(scripts.some((path) => path.endsWith('/dist/p2p-chat.js') || path.includes('/components/p2p-chat.ts'))).to.equal(false);
      expect(
        scripts.filter((path) => /\/lit-html(\/development)?\/lit-html\.js$/.test(path)),
        scripts.join(' '),
      ).to.have.length(1);
      unbundled.send('from the unbundled modules');
      await waitUntil(() => got.length === 1, 'the message arrives');
      expect(got[0]).to.include({ text: 'from the unbundled modules', name: 'Unbundled' });
    }));
});
