import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialNegotiationState,
  isPolite,
  epochVerdict,
  negotiate,
  negotiateAll,
  type Effect,
  type NegotiationEvent,
  type NegotiationState,
} from './negotiation.js';
import type { IceCandidate } from './signaling.js';

const OFFER_WITH_CHANNEL = 'v=0\r\na=ice-ufrag:aaaa\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
const OFFER_RESTART = 'v=0\r\na=ice-ufrag:bbbb\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
const ANSWER = 'v=0\r\na=ice-ufrag:cccc\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
const cand = (n: number): IceCandidate => ({ candidate: `candidate:${n} 1 udp 1 198.18.0.1 ${5000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 });

const types = (effects: readonly Effect[]) => effects.map((e) => (e.type === 'note' ? `note:${e.code}` : e.type));

/** Runs events and returns the final state and every effect issued. */
function run(state: NegotiationState, ...events: NegotiationEvent[]) {
  return negotiateAll(state, events);
}

test('polite is the smaller id, and exactly one side of a pair is polite', () => {
  assert.equal(isPolite('a', 'b'), true);
  assert.equal(isPolite('b', 'a'), false);
  assert.equal(initialNegotiationState('x1', 'x2', 'offerer').polite, true);
});

test('the existing peer (offerer) creates the `chat` channel and the offer; the newcomer waits', () => {
  const offerer = run(initialNegotiationState('old', 'new', 'offerer'), { type: 'start' });
  // ICE must connect within connectTimeoutMs (15 s) or be restarted.
  assert.deepEqual(offerer.effects, [
    { type: 'create-channel', label: 'chat' },
    { type: 'schedule', timer: 'ice-watchdog', ms: 15_000 },
    { type: 'create-offer', iceRestart: false },
  ]);
  assert.equal(offerer.state.makingOffer, true);

  const answerer = run(initialNegotiationState('new', 'old', 'answerer'), { type: 'start' });
  // It waits for the offer, but not for ever (the next test).
  assert.deepEqual(answerer.effects, [{ type: 'schedule', timer: 'ice-watchdog', ms: 15_000 + 4000 + 10_000 }]);
  // Starting twice does nothing more.
  assert.deepEqual(negotiate(offerer.state, { type: 'start' }).effects, []);
});

test('an answerer whose offer never comes gives the direct connection up (bye), as one whose ICE failed: not `connecting` for ever', () => {
  const waiting = run(initialNegotiationState('new', 'old', 'answerer'), { type: 'start' });
  const fired = negotiate(waiting.state, { type: 'timer-fired', timer: 'ice-watchdog' });
  assert.equal(fired.state.closed, true);
  assert.equal(types(fired.effects)[0], 'note:offer-timeout');
  // The peer is told (bye), as when ICE gives up: the mesh moves the pair to the relay.
  assert.deepEqual(types(fired.effects).slice(-2), ['send-signal', 'close']);
  assert.ok(fired.effects.some((e) => e.type === 'send-signal' && e.message.type === 'bye'));
  // An offer that did come keeps the answerer waiting on ICE: the watchdog restarts it as before.
  const offered = run(initialNegotiationState('new', 'old', 'answerer'), { type: 'start' }, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL });
  const later = negotiate(offered.state, { type: 'timer-fired', timer: 'ice-watchdog' });
  assert.equal(later.state.closed, false);
});

test('offer -> answer: the full happy path on both sides, with the right signals', () => {
  let a = run(initialNegotiationState('old', 'new', 'offerer'), { type: 'start' }).state;
  const sent = negotiate(a, { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } });
  // The offer goes out and its answer is awaited for a while (an offer lost on the way is made again).
  assert.deepEqual(sent.effects, [
    { type: 'send-signal', message: { type: 'offer', to: 'new', sdp: OFFER_WITH_CHANNEL } },
    { type: 'schedule', timer: 'offer-timeout', ms: 10_000 },
  ]);
  a = sent.state;
  assert.equal(a.signalingState, 'have-local-offer');

  let b = initialNegotiationState('new', 'old', 'answerer');
  const got = negotiate(b, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL });
  // The first offer starts the answerer's own watch, a grace (4 s) behind the offerer's.
  assert.deepEqual(got.effects, [
    { type: 'schedule', timer: 'ice-watchdog', ms: 19_000 },
    { type: 'apply-remote-description', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
  ]);
  b = got.state;
  const applied = negotiate(b, { type: 'remote-description-applied', sdpType: 'offer' });
  assert.deepEqual(applied.effects, [{ type: 'create-answer' }]);
  const answered = negotiate(applied.state, { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } });
  assert.deepEqual(answered.effects, [{ type: 'send-signal', message: { type: 'answer', to: 'old', sdp: ANSWER } }]);
  assert.equal(answered.state.signalingState, 'stable');

  const done = run(a, { type: 'remote-answer', sdp: ANSWER }, { type: 'remote-description-applied', sdpType: 'answer' });
  assert.deepEqual(types(done.effects), ['cancel', 'apply-remote-description']);
  assert.equal(done.state.signalingState, 'stable');
  assert.equal(done.state.remoteDescription, 'set');
});

test('local candidates are sent to the remote peer, end-of-candidates included', () => {
  const s = initialNegotiationState('a', 'b', 'answerer');
  assert.deepEqual(negotiate(s, { type: 'local-candidate', candidate: cand(1) }).effects, [
    { type: 'send-signal', message: { type: 'candidate', to: 'b', candidate: cand(1) } },
  ]);
  assert.deepEqual(negotiate(s, { type: 'local-candidate', candidate: null }).effects, [
    { type: 'send-signal', message: { type: 'candidate', to: 'b', candidate: null } },
  ]);
});

test('candidates that arrive before the offer are queued, then released in arrival order', () => {
  let s = initialNegotiationState('new', 'old', 'answerer');
  const early = run(s, { type: 'remote-candidate', candidate: cand(1) }, { type: 'remote-candidate', candidate: cand(2) });
  assert.deepEqual(types(early.effects), ['note:candidate-queued', 'note:candidate-queued']);
  s = early.state;
  // The offer arrives; its description is being applied: a third candidate must still wait.
  s = run(s, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL }, { type: 'remote-candidate', candidate: cand(3) }).state;
  assert.equal(s.queuedCandidates.length, 3);
  const released = negotiate(s, { type: 'remote-description-applied', sdpType: 'offer' });
  assert.deepEqual(types(released.effects), ['note:candidates-released', 'add-candidate', 'add-candidate', 'add-candidate', 'create-answer']);
  const added = released.effects.filter((e) => e.type === 'add-candidate').map((e) => (e.type === 'add-candidate' ? e.candidate : null));
  assert.deepEqual(added, [cand(1), cand(2), cand(3)]);
  assert.deepEqual(released.state.queuedCandidates, []);
  // Afterwards candidates go straight in.
  assert.deepEqual(negotiate(released.state, { type: 'remote-candidate', candidate: cand(4) }).effects, [{ type: 'add-candidate', candidate: cand(4) }]);
});

test('candidates that arrive before the answer is applied are queued on the offerer too', () => {
  let s = run(
    initialNegotiationState('old', 'new', 'offerer'),
    { type: 'start' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-candidate', candidate: cand(1) },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-candidate', candidate: null },
  ).state;
  assert.deepEqual(s.queuedCandidates, [cand(1), null]);
  const applied = negotiate(s, { type: 'remote-description-applied', sdpType: 'answer' });
  assert.deepEqual(applied.effects.slice(1), [
    { type: 'add-candidate', candidate: cand(1) },
    { type: 'add-candidate', candidate: null },
  ]);
  s = applied.state;
  assert.equal(s.remoteDescription, 'set');
});

function glareSetup(selfId: string, remoteId: string, offerReturned: boolean) {
  // Both sides think they should offer (e.g. both asked for an ICE restart at once).
  let s = run(initialNegotiationState(selfId, remoteId, 'offerer'), { type: 'start' }).state;
  if (offerReturned) s = negotiate(s, { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } }).state;
  return s;
}

test('glare, impolite side: ignores the colliding offer and drops its candidates', () => {
  const s = glareSetup('b', 'a', true); // b > a: impolite
  const r = run(s, { type: 'remote-offer', sdp: OFFER_RESTART }, { type: 'remote-candidate', candidate: cand(9) });
  assert.deepEqual(types(r.effects), ['note:offer-collision-ignored', 'note:candidate-dropped']);
  assert.equal(r.state.signalingState, 'have-local-offer');
  // Errors from the ignored offer's candidates are expected and stay quiet.
  assert.deepEqual(negotiate(r.state, { type: 'operation-failed', operation: 'add-candidate', message: 'x' }).effects, []);
  // The polite side answers our offer; we go on normally.
  const done = run(r.state, { type: 'remote-answer', sdp: ANSWER }, { type: 'remote-description-applied', sdpType: 'answer' });
  assert.equal(done.state.signalingState, 'stable');
  assert.equal(done.state.ignoringOffer, false);
});

test('glare, polite side with its offer already sent: rolls back and answers the remote offer', () => {
  const s = glareSetup('a', 'b', true); // a < b: polite
  const r = negotiate(s, { type: 'remote-offer', sdp: OFFER_RESTART });
  // Our offer gave way: its answer is no longer awaited.
  assert.deepEqual(types(r.effects), ['note:offer-collision-rollback', 'cancel', 'apply-remote-description']);
  assert.equal(r.state.signalingState, 'have-remote-offer');
  const answered = run(
    r.state,
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } },
  );
  assert.deepEqual(types(answered.effects), ['create-answer', 'send-signal']);
  assert.equal(answered.state.signalingState, 'stable');
  // The remote offer carried a data channel, so nothing more is owed.
  assert.equal(answered.state.pendingOffer, null);
});

test('glare, polite side while its createOffer is still running: takes the remote offer when it returns', () => {
  const s = glareSetup('a', 'b', false);
  const r = negotiate(s, { type: 'remote-offer', sdp: OFFER_RESTART });
  assert.deepEqual(types(r.effects), ['note:offer-collision-rollback']);
  const back = negotiate(r.state, { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } });
  // Our offer is never sent; the remote one is applied instead.
  assert.deepEqual(types(back.effects), ['apply-remote-description']);
  assert.equal(back.state.signalingState, 'have-remote-offer');
});

test('glare during ICE restarts: the polite side still owes a restart if the remote offer did not restart', () => {
  let s = run(
    initialNegotiationState('a', 'b', 'answerer'),
    { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL },
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } },
    { type: 'restart-ice' },
  ).state;
  assert.equal(s.makingOffer, true);
  s = negotiate(s, { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_RESTART } }).state;
  // The remote side re-sends an offer with the same ICE credentials (a renegotiation).
  const same = 'v=0\r\na=ice-ufrag:aaaa\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=x\r\n';
  const r = run(
    s,
    { type: 'remote-offer', sdp: same },
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } },
  );
  // After answering, the owed restart goes out.
  assert.deepEqual(r.effects.at(-1), { type: 'create-offer', iceRestart: true });
});

test('duplicate offer and duplicate or unexpected answers are harmless', () => {
  const b = run(initialNegotiationState('new', 'old', 'answerer'), { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL }).state;
  assert.deepEqual(types(negotiate(b, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL }).effects), ['note:duplicate-offer-ignored']);
  // An answer to nobody's offer.
  assert.deepEqual(types(negotiate(b, { type: 'remote-answer', sdp: ANSWER }).effects), ['note:unexpected-answer-ignored']);

  const a = run(
    initialNegotiationState('old', 'new', 'offerer'),
    { type: 'start' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-description-applied', sdpType: 'answer' },
  ).state;
  const dup = negotiate(a, { type: 'remote-answer', sdp: ANSWER });
  assert.deepEqual(types(dup.effects), ['note:unexpected-answer-ignored']);
  assert.equal(dup.state, a);
  // A late local description (e.g. from an operation we gave up on) is ignored.
  assert.deepEqual(types(negotiate(a, { type: 'local-description-ready', description: { type: 'offer', sdp: 'x' } }).effects), [
    'note:stale-description-ignored',
  ]);
  // A duplicated "applied" event changes nothing.
  assert.deepEqual(negotiate(a, { type: 'remote-description-applied', sdpType: 'answer' }).effects, []);
});

test('a second offer before the first was answered is deferred and answered next, in order', () => {
  const r = run(
    initialNegotiationState('new', 'old', 'answerer'),
    { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL },
    { type: 'remote-offer', sdp: OFFER_RESTART },
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } },
  );
  assert.deepEqual(types(r.effects), [
    'schedule',
    'apply-remote-description',
    'note:offer-deferred',
    'create-answer',
    'send-signal',
    'apply-remote-description',
  ]);
  const last = r.effects.at(-1);
  assert.ok(last?.type === 'apply-remote-description' && last.description.sdp === OFFER_RESTART);
});

function connectedOfferer() {
  return run(
    initialNegotiationState('old', 'new', 'offerer', { maxIceRestarts: 2, disconnectedTimeoutMs: 1000 }),
    { type: 'start' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-description-applied', sdpType: 'answer' },
    { type: 'ice-connection-state', state: 'connected' },
    { type: 'channel-opened' },
  ).state;
}

test('ICE `failed` on the offerer leads to an ICE-restart offer, watched until ICE is back', () => {
  const r = negotiate(connectedOfferer(), { type: 'ice-connection-state', state: 'failed' });
  assert.deepEqual(r.effects, [
    { type: 'schedule', timer: 'ice-watchdog', ms: 10_000 },
    { type: 'create-offer', iceRestart: true },
  ]);
  const sent = negotiate(r.state, { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_RESTART } });
  assert.deepEqual(types(sent.effects), ['note:ice-restart', 'send-signal', 'schedule']);
});

test("ICE `failed` on the answerer: it waits for the offerer's restart, and restarts itself if none comes", () => {
  const failed = run(
    initialNegotiationState('new', 'old', 'answerer', { disconnectedTimeoutMs: 1000 }),
    { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL },
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } },
    { type: 'ice-connection-state', state: 'connected' },
    { type: 'ice-connection-state', state: 'failed' },
  );
  // Not at once: the offerer normally restarts first, and both offering at once is wasted.
  assert.ok(!types(failed.effects).includes('create-offer'));
  assert.deepEqual(failed.effects.at(-1), { type: 'schedule', timer: 'ice-watchdog', ms: 1000 });
  // The offerer's restart offer arrives in time: the answerer answers and owes nothing.
  const rescued = run(failed.state, { type: 'remote-offer', sdp: OFFER_RESTART }, { type: 'remote-description-applied', sdpType: 'offer' });
  assert.deepEqual(types(rescued.effects), ['schedule', 'apply-remote-description', 'create-answer']);
  // No restart from the offerer (it gave up, or its signals are lost): the answerer restarts.
  const alone = negotiate(failed.state, { type: 'timer-fired', timer: 'ice-watchdog' });
  assert.deepEqual(types(alone.effects), ['schedule', 'create-offer']);
  assert.equal(alone.state.iceRestarts, 1);
});

test('a `disconnected` that outlasts its timer restarts ICE; reconnecting cancels the timer', () => {
  const s = connectedOfferer();
  const d = negotiate(s, { type: 'ice-connection-state', state: 'disconnected' });
  assert.deepEqual(d.effects, [{ type: 'schedule', timer: 'ice-watchdog', ms: 1000 }]);
  assert.deepEqual(negotiate(d.state, { type: 'timer-fired', timer: 'ice-watchdog' }).effects, [
    { type: 'schedule', timer: 'ice-watchdog', ms: 10_000 },
    { type: 'create-offer', iceRestart: true },
  ]);
  const back = negotiate(d.state, { type: 'ice-connection-state', state: 'connected' });
  assert.deepEqual(back.effects, [{ type: 'cancel', timer: 'ice-watchdog' }]);
  // A timer that fires after recovery does nothing.
  assert.deepEqual(negotiate(back.state, { type: 'timer-fired', timer: 'ice-watchdog' }).effects, []);
});

test('a pair that never connects restarts ICE once, then gives up and says bye (symmetric NATs and no TURN: the relay, sooner)', () => {
  const offered = run(
    initialNegotiationState('old', 'new', 'offerer', { maxIceRestarts: 3 }),
    { type: 'start' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-description-applied', sdpType: 'answer' },
    { type: 'ice-connection-state', state: 'checking' },
  ).state;
  // No verdict from the browser (Chromium takes half a minute): the connect watch restarts ICE.
  const first = negotiate(offered, { type: 'timer-fired', timer: 'ice-watchdog' });
  assert.deepEqual(types(first.effects), ['schedule', 'create-offer']);
  const restarted = run(
    first.state,
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_RESTART } },
    { type: 'remote-answer', sdp: ANSWER + 'x' },
    { type: 'remote-description-applied', sdpType: 'answer' },
  ).state;
  // The restart does not connect either: one is enough before the first connection.
  const gaveUp = negotiate(restarted, { type: 'timer-fired', timer: 'ice-watchdog' });
  assert.ok(gaveUp.state.closed);
  assert.deepEqual(
    gaveUp.effects.filter((e) => e.type === 'send-signal').map((e) => e.type === 'send-signal' && e.message.type),
    ['bye'],
  );
  assert.ok(types(gaveUp.effects).includes('note:ice-restart-limit'));
  // The same watch after ICE connected does nothing.
  const connected = negotiate(offered, { type: 'ice-connection-state', state: 'connected' });
  assert.deepEqual(negotiate(connected.state, { type: 'timer-fired', timer: 'ice-watchdog' }).effects, []);
});

test('ICE restarts are limited; past the limit the connection closes', () => {
  let s = connectedOfferer();
  const all: Effect[] = [];
  for (let i = 0; i < 3; i++) {
    const r = run(
      s,
      { type: 'ice-connection-state', state: 'failed' },
      { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_RESTART + i } },
      { type: 'remote-answer', sdp: ANSWER + i },
      { type: 'remote-description-applied', sdpType: 'answer' },
    );
    all.push(...r.effects);
    s = r.state;
  }
  assert.equal(all.filter((e) => e.type === 'create-offer').length, 2);
  assert.ok(types(all).includes('note:ice-restart-limit'));
  // The other side is told (its channel may still read open over the dead path), then closed.
  assert.deepEqual(all.slice(-2), [
    { type: 'send-signal', message: { type: 'bye', to: 'new' } },
    { type: 'close', reason: 'ice-failed' },
  ]);
  assert.equal(s.closed, true);
});

test('a restart asked for mid-negotiation is owed and sent once the answer is in', () => {
  const r = run(
    initialNegotiationState('old', 'new', 'offerer'),
    { type: 'start' },
    { type: 'restart-ice' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-description-applied', sdpType: 'answer' },
  );
  assert.deepEqual(r.effects.at(-1), { type: 'create-offer', iceRestart: true });
});

test('peer-left and close end the machine; later events are ignored', () => {
  const left = negotiate(connectedOfferer(), { type: 'peer-left' });
  assert.deepEqual(left.effects, [
    { type: 'cancel', timer: 'ice-watchdog' },
    { type: 'cancel', timer: 'offer-timeout' },
    { type: 'close', reason: 'peer-left' },
  ]);
  assert.equal(left.state.closed, true);
  assert.deepEqual(negotiate(left.state, { type: 'remote-offer', sdp: OFFER_RESTART }).effects, []);
  assert.deepEqual(negotiate(left.state, { type: 'remote-candidate', candidate: cand(1) }).effects, []);
  const closed = negotiate(connectedOfferer(), { type: 'close' });
  assert.deepEqual(closed.effects.at(-1), { type: 'close', reason: 'local' });
});

test('a failed createOffer is noted and a deferred remote offer still gets applied', () => {
  const s = run(glareSetup('a', 'b', false), { type: 'remote-offer', sdp: OFFER_RESTART }).state;
  const r = negotiate(s, { type: 'operation-failed', operation: 'create-offer', message: 'boom' });
  assert.deepEqual(types(r.effects), ['note:operation-failed', 'apply-remote-description']);
});

test('the machine is pure: the input state is never mutated', () => {
  const s = initialNegotiationState('a', 'b', 'offerer');
  const frozen = JSON.stringify(s);
  run(s, { type: 'start' }, { type: 'remote-candidate', candidate: cand(1) }, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL });
  assert.equal(JSON.stringify(s), frozen);
});

test('a refused remote answer leaves the browser in have-local-offer: the machine goes back there and offers again', () => {
  const sent = run(
    initialNegotiationState('old', 'new', 'offerer'),
    { type: 'start' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-candidate', candidate: cand(1) },
  ).state;
  assert.equal(sent.signalingState, 'stable');
  const refused = negotiate(sent, { type: 'operation-failed', operation: 'apply-remote-description', message: 'bad answer', sdpType: 'answer' });
  assert.equal(refused.state.signalingState, 'have-local-offer');
  assert.equal(refused.state.remoteDescription, 'none');
  assert.deepEqual(refused.state.queuedCandidates, [], 'candidates of the refused answer are dropped');
  assert.deepEqual(types(refused.effects), ['note:operation-failed', 'note:description-refused', 'create-offer']);
  // The same answer sent again is no longer a "duplicate": it is applied.
  const again = run(
    refused.state,
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-description-applied', sdpType: 'answer' },
  );
  assert.equal(again.state.signalingState, 'stable');
  assert.equal(again.state.remoteDescription, 'set');
});

test('a refused remote offer goes back to stable, so the pair can negotiate and restart ICE again', () => {
  const got = negotiate(initialNegotiationState('new', 'old', 'answerer'), { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL });
  const refused = negotiate(got.state, { type: 'operation-failed', operation: 'apply-remote-description', message: 'bad offer', sdpType: 'offer' });
  assert.equal(refused.state.signalingState, 'stable');
  assert.equal(refused.state.lastRemoteOffer, null);
  // Before the fix the machine stayed in have-remote-offer for good: a restart was only owed.
  const restart = negotiate(refused.state, { type: 'restart-ice' });
  assert.ok(types(restart.effects).includes('create-offer'));
  // And the peer's next offer (even the very same text) is taken (and watched, as a first one).
  assert.deepEqual(types(negotiate(refused.state, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL }).effects), ['schedule', 'apply-remote-description']);
});

test('a refused offer during a polite rollback is rolled back explicitly, and the owed offer goes out', () => {
  const s = glareSetup('a', 'b', true);
  const r = run(
    s,
    { type: 'remote-offer', sdp: OFFER_RESTART },
    { type: 'operation-failed', operation: 'apply-remote-description', message: 'no', sdpType: 'offer' },
  );
  assert.equal(r.state.signalingState, 'stable');
  assert.ok(types(r.effects).includes('rollback'));
});

test('an answer that cannot be created rolls the remote offer back', () => {
  const r = run(
    initialNegotiationState('new', 'old', 'answerer'),
    { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL },
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'operation-failed', operation: 'create-answer', message: 'no' },
  );
  assert.equal(r.state.signalingState, 'stable');
  assert.equal(r.state.lastRemoteOffer, null);
  assert.ok(types(r.effects).includes('rollback'));
});

test('an offer with no answer in time is made again (it was lost while the server was away)', () => {
  const sent = run(
    initialNegotiationState('old', 'new', 'offerer', { offerTimeoutMs: 500 }),
    { type: 'start' },
    { type: 'local-description-ready', description: { type: 'offer', sdp: OFFER_WITH_CHANNEL } },
  );
  assert.deepEqual(sent.effects.at(-1), { type: 'schedule', timer: 'offer-timeout', ms: 500 });
  const again = negotiate(sent.state, { type: 'timer-fired', timer: 'offer-timeout' });
  assert.deepEqual(types(again.effects), ['note:offer-timeout', 'create-offer']);
  // Answered in time: a late timer does nothing.
  const answered = run(
    sent.state,
    { type: 'remote-answer', sdp: ANSWER },
    { type: 'remote-description-applied', sdpType: 'answer' },
    { type: 'timer-fired', timer: 'offer-timeout' },
  );
  assert.ok(!types(answered.effects).includes('create-offer'));
});

test('signals carry both connection epochs once known', () => {
  let b = initialNegotiationState('new', 'old', 'answerer', {}, 'eB');
  b = negotiate(b, { type: 'remote-offer', sdp: OFFER_WITH_CHANNEL, epoch: 'eA' }).state;
  assert.equal(b.remoteEpoch, 'eA');
  const answered = run(
    b,
    { type: 'remote-description-applied', sdpType: 'offer' },
    { type: 'local-description-ready', description: { type: 'answer', sdp: ANSWER } },
  );
  assert.deepEqual(answered.effects.at(-1), { type: 'send-signal', message: { type: 'answer', to: 'old', sdp: ANSWER, epoch: 'eB', peerEpoch: 'eA' } });
});

test('epochVerdict: current, new connection, stale', () => {
  const link = { epoch: 'mine2', remoteEpoch: 'theirs1' };
  assert.equal(epochVerdict(link, { type: 'offer', epoch: 'theirs1', peerEpoch: 'mine2' }), 'accept');
  assert.equal(epochVerdict(link, { type: 'candidate' }), 'accept', 'a version-1 peer sends no epochs');
  assert.equal(epochVerdict({ epoch: 'mine2', remoteEpoch: null }, { type: 'offer', epoch: 'x' }), 'accept');
  // The other side's socket dropped and it made a new connection: its offer must not land on the old one.
  assert.equal(epochVerdict(link, { type: 'offer', epoch: 'theirs2' }), 'new-connection');
  // Meant for a connection of ours that was replaced.
  assert.equal(epochVerdict(link, { type: 'answer', epoch: 'theirs1', peerEpoch: 'mine1' }), 'stale');
  assert.equal(epochVerdict(link, { type: 'candidate', epoch: 'theirs0' }), 'stale');
  assert.equal(epochVerdict(link, { type: 'bye', epoch: 'theirs0', peerEpoch: 'mine2' }), 'stale');
  // Their new connection answering ours names our epoch.
  assert.equal(epochVerdict(link, { type: 'answer', epoch: 'theirs2', peerEpoch: 'mine2' }), 'accept');
});
