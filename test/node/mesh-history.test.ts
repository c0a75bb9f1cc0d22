/**
 * History for late joiners without a network: MeshHistory instances joined by direct
 * calls, the protocol's history messages, and what a hostile supplier cannot do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshHistory, type HistoryLine } from '../../client/mesh-history.js';
import { parseChannelMessage, type HistoryMessage } from '../../protocol/index.js';

/** Peers by id, each with a MeshHistory whose `send` reaches the other's `receive` (in order, a tick later). */
function room(settings: Record<string, { limit?: number; windowMs?: number }>) {
  const shown: Record<string, { line: HistoryLine; via: string }[]> = {};
  const seen: Record<string, Set<string>> = {};
  const histories: Record<string, MeshHistory> = {};
  for (const [id, own] of Object.entries(settings)) {
    shown[id] = [];
    seen[id] = new Set();
    histories[id] = new MeshHistory(own, {
      send: (peer, message) => {
        // Every message goes through the wire format both ways.
        const parsed = parseChannelMessage(JSON.stringify(message));
        assert.ok(parsed.ok, JSON.stringify(message));
        setTimeout(() => histories[peer]?.receive(id, parsed.value as HistoryMessage), 0);
        return true;
      },
      deliver: (entries) =>
        entries.filter(({ line, via }) => {
          const key = `${line.from}/${line.id}`;
          if (seen[id]!.has(key)) return false;
          seen[id]!.add(key);
          shown[id]!.push({ line, via });
          return true;
        }),
    });
  }
  return { histories, shown, seen };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
const line = (from: string, n: number, at = Date.now() - 60_000 + n): HistoryLine => ({
  id: `${from}-${n}`,
  from,
  name: from.toUpperCase(),
  text: `message ${n}`,
  at,
});

test('a late joiner gets the last N lines once, in order, from two peers that both answer', async () => {
  const { histories, shown } = room({ ann: {}, bob: {}, cy: { limit: 4 } });
  // Ann and Bob both saw the same six messages; Bob joined late and missed the first.
  const all = [line('ann', 1), line('bob', 2), line('ann', 3), line('bob', 4), line('ann', 5), line('bob', 6)];
  for (const l of all) histories['ann']!.record(l);
  for (const l of all.slice(1)) histories['bob']!.record(l);
  histories['cy']!.ask('ann');
  histories['cy']!.ask('bob');
  await settle();
  assert.deepEqual(
    shown['cy']!.map(({ line }) => line.id),
    ['bob-2', 'ann-3', 'bob-4', 'ann-5', 'bob-6'].slice(-4),
  );
  // Asked once per peer: a second ask sends nothing more.
  histories['cy']!.ask('ann');
  await settle();
  assert.equal(shown['cy']!.length, 4);
});

test('peers expected from the welcome are waited for: an answer that comes before the other channel opens does not show alone', async () => {
  const { histories, shown } = room({ ann: {}, bob: {}, cy: {} });
  for (const l of [line('ann', 1), line('bob', 2)]) {
    histories['ann']!.record(l);
    histories['bob']!.record(l);
  }
  const cy = histories['cy']!;
  const hooks = cy.hooks as { deliver: typeof cy.hooks.deliver };
  const deliver = hooks.deliver;
  let batches = 0;
  hooks.deliver = (entries) => {
    batches++;
    return deliver(entries);
  };
  cy.expect(['ann', 'bob']);
  // Ann's channel opens first and she answers in full; Bob's channel is still opening.
  cy.ask('ann');
  await settle();
  assert.equal(shown['cy']!.length, 0);
  cy.ask('bob');
  await settle();
  assert.equal(batches, 1);
  assert.deepEqual(
    shown['cy']!.map(({ line }) => line.id),
    ['ann-1', 'bob-2'],
  );
  // An expected peer that leaves before its channel opens is not waited for.
  const late = room({ ann: {}, cy: {} });
  late.histories['ann']!.record(line('ann', 1));
  late.histories['cy']!.expect(['ann', 'bob']);
  late.histories['cy']!.ask('ann');
  await settle();
  assert.equal(late.shown['cy']!.length, 0);
  late.histories['cy']!.peerGone('bob');
  await settle();
  assert.deepEqual(
    late.shown['cy']!.map(({ line }) => line.id),
    ['ann-1'],
  );
  cy.close();
  late.histories['cy']!.close();
});

test('lines are ordered by sent time, then id; a line already seen live is not shown again', async () => {
  const { histories, shown, seen } = room({ ann: {}, cy: {} });
  const at = Date.now() - 1000;
  histories['ann']!.record({ ...line('bob', 9), id: 'b', at });
  histories['ann']!.record({ ...line('ann', 8), id: 'a', at });
  histories['ann']!.record(line('ann', 7, at - 10));
  seen['cy']!.add('ann/ann-7');
  histories['cy']!.ask('ann');
  await settle();
  assert.deepEqual(
    shown['cy']!.map(({ line, via }) => `${line.id} via ${via}`),
    ['a via ann', 'b via ann'],
  );
});

test('the supplier keeps only its last `limit` lines and those inside the time window', async () => {
  const { histories, shown } = room({ ann: { limit: 3, windowMs: 10_000 }, cy: { limit: 50 } });
  histories['ann']!.record(line('ann', 0, Date.now() - 60_000));
  for (let n = 1; n <= 5; n++) histories['ann']!.record(line('ann', n, Date.now() - 1000 + n));
  histories['cy']!.ask('ann');
  await settle();
  assert.deepEqual(
    shown['cy']!.map(({ line }) => line.id),
    ['ann-3', 'ann-4', 'ann-5'],
  );
});

test('a hostile supplier: lines nobody asked for, more than asked, from the future, after its end, or a second answer are not shown', async () => {
  const { histories, shown } = room({ cy: { limit: 3 } });
  const cy = histories['cy']!;
  const send = (message: HistoryMessage) => cy.receive('mallory', message);
  send({ type: 'history', ...line('x', 1) });
  send({ type: 'history-end' });
  assert.equal(shown['cy']!.length, 0, 'unsolicited');
  // Cy asks (the request goes nowhere: mallory is not in this room's table).
  cy.ask('mallory');
  send({ type: 'history', ...line('x', 2, Date.now() + 3_600_000) });
  for (let n = 3; n <= 10; n++) send({ type: 'history', ...line('x', n) });
  send({ type: 'history-end' });
  send({ type: 'history', ...line('x', 11) });
  await settle();
  // Lines count from the first (the future one too, which is dropped): the fourth of three asked ends the answer.
  assert.deepEqual(
    shown['cy']!.map(({ line }) => line.id),
    ['x-3', 'x-4'],
  );
});

test('a peer that asks twice is answered once; it may ask again after it left and came back', async () => {
  const sent: HistoryMessage[] = [];
  const ann = new MeshHistory({}, { send: (_peer, message) => (sent.push(message), true), deliver: (entries) => entries });
  ann.record(line('ann', 1));
  ann.receive('cy', { type: 'history-request', limit: 10, since: 0 });
  ann.receive('cy', { type: 'history-request', limit: 10, since: 0 });
  assert.deepEqual(
    sent.map((m) => m.type),
    ['history', 'history-end'],
  );
  ann.peerGone('cy');
  ann.receive('cy', { type: 'history-request', limit: 10, since: 0 });
  assert.equal(sent.length, 4);
});

test('history messages: valid ones parse; broken ones are refused with the field at fault', () => {
  const ok = (value: unknown) => parseChannelMessage(JSON.stringify(value));
  assert.ok(ok({ type: 'history-request', limit: 200, since: 0 }).ok);
  assert.ok(ok({ type: 'history', id: 'x', from: 'abc', name: 'Ann', text: 'hi', at: 1 }).ok);
  assert.ok(ok({ type: 'history-end' }).ok);
  const field = (value: unknown) => {
    const parsed = ok(value);
    return parsed.ok ? null : parsed.error.field;
  };
  assert.equal(field({ type: 'history-request', limit: 501, since: 0 }), 'limit');
  assert.equal(field({ type: 'history-request', limit: 1.5, since: 0 }), 'limit');
  assert.equal(field({ type: 'history', id: 'x', from: '../x', name: 'Ann', text: 'hi', at: 1 }), 'from');
  assert.equal(field({ type: 'history', id: 'x', from: 'abc', name: 'A\u0000', text: 'hi', at: 1 }), 'name');
  assert.equal(field({ type: 'history', id: 'x', from: 'abc', name: 'Ann', text: '', at: 1 }), 'text');
  assert.equal(field({ type: 'history', id: 'x', from: 'abc', name: 'Ann', text: 'x'.repeat(4001), at: 1 }), 'text');
});

test('what was kept after a peer joined went to it live: it is not passed on to it again', async () => {
  const { histories, shown } = room({ ann: {}, cy: {} });
  histories['ann']!.record(line('ann', 1));
  histories['ann']!.peerJoined('cy');
  // Said while Cy's channel was still opening: it reaches Cy live (queued), not as history.
  histories['ann']!.record(line('ann', 2));
  histories['cy']!.ask('ann');
  await settle();
  assert.deepEqual(
    shown['cy']!.map(({ line }) => line.id),
    ['ann-1'],
  );
});
