/**
 * Safety codes over an honest server: the two sides of a direct connection compute the
 * same code from both DTLS fingerprints and two nonces exchanged commit-then-reveal; a
 * new comparison gives a new code; the dialog, the buttons and the events.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { fingerprintInSdp } from '../client/safety-code.js';
import { meshOf, record, removeAll, uniqueRoom, waitUntil } from './helpers.js';

describe('safety codes (verify a peer)', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });

  it('both sides show the same code, built from the fingerprints of this connection; a new comparison gives a new code', async () => {
    chats = await meshOf(uniqueRoom('verify'), ['Ann', 'Bob']);
    const [ann, bob] = chats as [P2pChat, P2pChat];
    const annCodes = record(ann, 'p2p-verify-code');
    const bobCodes = record(bob, 'p2p-verify-code');
    const outcome = await ann.verifyPeer(bob.selfId!);
    expect(outcome.ok, outcome.ok ? '' : outcome.reason).to.equal(true);
    await waitUntil(() => annCodes.length === 1 && bobCodes.length === 1, 'both sides to have a code');
    const [a, b] = [annCodes[0]!, bobCodes[0]!];
    expect(a.code).to.match(/^\d{4} \d{4} \d{4}$/);
    expect(b.code).to.equal(a.code);
    expect(a.startedByPeer).to.equal(false);
    expect(b.startedByPeer).to.equal(true);
    // Each side's own fingerprint is the other's remote one, and is the one in its own description.
    expect(a.local).to.equal(b.remote);
    expect(b.local).to.equal(a.remote);
    expect(a.local).to.equal(fingerprintInSdp(ann.mesh!.connectionTo(bob.selfId!)!.localDescription!.sdp));
    expect(a.local).to.not.equal(a.remote);

    // Bob is told (a notice, nothing takes his focus); his verify button shows the same code.
    const bobDialog = bob.shadowRoot!.querySelector('p2p-verify-dialog')!;
    // (The dialog's module may not even be loaded on Bob's side: it loads at a first comparison.)
    expect(bobDialog.shadowRoot?.querySelector('dialog')?.open ?? false).to.equal(false);
    await waitUntil(
      () => [...bob.shadowRoot!.querySelectorAll('[part~="notice"]')].some((n) => n.textContent!.includes('asks to compare safety codes')),
      'the notice',
    );
    const shown = await bob.verifyPeer(ann.selfId!);
    expect(shown.ok && shown.code).to.equal(a.code);
    expect(shown.ok && shown.startedByPeer).to.equal(true);
    await waitUntil(() => bobDialog.shadowRoot?.querySelector('[part="code"]')?.textContent === a.code, 'Bob’s dialog to show the code');
    expect(bobDialog.shadowRoot!.querySelector('dialog')!.open).to.equal(true);
    expect(bobDialog.shadowRoot!.textContent).to.contain('asked to compare');
    expect(bobCodes.length).to.equal(1, 'no second comparison');

    // Once answered, the next comparison has new nonces and a new code, again the same on both sides.
    expect(bob.confirmPeer(ann.selfId!, true)).to.equal(true);
    const again = await bob.verifyPeer(ann.selfId!);
    expect(again.ok).to.equal(true);
    await waitUntil(() => annCodes.length === 2 && bobCodes.length === 2, 'a second code on both sides');
    expect(annCodes[1]!.code).to.equal(bobCodes[1]!.code);
    expect(annCodes[1]!.code).to.not.equal(a.code);
  });

  it('"They match" marks the peer verified, "They don\'t match" warns; both fire p2p-peer-verify', async () => {
    chats = await meshOf(uniqueRoom('verify-answer'), ['Ann', 'Bob']);
    const [ann, bob] = chats as [P2pChat, P2pChat];
    const annVerdicts = record(ann, 'p2p-peer-verify');
    const bobVerdicts = record(bob, 'p2p-peer-verify');
    const bobErrors = record(bob, 'p2p-error');
    // Started from Ann's peer list, as a person would.
    const annList = ann.shadowRoot!.querySelector('peer-list')!;
    await waitUntil(() => annList.shadowRoot?.querySelector('[part="verify"]') !== null, 'a verify button for Bob');
    (annList.shadowRoot!.querySelector('[part="verify"]') as HTMLButtonElement).click();
    const annDialog = ann.shadowRoot!.querySelector('p2p-verify-dialog')!;
    const bobDialog = bob.shadowRoot!.querySelector('p2p-verify-dialog')!;
    await waitUntil(() => annDialog.shadowRoot?.querySelector('[part="match"]') != null, 'Ann’s dialog to offer the answers');
    // Bob opens the same comparison from his list.
    const bobList = bob.shadowRoot!.querySelector('peer-list')!;
    await waitUntil(() => bobList.shadowRoot?.querySelector('[part="verify"]') !== null, 'a verify button for Ann');
    (bobList.shadowRoot!.querySelector('[part="verify"]') as HTMLButtonElement).click();
    await waitUntil(() => bobDialog.shadowRoot?.querySelector('[part="mismatch"]') != null, 'Bob’s dialog to offer the answers');
    expect(bobDialog.shadowRoot!.querySelector('[part="code"]')!.textContent).to.equal(annDialog.shadowRoot!.querySelector('[part="code"]')!.textContent);
    const code = annDialog.shadowRoot!.querySelector('[part="code"]')!.textContent;

    (annDialog.shadowRoot!.querySelector('[part="match"]') as HTMLButtonElement).click();
    await waitUntil(() => annVerdicts.length === 1, 'Ann’s verdict');
    expect(annVerdicts[0]).to.deep.equal({ id: bob.selfId, match: true, code });
    await waitUntil(() => annList.shadowRoot!.querySelector('[part="verified"]') !== null, 'Bob shown as verified');
    expect(annDialog.shadowRoot!.querySelector('dialog')!.open).to.equal(false);

    (bobDialog.shadowRoot!.querySelector('[part="mismatch"]') as HTMLButtonElement).click();
    await waitUntil(() => bobVerdicts.length === 1, 'Bob’s verdict');
    expect(bobVerdicts[0]!.match).to.equal(false);
    expect(bobErrors.map((e) => e.code)).to.include('verify-mismatch');
    await waitUntil(() => bobList.shadowRoot!.querySelector('[part="mismatch"]') !== null, 'a warning on Ann in Bob’s list');
    expect(bobList.shadowRoot!.querySelector('[part="mismatch"]')!.textContent).to.contain('codes differ');
  });
});
