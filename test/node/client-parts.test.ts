/**
 * The parts of the client core, each alone: the signaling connection (with a stand-in
 * socket), the peer directory and the relay transport.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingConnection, type SignalingConnectionHooks, type SignalingSocket } from '../../client/signaling-connection.js';
import { PeerDirectory } from '../../client/peer-directory.js';
import { RelayTransport } from '../../client/relay-transport.js';
import type { PeerLink } from '../../client/peer-link.js';
import { CLOSE_ORIGIN_REFUSED, PROTOCOL_VERSION, type ChatMessage, type ClientMessage, type ServerMessage } from '../../protocol/index.js';

/** A WebSocket stand-in the test opens, feeds and drops by hand. */
class FakeSocket implements SignalingSocket {
  static last: FakeSocket | null = null;
  readyState = 0;
  readonly sent: string[] = [];
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.drop();
  }
  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  #fire(type: string, data?: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
  open(): void {
    this.readyState = 1;
    this.#fire('open');
  }
  receive(message: ServerMessage): void {
    this.#fire('message', JSON.stringify(message));
  }
  drop(): void {
    this.readyState = 3;
    this.#fire('close');
  }
  /** The server closes it with `code`: the close event carries the code, as a browser's does. */
  closedBy(code: number): void {
    this.readyState = 3;
    const event = { data: undefined, code };
    for (const listener of this.#listeners.get('close') ?? []) listener(event);
  }
}

const welcome = (id = 'me', resume = 'resume-token-0123456789'): ServerMessage => ({
  type: 'welcome',
  id,
  room: 'r',
  peers: [],
  iceServers: [],
  limits: { maxRoomSize: 10, maxFrameBytes: 65536, maxChatTextLength: 4000, maxNameLength: 40, relay: true },
  resume,
});

function connection(url = 'ws://x') {
  const got: ServerMessage[] = [];
  const sentLog: ClientMessage[] = [];
  const drops: boolean[] = [];
  const hooks: SignalingConnectionHooks = {
    message: (m) => got.push(m),
    badMessage: () => {},
    unknownMessage: () => {},
    sent: (m) => sentLog.push(m),
    dropped: (wasJoined) => drops.push(wasJoined),
    unusable: () => {},
  };
  const c = new SignalingConnection({ url, room: 'r', name: 'Ann', webrtc: true, Socket: FakeSocket, reconnect: { initialDelayMs: 1, maxDelayMs: 2 } }, hooks);
  return { c, got, sentLog, drops };
}

const offer = (n: number): ClientMessage => ({ type: 'offer', to: 'peer', sdp: `v=0 ${n}` });

test('SignalingConnection: joins on open, speaks its version, and keeps signals while not joined until flushQueued', async () => {
  const { c, sentLog } = connection();
  c.open();
  const first = FakeSocket.last!;
  assert.equal(c.send(offer(0)), 'queued', 'not joined yet');
  first.open();
  assert.deepEqual(JSON.parse(first.sent[0]!), { type: 'new-peer', room: 'r', name: 'Ann', version: PROTOCOL_VERSION });
  first.receive(welcome());
  assert.equal(c.joined, true);
  assert.equal(c.send(offer(1)), 'sent');
  c.flushQueued();
  assert.deepEqual(
    first.sent.slice(1).map((f) => JSON.parse(f).sdp),
    ['v=0 1', 'v=0 0'],
  );
  // The socket drops: signals wait again, and the rejoin carries the resume token.
  first.drop();
  assert.equal(c.send(offer(2)), 'queued');
  assert.equal(c.queued, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = FakeSocket.last!;
  assert.notEqual(second, first, 'reconnected');
  second.open();
  assert.equal(JSON.parse(second.sent[0]!).resume, 'resume-token-0123456789');
  second.receive(welcome());
  c.flushQueued();
  assert.equal(JSON.parse(second.sent[1]!).sdp, 'v=0 2');
  assert.equal(c.queued, 0);
  // Every frame written, and only those, reached the learning log's hook, in order.
  assert.deepEqual(
    sentLog.map((m) => m.type),
    ['new-peer', 'offer', 'offer', 'new-peer', 'offer'],
  );
  c.close();
});

test('SignalingConnection: a new identity drops what was queued under the old one; close sends nothing more', () => {
  const { c } = connection();
  c.open();
  c.send(offer(1));
  c.dropQueued();
  FakeSocket.last!.open();
  FakeSocket.last!.receive(welcome());
  c.flushQueued();
  assert.equal(FakeSocket.last!.sent.length, 1, 'only the join');
  c.close();
  assert.equal(c.send(offer(2)), 'dropped');
});

test('SignalingConnection: several server URLs: one at random, the next after each drop, resuming the same id', async () => {
  const urls = ['ws://a:1', 'ws://b:2', 'ws://c:3'];
  const firstPicks = new Set<string>();
  for (let k = 0; k < 60; k++) {
    const { c } = connection(` ${urls.join('  ')} `);
    c.open();
    firstPicks.add(FakeSocket.last!.url);
    c.close();
  }
  assert.deepEqual([...firstPicks].sort(), urls, 'each of them is picked first by some clients');

  const { c, drops } = connection(urls.join(' '));
  c.open();
  const tried = [FakeSocket.last!.url];
  FakeSocket.last!.open();
  FakeSocket.last!.receive(welcome());
  for (let k = 0; k < 3; k++) {
    const before = FakeSocket.last!;
    before.drop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.notEqual(FakeSocket.last, before, 'reconnected');
    tried.push(FakeSocket.last!.url);
    assert.equal(c.url, FakeSocket.last!.url);
    FakeSocket.last!.open();
    assert.equal(JSON.parse(FakeSocket.last!.sent[0]!).resume, 'resume-token-0123456789');
  }
  // In turn: a, b, c, a (from wherever it started).
  const start = urls.indexOf(tried[0]!);
  assert.deepEqual(
    tried,
    [0, 1, 2, 3].map((k) => urls[(start + k) % 3]),
  );
  assert.deepEqual(drops, [true, false, false]);
  c.close();
});

test('SignalingConnection: a server URL the WebSocket refuses is skipped; unusable only when all are', () => {
  class PickySocket extends FakeSocket {
    constructor(url: string) {
      if (!url.startsWith('ws')) throw new SyntaxError('not a WebSocket URL');
      super(url);
    }
  }
  const reasons: string[] = [];
  const hooks = { message() {}, badMessage() {}, unknownMessage() {}, sent() {}, dropped() {}, unusable: (r: string) => reasons.push(r) };
  const some = new SignalingConnection({ url: 'http://bad ws://good', room: 'r', name: undefined, webrtc: true, Socket: PickySocket, reconnect: false }, hooks);
  some.open();
  assert.equal(FakeSocket.last!.url, 'ws://good');
  assert.deepEqual(reasons, []);
  const none = new SignalingConnection({ url: 'http://a ftp://b', room: 'r', name: undefined, webrtc: true, Socket: PickySocket, reconnect: false }, hooks);
  none.open();
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /"http:\/\/a": not a WebSocket URL/);
  assert.match(reasons[0]!, /"ftp:\/\/b": not a WebSocket URL/);
});

test('SignalingConnection: a refused origin (close 4403) ends it with a message that says so, and nothing retries', async () => {
  const reasons: string[] = [];
  const drops: boolean[] = [];
  const hooks = {
    message() {},
    badMessage() {},
    unknownMessage() {},
    sent() {},
    dropped: (j: boolean) => drops.push(j),
    unusable: (r: string) => reasons.push(r),
  };
  const settings = { room: 'r', name: undefined, webrtc: true, Socket: FakeSocket, reconnect: { initialDelayMs: 1, maxDelayMs: 2 } };
  // A page (it has an origin).
  Object.defineProperty(globalThis, 'location', { value: { origin: 'https://chat.example' }, configurable: true });
  try {
    const c = new SignalingConnection({ ...settings, url: 'wss://signal.example' }, hooks);
    c.open();
    const socket = FakeSocket.last!;
    socket.open();
    c.send(offer(1));
    socket.closedBy(CLOSE_ORIGIN_REFUSED);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(FakeSocket.last, socket, 'no reconnect');
    assert.deepEqual(drops, [], 'not a drop to retry');
    assert.deepEqual(reasons, [
      "This page's origin (https://chat.example) is not allowed by the signaling server at wss://signal.example: ask its operator to add it to --allowed-origins.",
    ]);
    assert.equal(c.queued, 0);
    assert.equal(c.send(offer(2)), 'dropped');
  } finally {
    Reflect.deleteProperty(globalThis, 'location');
  }
  // Outside a browser (the terminal client sends no origin).
  const cli = new SignalingConnection({ ...settings, url: 'ws://x' }, hooks);
  cli.open();
  FakeSocket.last!.closedBy(4403);
  assert.match(reasons[1]!, /^The signaling server at ws:\/\/x accepts only the page origins in its --allowed-origins, and this client sends none\.$/);
  // Any other close code is a drop like before: retried.
  const other = new SignalingConnection({ ...settings, url: 'ws://y' }, hooks);
  other.open();
  const first = FakeSocket.last!;
  first.open();
  first.closedBy(1013);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.notEqual(FakeSocket.last, first, 'reconnected');
  assert.deepEqual(drops, [false]);
  assert.equal(reasons.length, 2);
  other.close();
});

test("SignalingConnection: an error's retryAfterMs reaches the mesh; fields it does not know are ignored", () => {
  const { c, got } = connection();
  c.open();
  const socket = FakeSocket.last!;
  socket.open();
  const refusal = { type: 'error', code: 'rate-limited', message: 'Too many joins.', field: 'room', retryAfterMs: 1200, hint: { from: 'a newer server' } };
  socket.receive(refusal as ServerMessage);
  socket.receive({ type: 'error', code: 'rate-limited', message: 'An older server.' });
  assert.deepEqual(got, [
    { type: 'error', code: 'rate-limited', message: 'Too many joins.', field: 'room', retryAfterMs: 1200 },
    { type: 'error', code: 'rate-limited', message: 'An older server.' },
  ]);
  c.close();
});

test('PeerDirectory: one entry per peer, one transport each; relayed stays relayed', () => {
  const directory = new PeerDirectory();
  const link = { remoteId: 'b', peerState: 'connected', isOpen: true } as unknown as PeerLink;
  assert.equal(directory.introduce('b', 'Bo', 2, true).added, true);
  assert.equal(directory.introduce('b', 'Bo again', 2, true).added, false);
  directory.setDirect('b', link);
  assert.deepEqual(directory.list(true), [{ id: 'b', name: 'Bo again', state: 'connected', transport: 'direct' }]);
  assert.equal(directory.setRelayed('b', true), link, 'the link it leaves is handed back');
  assert.deepEqual(directory.list(true), [{ id: 'b', name: 'Bo again', state: 'connected', transport: 'relayed' }]);
  assert.equal(directory.link('b'), undefined);
  assert.deepEqual([...directory.links()], []);
  directory.introduce('c', 'Cy', 1, false);
  directory.setRelayed('c', false);
  assert.deepEqual(
    directory.list(false).map((p) => [p.id, p.transport, p.state]),
    [
      ['b', 'none', 'failed'],
      ['c', 'none', 'failed'],
    ],
  );
  assert.equal(directory.remove('b')?.id, 'b');
  assert.equal(directory.size, 1);
});

test('RelayTransport: sends through the connection; held chat is released or dropped, and expires', () => {
  const sent: ClientMessage[] = [];
  const fake = { send: (m: ClientMessage) => (sent.push(m), 'sent' as const) } as unknown as ConstructorParameters<typeof RelayTransport>[0];
  const relay = new RelayTransport(fake);
  const chat = (id: string): ChatMessage => ({ type: 'chat', id, text: id, at: 1, name: 'A' });
  assert.equal(relay.post('b', chat('m1')), 'sent');
  assert.deepEqual(sent, [{ type: 'relay', to: 'b', message: chat('m1') }]);
  relay.hold('a', chat('old'), 0);
  relay.hold('a', chat('new'), 40_000);
  assert.deepEqual(
    relay.release('a', 40_001).map((m) => m.id),
    ['new'],
    'only what is recent',
  );
  relay.hold('a', chat('x'), 0);
  assert.equal(relay.discard('a'), 1);
  assert.deepEqual(relay.release('a', 1), []);
});
