/**
 * Relayed chat against a malicious server (scripts/relay-attacker.mjs, a test fixture):
 * one page has no WebRTC, so the pair chats through the server. Relayed chat is sealed
 * end to end: the server captures only keys and ciphertext, and a byte it changes gets
 * the message refused. A server that swaps the keys can read the chat (as any unverified
 * key exchange allows), but then the identities do not fit and the safety codes differ.
 */
import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, addFramedChat, framedChat, record, uniqueRoom, waitUntil } from './helpers.js';

interface Captured {
  from: string;
  payload?: { type: string; text?: string };
  opened?: string;
  text?: string | null;
}
type Options = { swap?: boolean; from?: string; version?: number; name?: string; newName?: string; text?: string };
const attacker = (action: 'start' | 'stop' | 'tamper' | 'captured' | 'rekey' | 'rename' | 'inject' | 'downgrade', options: Options = {}) =>
  executeServerCommand<{ url?: string; captured?: Captured[] }, Options & { action: string }>('relay-attacker', { action, ...options });

describe('a malicious server on the chat relay', () => {
  const cleanup: HTMLElement[] = [];
  afterEach(async () => {
    for (const el of cleanup.splice(0)) el.remove();
    await attacker('stop');
  });

  /** Ann (this page, WebRTC) and Kit (a frame without WebRTC) through the attacker, once their keys are swapped. */
  async function relayedPair(url: string): Promise<{ ann: P2pChat; kit: P2pChat }> {
    const room = uniqueRoom('sealed');
    const ann = addChat(room, 'Ann', { server: url });
    const frame = addFramedChat('no-webrtc', url, room, 'Kit');
    cleanup.push(ann, frame);
    await waitUntil(() => framedChat(frame)?.mesh?.status === 'joined', 'Kit joined');
    const kit = framedChat(frame)!;
    await waitUntil(() => ann.peers[0]?.encrypted !== undefined && kit.peers[0]?.encrypted !== undefined, 'the keys are swapped');
    return { ann, kit };
  }

  it('carries only keys and ciphertext; a changed byte gets the message refused, and the peer list says "encrypted"', async () => {
    const { url } = await attacker('start');
    const { ann, kit } = await relayedPair(url!);
    expect(ann.peers[0]).to.include({ transport: 'relayed', encrypted: true });
    expect(kit.peers[0]).to.include({ transport: 'relayed', encrypted: true });
    const toKit = record(kit, 'p2p-message');
    const toAnn = record(ann, 'p2p-message');
    ann.send('a secret for Kit');
    kit.send('a secret for Ann');
    await waitUntil(() => toKit.length === 1 && toAnn.length === 1, 'both messages arrive');
    expect(toKit[0]).to.include({ text: 'a secret for Kit', name: 'Ann' });
    await ann.updateComplete;
    const label = ann.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector('[part="encryption"]')!;
    expect(label.textContent).to.equal('encrypted');

    const { captured } = await attacker('captured');
    expect(captured!.length).to.be.greaterThan(3);
    expect(JSON.stringify(captured)).to.not.contain('secret');
    expect([...new Set(captured!.map((c) => c.payload!.type))].sort()).to.deep.equal(['relay-key', 'sealed']);

    // Each side's identity went over the sealed relay too (the attacker then tampers with Ann's next message only).
    await waitUntil(
      () => ann.mesh!.verificationOf(kit.selfId!).identity !== null && kit.mesh!.verificationOf(ann.selfId!).identity !== null,
      'identities exchanged',
    );
    const errors = record(kit, 'p2p-error');
    await attacker('tamper', { from: 'Ann' });
    ann.send('altered on the way');
    const annErrors = record(ann, 'p2p-error');
    await waitUntil(() => errors.some((e) => e.code === 'relay-tampered'), 'Kit is told a message was refused').catch(async (error: Error) => {
      const after = (await attacker('captured')).captured!.slice(captured!.length);
      throw new Error(
        `${error.message}: Kit ${JSON.stringify(errors)}, Ann ${JSON.stringify(annErrors)}, then on the wire ${JSON.stringify(after.map((c) => [c.from, c.payload!.type]))}, Kit got ${JSON.stringify(toKit.map((m) => m.text))}`,
      );
    });
    ann.send('after the tampering');
    await waitUntil(() => toKit.some((m) => m.text === 'after the tampering'), 'the next message arrives');
    expect(toKit.map((m) => m.text)).to.deep.equal(['a secret for Kit', 'after the tampering']);
  });

  it('swapping the keys reads the chat, but the identities do not fit and the safety codes differ', async () => {
    const { url } = await attacker('start', { swap: true });
    const identities = [] as { status: string; reason?: string }[];
    const { ann, kit } = await relayedPair(url!);
    ann.addEventListener('p2p-peer-identity', (event) => identities.push(event.detail));
    const toKit = record(kit, 'p2p-message');
    ann.send('a secret the attacker reads');
    await waitUntil(() => toKit.length === 1, 'Kit gets it: the attack works');
    const { captured } = await attacker('captured');
    expect(captured!.map((c) => c.text)).to.include('a secret the attacker reads');
    // Kit's identity was signed over the keys Kit saw, which are not the ones Ann sees.
    await waitUntil(() => ann.mesh!.verificationOf(kit.selfId!).identity !== null, 'Kit’s identity reached Ann');
    expect(ann.mesh!.verificationOf(kit.selfId!).identity).to.include({ status: 'changed', reason: 'not-this-connection' });

    const kitCodes = record(kit, 'p2p-verify-code');
    const fromAnn = await ann.verifyPeer(kit.selfId!);
    await waitUntil(() => kitCodes.length === 1, 'Kit’s side of the comparison');
    expect(fromAnn.ok).to.equal(true);
    if (!fromAnn.ok) return;
    expect(fromAnn.fingerprints.source).to.equal('relay-key');
    expect(kitCodes[0]!.code).to.not.equal(fromAnn.code);
    expect(kitCodes[0]!.remote).to.not.equal(fromAnn.fingerprints.local, 'Kit saw the attacker’s key where Ann’s should be');
  });

  it('after both said "they match": a rename shows "✓ verified as" the old name; a re-key takes the ✓ away and says so in the chat', async () => {
    const { url } = await attacker('start', { version: 9 });
    const { ann, kit } = await relayedPair(url!);
    const kitId = kit.selfId!;
    const annId = ann.selfId!;
    await waitUntil(() => ann.mesh!.verificationOf(kitId).identity !== null && kit.mesh!.verificationOf(annId).identity !== null, 'identities exchanged');
    const outcome = await ann.verifyPeer(kitId);
    expect(outcome.ok).to.equal(true);
    await waitUntil(() => kit.mesh!.verificationOf(annId).code !== null, 'Kit has the code');
    ann.confirmPeer(kitId, true);
    kit.confirmPeer(annId, true);
    const list = () => ann.shadowRoot!.querySelector('peer-list')!.shadowRoot!;
    await waitUntil(() => list().querySelector('[part="verified"]') !== null, '✓ verified in Ann’s list');

    await attacker('rename', { name: 'Kit', newName: 'Kat' });
    await waitUntil(() => list().querySelector('[part="verified-as"]') !== null, '“verified as” after the rename');
    expect(list().querySelector('[part="verified-as"]')!.textContent).to.equal('✓ verified as Kit');
    expect(list().querySelector('[part="verified"]'), 'no bare ✓ beside the new name').to.equal(null);
    expect(list().querySelector(`[data-peer-id="${kitId}"] [part="name"]`)!.textContent).to.contain('Kat');

    const identities = record(ann, 'p2p-peer-identity');
    await attacker('rekey');
    await waitUntil(() => identities.some((i) => i.status === 'changed'), 'p2p-peer-identity says changed');
    await waitUntil(() => list().querySelector('[part="changed"]') !== null, '⚠ key changed in the list');
    expect(list().querySelector('[part="verified"]')).to.equal(null);
    expect(list().querySelector('[part="verified-as"]')).to.equal(null);
    await waitUntil(
      () => [...ann.shadowRoot!.querySelectorAll('[part="notice"]')].some((li) => /keys changed/.test(li.textContent ?? '')),
      'a warning line in the chat',
    );
    // Now the server writes in Kit's name: the line shows, but nothing says Kit is verified.
    await attacker('inject', { name: 'Ann', text: 'forged by the server' });
    await waitUntil(
      () =>
        ann.shadowRoot!.textContent!.includes('forged by the server') ||
        [...ann.shadowRoot!.querySelectorAll('[part="text"]')].some((t) => t.textContent === 'forged by the server'),
      'the forged line',
    );
    await ann.updateComplete;
    expect(list().querySelector('[part="verified"]')).to.equal(null);
    expect(list().querySelector('[part="changed"]')).to.not.equal(null);
  });
});
