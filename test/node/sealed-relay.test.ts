/**
 * The sealed relay without browsers: two SealedRelay objects (real WebCrypto) whose
 * payloads go through a `server` function that can read, change, drop or redirect them,
 * as a malicious signaling server could.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SealedRelay, type SealState } from '../../client/sealed-relay.js';
import { safetyCode } from '../../client/safety-code.js';
import { encodeChannelMessage, parseChannelMessage, readRelayPayload, type ChannelMessage, type ChatMessage, type RelayPayload } from '../../protocol/index.js';

type Side = 'ann' | 'bob';
type Wire = (payload: RelayPayload, from: Side, to: Side) => RelayPayload | null;

interface SideView {
  relay: SealedRelay;
  received: ChannelMessage[];
  rejected: string[];
  states: SealState[];
  downgrades: string[];
  gaps: string[];
}

const codec = {
  encode: encodeChannelMessage,
  parse: (text: string) => {
    const parsed = parseChannelMessage(text);
    return parsed.ok ? parsed.value : null;
  },
};
const chat = (text: string, id = text): ChatMessage => ({ type: 'chat', id, text, at: 1, name: 'x' });

/** Two sides; what each posts goes through `wire` (the server), then is read as the server's parser would. */
function pair(wire: Wire = (p) => p, options: { noCryptoFor?: Side; numbered?: boolean } = {}) {
  const seen: RelayPayload[] = [];
  const views = {} as Record<Side, SideView>;
  let chain = Promise.resolve();
  const make = (self: Side, other: Side): SideView => {
    const view: SideView = { received: [], rejected: [], states: [], downgrades: [], gaps: [], relay: null as unknown as SealedRelay };
    const subtle = globalThis.crypto.subtle;
    // A page without WebCrypto: the relay sees no crypto.subtle while it starts.
    if (options.noCryptoFor === self) Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
    view.relay = new SealedRelay({
      ...codec,
      selfId: () => self,
      post: (to, payload) => {
        assert.equal(to, other);
        // The wire carries JSON: what the server reads and forwards.
        const onWire = readRelayPayload(JSON.parse(JSON.stringify(payload)));
        seen.push(onWire);
        const passed = wire(onWire, self, other);
        if (passed) chain = chain.then(() => views[other].relay.receive(self, passed));
        return 'sent';
      },
      numbered: () => options.numbered ?? true,
      state: (_id, state) => view.states.push(state),
      received: (_id, message) => view.received.push(message),
      rejected: (_id, why) => view.rejected.push(why),
      downgrade: (_id, why) => view.downgrades.push(why),
      gap: (_id, what, count) => view.gaps.push(`${what} ${count}`),
    });
    if (options.noCryptoFor === self) Object.defineProperty(globalThis.crypto, 'subtle', { value: subtle, configurable: true });
    return view;
  };
  views.ann = make('ann', 'bob');
  views.bob = make('bob', 'ann');
  const settled = async () => {
    for (let k = 0; k < 20; k++) {
      await chain;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  return { ...views, seen, settled };
}

test('keys swap, chat goes sealed both ways, in order, and the server sees no text', async () => {
  const { ann, bob, seen, settled } = pair();
  // Ann writes before any key is in: it waits, then goes sealed.
  assert.equal(ann.relay.send('bob', chat('early secret')), 'queued');
  await ann.relay.start('bob');
  await bob.relay.start('ann');
  await settled();
  assert.equal(ann.relay.stateOf('bob'), 'sealed');
  assert.equal(bob.relay.stateOf('ann'), 'sealed');
  for (let k = 0; k < 5; k++) assert.equal(bob.relay.send('ann', chat(`reply ${k}`)), 'sent');
  await settled();
  assert.deepEqual(
    bob.received.map((m) => (m.type === 'chat' ? m.text : m.type)),
    ['early secret'],
  );
  assert.deepEqual(
    ann.received.map((m) => (m.type === 'chat' ? m.text : m.type)),
    ['reply 0', 'reply 1', 'reply 2', 'reply 3', 'reply 4'],
  );
  const wire = JSON.stringify(seen);
  assert.ok(!wire.includes('secret') && !wire.includes('reply'), 'no chat text on the wire');
  assert.deepEqual([...new Set(seen.map((p) => p.type))].sort(), ['relay-key', 'sealed']);
  assert.deepEqual(ann.rejected, []);
});

test('a changed byte, a message sent back to its author, or clear text where the pair seals: each is dropped and said', async () => {
  let mode: 'flip' | 'reflect' | 'strip' | 'pass' = 'pass';
  let reflectTo: SealedRelay | null = null;
  const { ann, bob, settled } = pair((payload, from) => {
    if (payload.type !== 'sealed' || mode === 'pass') return payload;
    if (mode === 'flip') {
      const data = payload.data;
      const flipped = data.slice(0, 5) + (data[5] === 'A' ? 'B' : 'A') + data.slice(6);
      return { ...payload, data: flipped };
    }
    if (mode === 'reflect') {
      // The server hands Ann's message back to Ann, as if Bob had sent it.
      if (from === 'ann') void reflectTo!.receive('bob', payload);
      return null;
    }
    return chat('forged by the server', 'forged');
  });
  reflectTo = ann.relay;
  await ann.relay.start('bob');
  await settled();
  assert.equal(bob.relay.stateOf('ann'), 'sealed');
  mode = 'flip';
  ann.relay.send('bob', chat('altered'));
  await settled();
  mode = 'reflect';
  ann.relay.send('bob', chat('reflected'));
  await settled();
  mode = 'strip';
  ann.relay.send('bob', chat('stripped'));
  await settled();
  mode = 'pass';
  ann.relay.send('bob', chat('intact'));
  await settled();
  assert.deepEqual(
    bob.received.filter((m) => m.type === 'chat').map((m) => (m as ChatMessage).text),
    ['intact'],
  );
  assert.deepEqual(bob.rejected, ['did not pass its integrity check', 'came unencrypted although this pair encrypts']);
  assert.deepEqual(ann.rejected, ['did not pass its integrity check'], 'the reflected one fails at its author');
});

test('a server that swaps both keys reads nothing it can show, and the two sides see different key fingerprints', async () => {
  // The server answers each side with its own key (a SealedRelay of its own per side).
  const { ann, bob, settled } = pair((payload) => payload);
  await ann.relay.start('bob');
  await settled();
  const annSees = await ann.relay.channelOf('bob')!.fingerprints();
  const bobSees = await bob.relay.channelOf('ann')!.fingerprints();
  assert.ok(annSees && bobSees);
  assert.equal(annSees.source, 'relay-key');
  assert.equal(annSees.local, bobSees.remote, 'without a swap, both see the same two keys');
  assert.equal(annSees.remote, bobSees.local);
  // With a swap: Ann talks to Mallory-as-Bob, Bob to Mallory-as-Ann.
  const mallory = pair();
  const toAnn = pair();
  await mallory.ann.relay.start('bob');
  await toAnn.ann.relay.start('bob');
  await mallory.settled();
  await toAnn.settled();
  const a = await mallory.ann.relay.channelOf('bob')!.fingerprints();
  const b = await toAnn.bob.relay.channelOf('ann')!.fingerprints();
  assert.notEqual(a!.remote, b!.local, 'Ann sees a key that is not Bob’s');
  const nonce = 'n'.repeat(43);
  const codeAnn = await safetyCode({ id: 'ann', fingerprint: a!.local, nonce }, { id: 'bob', fingerprint: a!.remote, nonce });
  const codeBob = await safetyCode({ id: 'bob', fingerprint: b!.local, nonce }, { id: 'ann', fingerprint: b!.remote, nonce });
  assert.notEqual(codeAnn, codeBob, 'so the safety codes differ');
});

test('a side without WebCrypto says so: the pair relays clear text on both sides, shown as such', async () => {
  const { ann, bob, seen, settled } = pair((p) => p, { noCryptoFor: 'bob' });
  await ann.relay.start('bob');
  await settled();
  assert.equal(ann.relay.stateOf('bob'), 'plain');
  assert.equal(bob.relay.stateOf('ann'), 'plain');
  assert.deepEqual(seen.filter((p) => p.type === 'relay-key' && !('key' in p)).length, 1);
  assert.equal(ann.relay.send('bob', chat('in the clear')), 'sent');
  await settled();
  assert.deepEqual(
    bob.received.map((m) => (m as ChatMessage).text),
    ['in the clear'],
  );
  assert.deepEqual(ann.states, ['plain']);
});

test('a peer that starts over with a new key gets ours again; the same key twice gets no answer', async () => {
  const posted: RelayPayload[] = [];
  const ann = new SealedRelay({
    ...codec,
    selfId: () => 'ann',
    post: (_to, payload) => (posted.push(payload), 'sent'),
    numbered: () => true,
    state: () => {},
    received: () => {},
    rejected: () => {},
    downgrade: () => {},
    gap: () => {},
  });
  await ann.start('bob');
  assert.equal(posted.length, 1);
  // Two pages that were "bob", one after the other: each with its own key.
  const first = pair();
  const second = pair();
  await first.bob.relay.start('ann');
  await second.bob.relay.start('ann');
  const key1 = first.seen.find((p) => p.type === 'relay-key')!;
  const key2 = second.seen.find((p) => p.type === 'relay-key')!;
  await ann.receive('bob', key1);
  assert.equal(posted.length, 1, 'the first key: ours went out already');
  assert.equal(ann.stateOf('bob'), 'sealed');
  await ann.receive('bob', key1);
  assert.equal(posted.length, 1, 'the same key again: nothing to answer');
  await ann.receive('bob', key2);
  assert.equal(posted.length, 2, 'a new key: ours again');
  assert.deepEqual(posted[1], posted[0]);
  assert.equal(ann.stateOf('bob'), 'sealed');
});

test('a new key is a new channel: what was verified over the old one does not carry over', async () => {
  const { ann, settled } = pair();
  await ann.relay.start('bob');
  await settled();
  const before = ann.relay.channelOf('bob');
  assert.ok(before);
  // The server (or a restarted page) brings a new key for "bob".
  const other = pair();
  await other.bob.relay.start('ann');
  await ann.relay.receive(
    'bob',
    other.seen.find((p) => p.type === 'relay-key')!,
  );
  const after = ann.relay.channelOf('bob');
  assert.ok(after && after !== before, 'another channel object');
  assert.equal(before.closed, true);
  assert.deepEqual(ann.states, ['sealed', 'sealed'], 'the state hook tells of the new key');
  assert.notDeepEqual(await after.fingerprints(), null);
});

test('the ratchet: an empty relay-key after sealing is refused, chat stays sealed, and it holds after the peer left and came back', async () => {
  let forge = false;
  const { ann, seen, settled } = pair((payload, from) => (forge && from === 'bob' && payload.type === 'relay-key' ? { type: 'relay-key' } : payload));
  await ann.relay.start('bob');
  await settled();
  assert.equal(ann.relay.stateOf('bob'), 'sealed');
  await ann.relay.receive('bob', { type: 'relay-key' });
  assert.equal(ann.relay.stateOf('bob'), 'sealed', 'still sealed');
  assert.deepEqual(ann.downgrades, ['sent a relay key that would turn encryption off']);
  const before = seen.length;
  assert.equal(ann.relay.send('bob', chat('still secret')), 'sent');
  await settled();
  assert.deepEqual(
    seen.slice(before).map((p) => p.type),
    ['sealed'],
    'never in clear',
  );
  // The server says Bob left and came back, then offers an empty key for him.
  ann.relay.drop('bob');
  assert.equal(ann.relay.wasSealed('bob'), true);
  forge = true;
  await ann.relay.receive('bob', { type: 'relay-key' });
  assert.notEqual(ann.relay.stateOf('bob'), 'plain');
  assert.equal(ann.downgrades.length, 2);
  assert.equal(ann.relay.send('bob', chat('not in clear')), 'queued', 'waits for a key rather than going clear');
});

test('numbered sealed payloads: a replay is refused, a drop and a reorder are said, a stripped number is refused', async () => {
  let hold: RelayPayload[] | null = null;
  let replay: RelayPayload | null = null;
  let strip = false;
  const { ann, bob, settled } = pair((payload, from) => {
    if (from !== 'ann' || payload.type !== 'sealed') return payload;
    replay ??= payload;
    if (strip) {
      const { n: _n, ...bare } = payload;
      void _n;
      return bare;
    }
    if (hold) {
      hold.push(payload);
      return null;
    }
    return payload;
  });
  await ann.relay.start('bob');
  await settled();
  ann.relay.send('bob', chat('one'));
  await settled();
  assert.equal((replay as { n?: number } | null)?.n, 1, 'numbered from 1');
  // Replay the first one.
  await bob.relay.receive('ann', replay!);
  await settled();
  assert.deepEqual(bob.rejected, ['was relayed before: a replay']);
  // Two held back, the third passes, then the held ones in reverse order.
  hold = [];
  ann.relay.send('bob', chat('two'));
  ann.relay.send('bob', chat('three'));
  await settled();
  const held = hold;
  hold = null;
  ann.relay.send('bob', chat('four'));
  await settled();
  assert.deepEqual(bob.gaps, ['missing 2']);
  await bob.relay.receive('ann', held[1]!);
  await bob.relay.receive('ann', held[0]!);
  assert.deepEqual(bob.gaps, ['missing 2', 'reordered 1', 'reordered 1']);
  strip = true;
  ann.relay.send('bob', chat('five'));
  await settled();
  assert.deepEqual(bob.rejected, ['was relayed before: a replay', 'came without its sequence number']);
  assert.deepEqual(
    bob.received.filter((m) => m.type === 'chat').map((m) => (m as ChatMessage).text),
    ['one', 'four', 'three', 'two'],
  );
});

test('with a peer or server before version 9 sealed payloads carry no number, and are taken as before', async () => {
  const { ann, bob, seen, settled } = pair((p) => p, { numbered: false });
  await ann.relay.start('bob');
  await settled();
  ann.relay.send('bob', chat('old style'));
  await settled();
  const sealed = seen.filter((p) => p.type === 'sealed');
  assert.ok(sealed.length > 0 && sealed.every((p) => !('n' in p)));
  assert.deepEqual(
    bob.received.filter((m) => m.type === 'chat').map((m) => (m as ChatMessage).text),
    ['old style'],
  );
  assert.deepEqual(bob.rejected, []);
});

test('a key the server cycles back to keeps its numbering: an old payload under it is still a replay', async () => {
  let keep: RelayPayload | null = null;
  const { ann, bob, seen, settled } = pair((payload, from) => {
    if (from === 'ann' && payload.type === 'sealed') keep ??= payload;
    return payload;
  });
  await ann.relay.start('bob');
  await settled();
  // Ann started: the first key on the wire is hers.
  const annOffer = seen.find((p) => p.type === 'relay-key')!;
  ann.relay.send('bob', chat('once'));
  await settled();
  const annKey = (await bob.relay.channelOf('ann')!.fingerprints())!.remote;
  // Another key for "ann" (the server's), then Ann's own again.
  const other = pair();
  await other.ann.relay.start('bob');
  await bob.relay.receive(
    'ann',
    other.seen.find((p) => p.type === 'relay-key')!,
  );
  await bob.relay.receive('ann', annOffer);
  assert.equal((await bob.relay.channelOf('ann')!.fingerprints())!.remote, annKey, 'back on Ann’s key');
  await bob.relay.receive('ann', keep!);
  assert.ok(bob.rejected.includes('was relayed before: a replay'));
});
