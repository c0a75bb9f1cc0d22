import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomRegistry } from './room-registry.js';

test('room registry: join lists the others (with webrtc:false), capacity, forEachOther and others agree, leave forgets empty rooms', () => {
  const rooms = new RoomRegistry<{ name: string; webrtc?: boolean }>(3);
  assert.deepEqual(rooms.join('r', 'a', { name: 'Ann' }), { ok: true, others: [] });
  assert.deepEqual(rooms.join('r', 'b', { name: 'Bo', webrtc: false }), { ok: true, others: [{ id: 'a', name: 'Ann' }] });
  assert.deepEqual(rooms.join('r', 'c', { name: 'Cy' }), {
    ok: true,
    others: [
      { id: 'a', name: 'Ann' },
      { id: 'b', name: 'Bo', webrtc: false },
    ],
  });
  assert.deepEqual(rooms.join('r', 'd', { name: 'Di' }), { ok: false, reason: 'room-full' });
  rooms.join('other', 'e', { name: 'Ed' });

  const visited: string[] = [];
  rooms.forEachOther('r', 'b', (member) => visited.push(member.name));
  assert.deepEqual(visited, ['Ann', 'Cy']);
  assert.deepEqual(
    [...rooms.others('r', 'b')].map((m) => m.name),
    visited,
  );
  rooms.forEachOther('nowhere', 'b', () => assert.fail('no room, no visit'));

  assert.equal(rooms.find('r', 'e'), undefined, 'lookups never cross rooms');
  assert.equal(rooms.memberCount, 4);
  for (const id of ['a', 'b', 'c']) assert.equal(rooms.leave('r', id), true);
  assert.equal(rooms.leave('r', 'a'), false);
  assert.equal(rooms.roomCount, 1);
});
