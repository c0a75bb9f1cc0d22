/**
 * Remembered identities: each chat signs both DTLS fingerprints of its connection with a
 * long-lived key; after codes were compared once, the same key next time shows
 * "verified" without comparing again, and a man in the middle (who cannot sign with the
 * real key for his connection) shows "key changed".
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import type { PeerIdentityDetail } from '../client/mesh-events.js';
import { addChat, record, removeAll, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';
import { mitm, throughAttacker } from './attacker.js';
import { loadIdentity } from '../client/identity-keys.js';

/** Two chats with the given identities, in a new room, once their channel is open. */
async function pairOf(identities: [string, string], server?: string): Promise<[P2pChat, P2pChat, PeerIdentityDetail[], PeerIdentityDetail[]]> {
  const room = uniqueRoom('identity');
  const ann = addChat(room, 'Ann', server ? { server } : {});
  ann.setAttribute('identity', identities[0]);
  const annSeen = record(ann, 'p2p-peer-identity');
  await waitUntil(() => ann.selfId !== null, 'Ann joined');
  const bob = addChat(room, 'Bob', server ? { server } : {});
  bob.setAttribute('identity', identities[1]);
  const bobSeen = record(bob, 'p2p-peer-identity');
  await waitForMesh([ann, bob], 30_000);
  return [ann, bob, annSeen, bobSeen];
}

describe('remembered identities', () => {
  let chats: P2pChat[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
  });
  after(() => mitm('stop'));

  it('a profile that several chats load at once for the first time has one key, the first stored', async () => {
    const name = `first-use-${Date.now()}`;
    const loaded = await Promise.all([1, 2, 3, 4].map(() => loadIdentity(name)));
    const again = await loadIdentity(name);
    expect(new Set([...loaded, again].map((l) => l.keys.publicKey)).size).to.equal(1);
  });

  it('new at first; verified after the codes matched, and again next time without comparing; "key changed" through a man in the middle', async function () {
    // Three pairs one after the other, the last through the attacker, which may take a second attempt (throughAttacker).
    this.timeout(150_000);
    const names: [string, string] = [`ann-${Date.now()}`, `bob-${Date.now()}`];
    // First meeting: the keys are new to each other.
    let [ann, bob, annSeen, bobSeen] = await pairOf(names);
    chats = [ann, bob];
    await waitUntil(() => annSeen.length === 1 && bobSeen.length === 1, 'each side checked the other’s key');
    expect(annSeen[0]!.status).to.equal('new');
    expect(bobSeen[0]!.status).to.equal('new');
    expect(annSeen[0]!.key).to.match(/^([0-9A-F]{4} ){7}[0-9A-F]{4}$/);
    expect(annSeen[0]!.key).to.equal(await bob.mesh!.ownIdentityKey());
    // They compare codes and both say they match: each remembers the other's key.
    await ann.verifyPeer(bob.selfId!);
    await bob.verifyPeer(ann.selfId!);
    expect(ann.confirmPeer(bob.selfId!, true)).to.equal(true);
    expect(bob.confirmPeer(ann.selfId!, true)).to.equal(true);
    await waitUntil(() => annSeen.at(-1)?.status === 'verified' && bobSeen.at(-1)?.status === 'verified', 'both remembered');
    removeAll(chats);

    // Next time (new ids, new connection, same keys): verified at once, no codes compared.
    [ann, bob, annSeen, bobSeen] = await pairOf(names);
    chats = [ann, bob];
    await waitUntil(() => annSeen.length === 1 && bobSeen.length === 1, 'the keys checked again');
    expect(annSeen[0]!.status).to.equal('verified');
    expect(bobSeen[0]!.status).to.equal('verified');
    const list = ann.shadowRoot!.querySelector('peer-list')!;
    await waitUntil(() => list.shadowRoot!.querySelector('[part="verified"]') !== null, '“verified” in the list');
    removeAll(chats);

    // Through a malicious server in the middle: the signature does not fit the connection Ann sees.
    const errors: string[] = [];
    [ann, , annSeen, bobSeen] = await throughAttacker(
      async (url) => {
        const made = await pairOf(names, url);
        chats = [made[0], made[1]];
        return made;
      },
      (made) => [made[0], made[1]],
    );
    ann.addEventListener('p2p-error', (event) => errors.push(event.detail.code));
    await waitUntil(() => annSeen.length === 1 && bobSeen.length === 1, 'the keys checked through the attacker', 20_000).catch((error: Error) => {
      throw new Error(`${error.message}: Ann saw ${JSON.stringify(annSeen)}, Bob saw ${JSON.stringify(bobSeen)}, Ann's peers ${JSON.stringify(ann.peers)}`);
    });
    expect(annSeen[0]!.status).to.equal('changed');
    expect(annSeen[0]!.reason).to.equal('not-this-connection');
    expect(bobSeen[0]!.status).to.equal('changed');
    await waitUntil(() => ann.shadowRoot!.querySelector('peer-list')!.shadowRoot!.querySelector('[part="changed"]') !== null, '“key changed” in the list');
  });
});
