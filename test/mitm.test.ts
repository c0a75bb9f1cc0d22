/**
 * A real man in the middle: a malicious signaling server (scripts/mitm-signaling.mjs, a
 * test fixture) answers the first peer's offer with a WebRTC endpoint of its own and
 * offers to the second peer itself, forwarding the data channels between the two legs.
 * The pages chat and notice nothing (the attack works, as it would against any WebRTC
 * chat that trusts its server); their safety codes differ, and "They don't match" warns.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, record, removeAll, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';
import { mitm, throughAttacker } from './attacker.js';

describe('a malicious signaling server in the middle', () => {
  let chats: P2pChat[] = [];
  after(async () => {
    removeAll(chats);
    await mitm('stop');
  });

  it('reads the chat unnoticed, but the safety codes differ and a mismatch warns', async function () {
    // The attacker may take a second attempt (throughAttacker).
    this.timeout(150_000);
    const [ann, bob] = await throughAttacker(
      async (url) => {
        const room = uniqueRoom('mitm');
        const first = addChat(room, 'Ann', { server: url });
        await waitUntil(() => first.selfId !== null, 'Ann joined');
        const second = addChat(room, 'Bob', { server: url });
        chats = [first, second];
        await waitForMesh(chats, 30_000);
        return [first, second] as const;
      },
      (pair) => [...pair],
    );
    const states = () => JSON.stringify({ ann: ann.peers, bob: bob.peers });
    const got = record(bob, 'p2p-message');
    ann.send('a secret for Bob');
    await waitUntil(() => got.some((m) => m.text === 'a secret for Bob'), 'Bob gets the message').catch((error: Error) => {
      throw new Error(`${error.message}: ${states()}`);
    });
    // Shown as a direct connection on both sides: nothing looks wrong.
    expect(ann.peers[0]!.transport).to.equal('direct');
    expect(bob.peers[0]!.transport).to.equal('direct');
    // The server read it.
    const { captured, fingerprints } = await mitm('captured');
    expect(captured!.map((c) => c.text)).to.include('a secret for Bob');

    // Each side compares codes: the server forwards the commitments and reveals faithfully.
    const annCodes = record(ann, 'p2p-verify-code');
    const bobCodes = record(bob, 'p2p-verify-code');
    const fromAnn = await ann.verifyPeer(bob.selfId!);
    await waitUntil(() => bobCodes.length === 1, 'Bob’s side of the comparison');
    const fromBob = await bob.verifyPeer(ann.selfId!);
    expect(fromAnn.ok && fromBob.ok).to.equal(true);
    if (!fromAnn.ok || !fromBob.ok) return;
    expect(fromAnn.code).to.not.equal(fromBob.code);
    // Each saw the server's certificate where the other's should be.
    expect(annCodes[0]!.remote).to.not.equal(bobCodes[0]!.local);
    expect(bobCodes[0]!.remote).to.not.equal(annCodes[0]!.local);
    expect(fingerprints).to.include(annCodes[0]!.remote.replace(/^sha-256 /, 'sha-256 '));

    // Ann is told the codes differ, and says so: a warning in her peer list and an event.
    const verdicts = record(ann, 'p2p-peer-verify');
    const errors = record(ann, 'p2p-error');
    const dialog = ann.shadowRoot!.querySelector('p2p-verify-dialog')!;
    await waitUntil(() => dialog.shadowRoot?.querySelector('[part="mismatch"]') != null, 'the answers');
    (dialog.shadowRoot!.querySelector('[part="mismatch"]') as HTMLButtonElement).click();
    await waitUntil(() => verdicts.length === 1, 'the verdict');
    expect(verdicts[0]!.match).to.equal(false);
    expect(errors.map((e) => e.code)).to.include('verify-mismatch');
    const list = ann.shadowRoot!.querySelector('peer-list')!;
    await waitUntil(() => list.shadowRoot!.querySelector('[part="mismatch"]') !== null, 'the warning in the list');
  });
});
