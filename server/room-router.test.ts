import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type ServerMessage } from '../protocol/index.js';
import { RoomRouter, type JoinGate, type RouterMember } from './room-router.js';

/** A member with no socket: what the router sends it is written down. */
class FakeMember implements RouterMember {
  id: string | null = null;
  name = '';
  room: string | null = null;
  webrtc = true;
  version = 1;
  readonly got: ServerMessage[] = [];
  replaced = false;
  constructor(readonly label: string) {}
  last<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }> {
    const found = this.got.filter((m) => m.type === type).at(-1);
    assert.ok(found, `${this.label} got no ${type}`);
    return found as Extract<ServerMessage, { type: T }>;
  }
}

function router(maxRoomSize = 10, gate: JoinGate<FakeMember> = () => null) {
  const forwarded: { from: string; to: string; message: ServerMessage }[] = [];
  const r = new RoomRouter<FakeMember>(
    {
      maxRoomSize,
      maxRoomLength: 64,
      maxNameLength: 40,
      iceServers: [],
      limits: { maxRoomSize, maxFrameBytes: 65536, maxChatTextLength: 4000, maxNameLength: 40, relay: true },
    },
    {
      send: (m, message) => m.got.push(message),
      sendEncoded: (m, encoded) => m.got.push(JSON.parse(encoded().toString()) as ServerMessage),
      forward: (from, to, message) => {
        forwarded.push({ from: from.label, to: to.label, message });
        to.got.push(message);
      },
      replaced: (m) => (m.replaced = true),
    },
    gate,
  );
  return { r, forwarded };
}

test('join: welcome with the others (and their versions), new-peer to the room', () => {
  const { r } = router();
  const a = new FakeMember('a');
  const b = new FakeMember('b');
  r.join(a, { type: 'new-peer', room: 'x', name: 'Ann', version: 2 });
  r.join(b, { type: 'new-peer', room: 'x' });
  const welcome = b.last('welcome');
  assert.deepEqual(welcome.peers, [{ id: a.id, name: 'Ann', version: 2 }]);
  assert.equal(welcome.version, PROTOCOL_VERSION);
  assert.deepEqual(a.last('new-peer'), { type: 'new-peer', id: b.id, name: b.name });
});

test('relay: stamped with the sender, only within its room, never to itself', () => {
  const { r, forwarded } = router();
  const [a, b, c] = ['a', 'b', 'c'].map((l) => new FakeMember(l)) as [FakeMember, FakeMember, FakeMember];
  r.join(a, { type: 'new-peer', room: 'x' });
  r.join(b, { type: 'new-peer', room: 'x' });
  r.join(c, { type: 'new-peer', room: 'y' });
  r.relay(a, { type: 'offer', to: b.id!, sdp: 'v=0', epoch: 'e1' });
  assert.deepEqual(forwarded.at(-1), { from: 'a', to: 'b', message: { type: 'offer', from: a.id, sdp: 'v=0', epoch: 'e1' } });
  r.relay(a, { type: 'bye', to: b.id! });
  assert.equal(b.last('bye').from, a.id);
  r.relay(a, { type: 'offer', to: c.id!, sdp: 'v=0' });
  assert.equal(a.last('error').code, 'unknown-peer');
  r.relay(a, { type: 'offer', to: a.id!, sdp: 'v=0' });
  assert.equal(forwarded.length, 2);
});

test('resume: the newer connection wins in the same room without a leave notice; a full room refuses without evicting anyone', () => {
  const { r } = router(2);
  const old = new FakeMember('old');
  const mate = new FakeMember('mate');
  r.join(old, { type: 'new-peer', room: 'x' });
  r.join(mate, { type: 'new-peer', room: 'x' });
  const token = old.last('welcome').resume;
  // Same room, room full: the returning peer takes its own place.
  const back = new FakeMember('back');
  r.join(back, { type: 'new-peer', room: 'x', resume: token });
  assert.equal(back.last('welcome').id, old.id);
  assert.equal(old.replaced, true);
  assert.deepEqual(
    mate.got.filter((m) => m.type === 'peer-disconnected'),
    [],
  );
  // Another, full room: refused, and the live session stays.
  const f1 = new FakeMember('f1');
  const f2 = new FakeMember('f2');
  r.join(f1, { type: 'new-peer', room: 'full' });
  r.join(f2, { type: 'new-peer', room: 'full' });
  const thief = new FakeMember('thief');
  r.join(thief, { type: 'new-peer', room: 'full', resume: token });
  assert.equal(thief.last('error').code, 'room-full');
  assert.equal(back.replaced, false);
  assert.equal(r.byId(back.id!), back);
});

test('the join gate is asked only for joins that would happen', () => {
  const asked: string[] = [];
  const { r } = router(1, (m, room) => {
    asked.push(`${m.label}:${room}`);
    return m.label === 'slow' ? { message: 'slow down', retryAfterMs: 250 } : null;
  });
  const a = new FakeMember('a');
  r.join(a, { type: 'new-peer', room: 'x' });
  r.join(new FakeMember('b'), { type: 'new-peer', room: 'x' }); // full: not asked
  r.join(a, { type: 'new-peer', room: 'y' }); // already joined: not asked
  const slow = new FakeMember('slow');
  r.join(slow, { type: 'new-peer', room: 'z' });
  assert.deepEqual(asked, ['a:x', 'slow:z']);
  assert.deepEqual([slow.last('error').code, slow.last('error').retryAfterMs, slow.room], ['rate-limited', 250, null]);
});
