/**
 * A join the server refuses ends in a state a person understands, and recovers where it
 * can (issue 32, finding 1): real Meshes, a real server. A full room: `refused`, then
 * joined by itself once a place frees up; too many joins: joined again once the server
 * allows; a room name the server refuses: `refused` for good, in words that say what to
 * change. Before, each stayed `connecting` for ever.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSignalingServer } from '../../server/index.js';
import { nodeMesh, record, waitFor } from './harness.js';
import type { Mesh } from '../../client/mesh.js';

const meshes: Mesh[] = [];
const servers: { close(): Promise<void> }[] = [];
after(async () => {
  for (const mesh of meshes) mesh.close();
  for (const server of servers) await server.close();
});
function join(url: string, room: string, name: string): Mesh {
  const mesh = nodeMesh(null, { server: url, room, name });
  meshes.push(mesh);
  mesh.connect();
  return mesh;
}

test('a full room: refused with words, and joined by itself when a place frees up', async () => {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', maxRoomSize: 2 });
  servers.push(server);
  const a = join(server.url, 'small', 'A');
  const b = join(server.url, 'small', 'B');
  await waitFor(() => a.status === 'joined' && b.status === 'joined', 'two in');
  const c = join(server.url, 'small', 'C');
  const errors = record(c, 'error');
  const statuses = record(c, 'status');
  await waitFor(() => c.status === 'refused', 'C refused');
  assert.match(c.refusal ?? '', /full.*joins by itself/);
  assert.equal(errors[0]?.code, 'room-full');
  assert.ok(statuses.some((s) => s.status === 'refused' && s.nextAttemptAt !== undefined && s.reason !== undefined));
  b.close();
  await waitFor(() => c.status === 'joined', 'C joins once B left', 15_000);
  assert.equal(c.refusal, null);
  assert.deepEqual(
    c.peers.map((p) => p.name),
    ['A'],
  );
});

test('too many joins: the join waits for the time the server says, then goes through', async () => {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', joinsPerIp: { perSecond: 1, burst: 1 } });
  servers.push(server);
  const a = join(server.url, 'busy', 'A');
  await waitFor(() => a.status === 'joined', 'A in');
  const b = join(server.url, 'busy', 'B');
  const errors = record(b, 'error');
  await waitFor(() => errors.some((e) => e.code === 'rate-limited'), 'B told to wait');
  assert.equal(b.status, 'connecting');
  assert.ok(b.nextAttemptAt !== null && b.nextAttemptAt > Date.now() - 100, 'when it tries again');
  await waitFor(() => b.status === 'joined', 'B joins after the wait', 5000);
});

test('a room name the server refuses: refused for good, in words that say what to change; the socket is closed', async () => {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  servers.push(server);
  const a = join(server.url, 'a room with spaces', 'A');
  await waitFor(() => a.status === 'refused', 'refused');
  assert.match(a.refusal ?? '', /room name “a room with spaces” cannot be used .*letters, digits/);
  assert.equal(a.nextAttemptAt, null);
  const long = join(server.url, 'ok', 'N'.repeat(41));
  await waitFor(() => long.status === 'refused' || long.status === 'joined', 'an answer');
  assert.equal(long.status, 'refused');
  assert.match(long.refusal ?? '', /name .* cannot be used .*at most 40 characters/);
});

test('a rename the server refuses (a stricter limit than the client knows) leaves the old name in place, for rejoins too', async () => {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', maxNameLength: 10 });
  servers.push(server);
  const a = join(server.url, 'names', 'Ann');
  await waitFor(() => a.status === 'joined', 'joined');
  const errors = record(a, 'error');
  assert.equal(a.rename('Annabelle Lee'), true, 'sent: the client allows 40 characters');
  await waitFor(() => errors.length > 0, 'the server answers');
  assert.equal(a.name, 'Ann');
  assert.equal(a.displayName, 'Ann');
  assert.match(errors[0]!.message, /refused the name “Annabelle Lee”.*still Ann/);
});
