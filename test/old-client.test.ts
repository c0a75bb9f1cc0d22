/**
 * Older clients keep working with newer ones (issue 18, item 9): a page running the
 * drop-in chat of protocol version 7 (test/fixtures/v7/, built from an earlier commit by
 * scripts/build-previous-client.mjs) and the current chat chat both ways directly; what
 * only version 8 has (a rename told by the server, persist) is ignored by the old page
 * without an error, and what both have (receipts, typing) still works. And a page of
 * version 8 (test/fixtures/v8/) without WebRTC and the current one (version 9, which
 * numbers sealed relay payloads) seal their relayed chat and chat both ways.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { addChat, record, signalingUrl, uniqueRoom, waitUntil } from './helpers.js';

interface OldPage {
  p2pTest: { received: { text: string; name: string }[]; chat: HTMLElement & { peers: { id: string; name: string; state: string; transport: string }[] } };
}

describe('an old client and a new one', () => {
  let ann: P2pChat | null = null;
  let frame: HTMLIFrameElement | null = null;
  afterEach(() => {
    ann?.remove();
    frame?.remove();
    ann = frame = null;
  });

  it('version 7 and the current version chat both ways; the old page ignores what it does not know', async () => {
    expect(PROTOCOL_VERSION).to.equal(9);
    const room = uniqueRoom('old');
    ann = addChat(room, 'Ann');
    ann.setAttribute('persist', '');
    frame = document.createElement('iframe');
    frame.src = `/test/fixtures/old-client.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=Old`;
    document.body.append(frame);
    const old = () => (frame!.contentWindow as unknown as OldPage).p2pTest;
    await waitUntil(
      () => old()?.chat.peers?.some((p) => p.state === 'connected' && p.transport === 'direct') === true,
      'the old page connects directly',
      20_000,
    );
    await waitUntil(() => ann!.peers.some((p) => p.name === 'Old' && p.state === 'connected'), 'Ann sees it');
    const oldId = ann.peers.find((p) => p.name === 'Old')!.id;
    expect(ann.mesh!.peers.length).to.equal(1);
    const oldErrors: unknown[] = [];
    old().chat.addEventListener('p2p-error', (event) => oldErrors.push((event as CustomEvent).detail));

    // New to old, and the old page's receipt back.
    const statuses = record(ann, 'p2p-message-status');
    ann.send('from the new side');
    await waitUntil(() => old().received.some((m) => m.text === 'from the new side'), 'the old page gets it');
    await waitUntil(() => statuses.some((s) => s.delivered === 1 && s.of === 1), 'delivered to 1 of 1');

    // A rename: the server tells the old page in a message it does not know; it carries on.
    ann.name = 'Annie';
    await waitUntil(() => ann!.mesh!.displayName === 'Annie', 'renamed');
    const got = record(ann, 'p2p-message');
    const oldChat = old().chat as unknown as { send(text: string): unknown };
    oldChat.send('from the old side');
    await waitUntil(() => got.some((m) => m.text === 'from the old side' && m.from === oldId), 'Ann gets it');
    ann.send('after the rename');
    await waitUntil(() => old().received.some((m) => m.text === 'after the rename'), 'the old page still gets messages');
    expect(oldErrors, 'no error on the old page').to.deep.equal([]);
    expect(ann.peers.find((p) => p.id === oldId)?.state).to.equal('connected');
  });

  it('version 8 without WebRTC and version 9 seal their relayed chat without sequence numbers, both ways', async () => {
    const room = uniqueRoom('old-sealed');
    ann = addChat(room, 'Ann');
    frame = document.createElement('iframe');
    frame.src = `/test/fixtures/old-client.html?version=8&webrtc=off&server=${encodeURIComponent(signalingUrl())}&room=${room}&name=Old`;
    document.body.append(frame);
    const old = () => (frame!.contentWindow as unknown as OldPage).p2pTest;
    await waitUntil(() => ann!.peers.some((p) => p.name === 'Old' && p.encrypted === true), 'Ann’s pair with the old page is sealed', 20_000);
    const oldId = ann.peers.find((p) => p.name === 'Old')!.id;
    const errors = record(ann, 'p2p-error');
    const oldErrors: unknown[] = [];
    old().chat.addEventListener('p2p-error', (event) => oldErrors.push((event as CustomEvent).detail));
    const got = record(ann, 'p2p-message');
    ann.send('sealed for version 8');
    await waitUntil(() => old().received.some((m) => m.text === 'sealed for version 8'), 'the old page opens it');
    (old().chat as unknown as { send(text: string): unknown }).send('sealed by version 8');
    await waitUntil(() => got.some((m) => m.text === 'sealed by version 8' && m.from === oldId), 'Ann opens it');
    expect(errors, 'nothing refused on the new side').to.deep.equal([]);
    expect(oldErrors, 'nothing refused on the old side').to.deep.equal([]);
  });
});
