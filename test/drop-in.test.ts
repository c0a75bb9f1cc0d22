import { expect } from '@esm-bundle/chai';
import { addChat, addFramedChat, framedChat, record, signalingUrl, uniqueRoom, waitUntil } from './helpers.js';

describe('the builds in dist/: drop-in and unbundled', () => {
  it('a plain HTML page that loads only the built file chats with a peer', async () => {
    const room = uniqueRoom('dropin');
    const frame = addFramedChat('drop-in', signalingUrl(), room, 'Built');
    const here = addChat(room, 'Source');
    try {
      const got = record(here, 'p2p-message');
      await waitUntil(() => here.peers.some((p) => p.name === 'Built' && p.state === 'connected'), 'the built chat connects');
      const built = framedChat(frame)!;
      // The element in the frame is the bundle's, not this page's.
      expect(frame.contentWindow!.customElements.get('p2p-chat')).to.not.equal(customElements.get('p2p-chat'));
      const scripts = frame.contentWindow!.performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
      expect(scripts.some((path) => path.endsWith('/dist/p2p-chat.js'))).to.equal(true);
      expect(scripts.some((path) => path.includes('/components/') || path.includes('/node_modules/'))).to.equal(false);
      const gotBuilt = record(built, 'p2p-message');
      built.send('from the built file');
      here.send('to the built file');
      await waitUntil(() => got.length === 1 && gotBuilt.length === 1, 'messages both ways');
      expect(got[0]).to.include({ text: 'from the built file', name: 'Built' });
      expect(gotBuilt[0]).to.include({ text: 'to the built file', name: 'Source' });
    } finally {
      frame.remove();
      here.remove();
    }
  });

  it('the unbundled modules (p2p-chat/elements) chat too, on the page\'s own Lit', async () => {
    const room = uniqueRoom('elements');
    const frame = addFramedChat('elements', signalingUrl(), room, 'Unbundled');
    const here = addChat(room, 'Source');
    try {
      const got = record(here, 'p2p-message');
      await waitUntil(() => here.peers.some((p) => p.name === 'Unbundled' && p.state === 'connected'), 'the unbundled chat connects');
      const unbundled = framedChat(frame)!;
      const scripts = frame.contentWindow!.performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
      expect(scripts.some((path) => path.endsWith('/dist/lib/components/p2p-chat.js'))).to.equal(true);
      expect(scripts.some((path) => path.endsWith('/dist/p2p-chat.js') || path.includes('/components/p2p-chat.ts'))).to.equal(false);
      expect(scripts.filter((path) => /\/lit-html(\/development)?\/lit-html\.js$/.test(path)), scripts.join(' ')).to.have.length(1);
      unbundled.send('from the unbundled modules');
      await waitUntil(() => got.length === 1, 'the message arrives');
      expect(got[0]).to.include({ text: 'from the unbundled modules', name: 'Unbundled' });
    } finally {
      frame.remove();
      here.remove();
    }
  });
});
