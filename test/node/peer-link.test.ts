/**
 * PeerLink's channel handling on its own, with a stand-in RTCPeerConnection and data
 * channel: what a newer peer may send, and what proves a message arrived.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerLink, type PeerLinkHooks } from '../../client/peer-link.js';
import type { ChatMessage, ProtocolError } from '../../protocol/index.js';

/** Just enough of RTCDataChannel: an open channel whose sends are written down. */
class FakeChannel extends EventTarget {
  readonly label = 'chat';
  readyState: RTCDataChannelState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readonly sent: string[] = [];
  send(data: string): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 'closed';
  }
  receive(data: string): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data }));
  }
}

/** Just enough of RTCPeerConnection for a link that receives its channel. */
class FakePeerConnection extends EventTarget {
  signalingState = 'stable';
  iceConnectionState = 'new';
  connectionState = 'new';
  close(): void {
    this.signalingState = 'closed';
  }
  giveChannel(channel: FakeChannel): void {
    this.dispatchEvent(Object.assign(new Event('datachannel'), { channel }));
  }
}

function link(peerVersion = 2) {
  const got: ChatMessage[] = [];
  const bad: ProtocolError[] = [];
  const signals: unknown[] = [];
  const hooks: PeerLinkHooks = {
    signal: (message) => signals.push(message),
    note: () => {},
    channelOpen: () => {},
    channelClose: () => {},
    turnError: () => {},
    fileMessage: () => {},
    historyMessage: () => {},
    receipt: () => {},
    presence: () => {},
    typing: () => {},
    fileChannel: () => {},
    verifyMessage: () => {},
    identityMessage: () => {},
    channelMessage: (m) => got.push(m),
    badMessage: (e) => bad.push(e),
    stateChange: () => {},
    failed: () => {},
    pathChange: () => {},
  };
  const peer = new PeerLink(
    {
      remoteId: 'remote',
      name: 'Remote',
      selfId: 'self',
      role: 'answerer',
      epoch: 'e1',
      peerVersion,
      PeerConnection: FakePeerConnection as unknown as new () => RTCPeerConnection,
      configuration: {},
      confirmAfterMs: 0,
    },
    hooks,
  );
  const pc = peer.pc as unknown as FakePeerConnection;
  const channel = new FakeChannel();
  pc.giveChannel(channel);
  return { peer, pc, channel, got, bad, signals };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const chat = (id: string): string => JSON.stringify({ type: 'chat', id, text: id, at: 1, name: 'Remote' });

test('message types from a newer peer are ignored, not reported as errors; broken ones still are', async () => {
  const { channel, got, bad } = link();
  await tick();
  channel.receive(JSON.stringify({ type: 'typing', on: true }));
  channel.receive(chat('m1'));
  channel.receive('{not json');
  assert.deepEqual(
    got.map((m) => m.id),
    ['m1'],
  );
  assert.deepEqual(
    bad.map((e) => e.code),
    ['bad-json'],
  );
});

test('a ping is answered with a pong', async () => {
  const { channel } = link();
  await tick();
  channel.receive(JSON.stringify({ type: 'ping', n: 7 }));
  assert.deepEqual(channel.sent.slice(-1), ['{"type":"pong","n":7}']);
});

test('frames stay unconfirmed until a pong for a later ping; what is unconfirmed is handed over', async () => {
  const { peer, channel } = link();
  await tick();
  // The receiving side of the channel says `ready` first and may send at once.
  assert.equal(JSON.parse(channel.sent[0]!).type, 'ready');
  assert.equal(peer.sendChat(chat('a')), 'sent');
  const pings = () => channel.sent.map((f) => JSON.parse(f) as { type: string; n?: number }).filter((f) => f.type === 'ping');
  assert.equal(pings().length, 0, 'the check waits a moment');
  await tick();
  assert.equal(pings().length, 1, 'one ping in flight, after "a"');
  assert.equal(peer.sendChat(chat('b')), 'sent');
  await tick();
  assert.equal(pings().length, 1, 'still one in flight');
  assert.equal(peer.unconfirmedChat, 2);
  channel.receive(JSON.stringify({ type: 'pong', n: pings()[0]!.n }));
  // The ping went out after "a" only: "b" waits for the next one.
  assert.equal(peer.unconfirmedChat, 1);
  await tick();
  assert.equal(pings().length, 2, 'a new ping for what is left');
  peer.sendChat(chat('c'));
  assert.deepEqual(
    peer.takeUndelivered().map((f) => JSON.parse(f).id),
    ['b', 'c'],
  );
  assert.equal(peer.unconfirmedChat, 0);
});

test('a version-1 peer gets no pings (it would not understand them)', async () => {
  const { peer, channel } = link(1);
  await tick();
  peer.sendChat(chat('a'));
  assert.deepEqual(
    channel.sent.map((f) => JSON.parse(f).type),
    ['ready', 'chat'],
  );
  assert.equal(await peer.probe(50), false);
});

test('the end of gathering is signalled once, though Firefox says it twice (an empty candidate, then null); a restart gathers and ends again', async () => {
  const { pc, signals } = link();
  const gathered = (candidate: string | null) =>
    pc.dispatchEvent(
      Object.assign(new Event('icecandidate'), { candidate: candidate === null ? null : { toJSON: () => ({ candidate, sdpMid: '0', sdpMLineIndex: 0 }) } }),
    );
  const host = 'candidate:1 1 udp 2122260223 198.18.0.1 50000 typ host';
  const gathering = () => {
    Object.assign(pc, { iceGatheringState: 'gathering' });
    pc.dispatchEvent(new Event('icegatheringstatechange'));
  };
  gathering();
  for (const candidate of [host, '', null]) gathered(candidate);
  // A restart that gathers again, then one that finds nothing (its end is said all the same).
  gathering();
  for (const candidate of [host.replace('50000', '50001'), '', null]) gathered(candidate);
  gathering();
  for (const candidate of ['', null]) gathered(candidate);
  await tick();
  const sent = (signals as { type: string; candidate: { candidate: string } | null }[])
    .filter((m) => m.type === 'candidate')
    .map((m) => m.candidate?.candidate ?? 'end');
  assert.deepEqual(sent, [host, 'end', host.replace('50000', '50001'), 'end', 'end']);
});
