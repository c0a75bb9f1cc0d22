/**
 * The negotiation of one WebRTC connection to one remote peer, as a pure state machine:
 * `negotiate(state, event) -> { state, effects }`. No DOM, no timers, no sockets: the
 * caller (client/peer-link.ts) feeds it what the browser and the server report, and
 * carries out the effects it returns, in order.
 *
 * It follows the reference design's flow and fixes what the reference left out:
 * - the existing peer (role `offerer`) creates the data channel `chat` and the offer;
 *   the newcomer (role `answerer`) waits for it;
 * - candidates that arrive before the remote description is applied are queued and
 *   released in arrival order once it is;
 * - offer collisions ("glare") are resolved by perfect negotiation: the polite peer
 *   (the smaller id) rolls back and answers, the impolite peer ignores the other offer;
 * - duplicate and out-of-order signals (a second copy of an offer, a late answer) are
 *   noted and ignored instead of breaking the connection;
 * - an ICE `failed` (or a `disconnected` that outlasts a timer) leads to an ICE restart,
 *   up to a limit, after which the connection is closed and the peer is told (`bye`).
 *   Both sides watch: the offerer restarts at once, the answerer after a grace (so the
 *   offerer normally goes first), and a restart that does not bring ICE back in time is
 *   followed by another;
 * - an offer that gets no answer in time (lost while the signaling server was away) is
 *   made again, and a description the browser refuses (or an answer it cannot create)
 *   rolls the machine back to the state the browser is really in, so the pair can still
 *   negotiate.
 */
import { CHAT_CHANNEL_LABEL } from './chat.js';
import { hasDataChannel, iceUfrag } from './sdp.js';
import type { IceCandidate, RelayRequest, SignalEpochs } from './signaling.js';

export type Role = 'offerer' | 'answerer';
export type SdpType = 'offer' | 'answer';
export type SignalingState = 'stable' | 'have-local-offer' | 'have-remote-offer';
export type IceConnectionState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed';
export type ChannelState = 'none' | 'connecting' | 'open' | 'closed';

export interface SessionDescription {
  readonly type: SdpType;
  readonly sdp: string;
}

export interface NegotiationOptions {
  /** ICE restarts tried in a row before giving up. */
  readonly maxIceRestarts: number;
  /** How long `disconnected` may last before it is treated as `failed` (the answerer waits twice as long). */
  readonly disconnectedTimeoutMs: number;
  /** How long an ICE restart may take to bring the connection back before the next one. */
  readonly iceRestartTimeoutMs: number;
  /** How long an offer may wait for its answer before it is made again. */
  readonly offerTimeoutMs: number;
  /**
   * How long a new connection may take to connect at all before its ICE is restarted (the
   * answerer waits `disconnectedTimeoutMs` longer). The browsers' own verdict comes late
   * (Chromium's after half a minute) or not at all.
   */
  readonly connectTimeoutMs: number;
  /**
   * ICE restarts tried before a connection has ever connected. A restart mends lost
   * signals; when every candidate pair has failed once, a pair that never connected
   * (symmetric NATs, no TURN) will not connect on a third try either, and the people in
   * it are better served by the relay a half-minute sooner.
   */
  readonly maxIceRestartsBeforeConnected: number;
}

export const DEFAULT_NEGOTIATION_OPTIONS: NegotiationOptions = {
  maxIceRestarts: 3,
  disconnectedTimeoutMs: 4000,
  iceRestartTimeoutMs: 10_000,
  offerTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
  maxIceRestartsBeforeConnected: 1,
};

export interface NegotiationState {
  readonly selfId: string;
  readonly remoteId: string;
  readonly role: Role;
  /** Perfect negotiation: the polite peer yields in an offer collision. */
  readonly polite: boolean;
  readonly options: NegotiationOptions;
  /** Our connection's epoch (sent on every signal), when the caller gave one. */
  readonly epoch: string | null;
  /** The remote connection's epoch, once a signal carried it. */
  readonly remoteEpoch: string | null;
  readonly started: boolean;
  readonly closed: boolean;
  /** Signaling state once every effect issued so far has been carried out. */
  readonly signalingState: SignalingState;
  /** A create-offer effect is out and its local description has not come back yet. */
  readonly makingOffer: boolean;
  /** Whether the offer being made is an ICE restart. */
  readonly offerIsRestart: boolean;
  /**
   * A remote offer to apply once the local operation in flight returns: on the polite
   * side of a collision, or when a new offer arrives before the last one was answered.
   */
  readonly deferredRemoteOffer: string | null;
  /** Impolite side: we ignored a colliding offer, so its candidates are dropped too. */
  readonly ignoringOffer: boolean;
  /** An offer we still owe (a rolled-back one, or a restart asked for mid-negotiation). */
  readonly pendingOffer: { readonly iceRestart: boolean } | null;
  /** `pending`: an apply-remote-description effect is out, candidates must wait. */
  readonly remoteDescription: 'none' | 'pending' | 'set';
  /** Whether the browser holds a remote description (so a refused one leaves `set`). */
  readonly hadRemoteDescription: boolean;
  /** The browser's signaling state before the pending remote description: restored if it is refused. */
  readonly stateBeforeApply: SignalingState;
  readonly queuedCandidates: readonly (IceCandidate | null)[];
  readonly lastRemoteOffer: string | null;
  readonly lastRemoteAnswer: string | null;
  readonly iceConnectionState: IceConnectionState;
  readonly channelState: ChannelState;
  /** ICE restarts since the connection last worked. */
  readonly iceRestarts: number;
  /** Whether ICE has connected at least once (it changes how many restarts are worth it). */
  readonly everConnected: boolean;
}

export type NegotiationEvent =
  /** Begin: the offerer opens the channel and offers; the answerer waits. */
  | { readonly type: 'start' }
  /** Phase 2, from the server: the remote peer's offer or answer (`epoch`: its connection's). */
  | { readonly type: 'remote-offer'; readonly sdp: string; readonly epoch?: string }
  | { readonly type: 'remote-answer'; readonly sdp: string; readonly epoch?: string }
  /** Phase 3, from the server: a candidate the remote peer gathered (null: gathering done). */
  | { readonly type: 'remote-candidate'; readonly candidate: IceCandidate | null; readonly epoch?: string }
  /** From the browser: createOffer/createAnswer + setLocalDescription finished. */
  | { readonly type: 'local-description-ready'; readonly description: SessionDescription }
  /** From the browser: setRemoteDescription finished. */
  | { readonly type: 'remote-description-applied'; readonly sdpType: SdpType }
  /** From the browser: `icecandidate` fired (null: gathering done). */
  | { readonly type: 'local-candidate'; readonly candidate: IceCandidate | null }
  | { readonly type: 'ice-connection-state'; readonly state: IceConnectionState }
  | { readonly type: 'channel-opened' }
  | { readonly type: 'channel-closed' }
  | { readonly type: 'timer-fired'; readonly timer: TimerName }
  /** Asked for by the user or a watchdog. */
  | { readonly type: 'restart-ice' }
  /**
   * From the browser: gathering finished without a single local candidate (relay-only and
   * the TURN server refused or is unreachable): no pair can ever form, so waiting is futile.
   */
  | { readonly type: 'no-local-candidates' }
  /** A browser operation behind an effect threw (`sdpType`: of the refused description). */
  | { readonly type: 'operation-failed'; readonly operation: Effect['type']; readonly message: string; readonly sdpType?: SdpType }
  /** The server said the peer left (`peer-disconnected`). */
  | { readonly type: 'peer-left' }
  /** We leave. */
  | { readonly type: 'close' };

/** `ice-watchdog`: ICE must be connected by then; `offer-timeout`: the answer must be in by then. */
export type TimerName = 'ice-watchdog' | 'offer-timeout';

/** Things worth telling a learner (or a test) that change no browser state. */
export type NoteCode =
  | 'candidate-queued'
  | 'candidates-released'
  | 'candidate-dropped'
  | 'offer-collision-ignored'
  | 'offer-collision-rollback'
  | 'offer-deferred'
  | 'duplicate-offer-ignored'
  | 'unexpected-answer-ignored'
  | 'stale-description-ignored'
  | 'ice-restart'
  | 'ice-restart-limit'
  | 'no-local-candidates'
  | 'offer-timeout'
  | 'description-refused'
  | 'operation-failed'
  /** Notes of the mesh around the machine: a signal for a connection that is gone... */
  | 'stale-signal-ignored'
  /** ...a connection replaced by a new one (the other side started afresh)... */
  | 'connection-replaced'
  /** ...and a peer whose page went away saying it would be back (a reload), waited for. */
  | 'peer-returning';

export type Effect =
  | { readonly type: 'create-channel'; readonly label: string }
  | { readonly type: 'create-offer'; readonly iceRestart: boolean }
  | { readonly type: 'create-answer' }
  | { readonly type: 'apply-remote-description'; readonly description: SessionDescription }
  | { readonly type: 'add-candidate'; readonly candidate: IceCandidate | null }
  /** Back to `stable`: drop the local offer or the remote offer the browser holds. */
  | { readonly type: 'rollback' }
  | { readonly type: 'send-signal'; readonly message: RelayRequest }
  | { readonly type: 'schedule'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'cancel'; readonly timer: TimerName }
  | { readonly type: 'close'; readonly reason: 'peer-left' | 'local' | 'ice-failed' }
  | { readonly type: 'note'; readonly code: NoteCode; readonly detail?: string };

export interface Transition {
  readonly state: NegotiationState;
  readonly effects: readonly Effect[];
}

/** The polite peer is the one with the smaller id; both sides compute the same answer. */
export function isPolite(selfId: string, remoteId: string): boolean {
  return selfId < remoteId;
}

export function initialNegotiationState(
  selfId: string,
  remoteId: string,
  role: Role,
  options: Partial<NegotiationOptions> = {},
  epoch: string | null = null,
): NegotiationState {
  return {
    selfId,
    remoteId,
    role,
    polite: isPolite(selfId, remoteId),
    options: { ...DEFAULT_NEGOTIATION_OPTIONS, ...options },
    epoch,
    remoteEpoch: null,
    started: false,
    closed: false,
    signalingState: 'stable',
    makingOffer: false,
    offerIsRestart: false,
    deferredRemoteOffer: null,
    ignoringOffer: false,
    pendingOffer: null,
    remoteDescription: 'none',
    hadRemoteDescription: false,
    stateBeforeApply: 'stable',
    queuedCandidates: [],
    lastRemoteOffer: null,
    lastRemoteAnswer: null,
    iceConnectionState: 'new',
    channelState: 'none',
    iceRestarts: 0,
    everConnected: false,
  };
}

const same = (state: NegotiationState, ...effects: Effect[]): Transition => ({ state, effects });
const note = (code: NoteCode, detail?: string): Effect => (detail === undefined ? { type: 'note', code } : { type: 'note', code, detail });
const schedule = (timer: TimerName, ms: number): Effect => ({ type: 'schedule', timer, ms });
const cancel = (timer: TimerName): Effect => ({ type: 'cancel', timer });

type OutgoingSignal =
  | { readonly type: 'offer' | 'answer'; readonly sdp: string }
  | { readonly type: 'candidate'; readonly candidate: IceCandidate | null }
  | { readonly type: 'bye' };

/** A signal to the remote peer, stamped with both connections' epochs where known. */
function signal(state: NegotiationState, message: OutgoingSignal): Effect {
  const epochs: SignalEpochs = {
    ...(state.epoch === null ? {} : { epoch: state.epoch }),
    ...(state.remoteEpoch === null ? {} : { peerEpoch: state.remoteEpoch }),
  };
  return { type: 'send-signal', message: { ...message, to: state.remoteId, ...epochs } as RelayRequest };
}

/** Remembers the remote connection's epoch from a signal that carried one. */
function withRemoteEpoch(state: NegotiationState, epoch: string | undefined): NegotiationState {
  return epoch === undefined || epoch === state.remoteEpoch ? state : { ...state, remoteEpoch: epoch };
}

export function negotiate(state: NegotiationState, event: NegotiationEvent): Transition {
  if (state.closed) return same(state);
  switch (event.type) {
    case 'start':
      return start(state);
    case 'remote-offer':
      return remoteOffer(withRemoteEpoch(state, event.epoch), event.sdp);
    case 'remote-answer':
      return remoteAnswer(withRemoteEpoch(state, event.epoch), event.sdp);
    case 'remote-candidate':
      return remoteCandidate(withRemoteEpoch(state, event.epoch), event.candidate);
    case 'local-description-ready':
      return event.description.type === 'offer' ? localOfferReady(state, event.description.sdp) : localAnswerReady(state, event.description.sdp);
    case 'remote-description-applied':
      return remoteDescriptionApplied(state, event.sdpType);
    case 'local-candidate':
      return same(state, signal(state, { type: 'candidate', candidate: event.candidate }));
    case 'ice-connection-state':
      return iceConnectionState(state, event.state);
    case 'channel-opened':
      return same({ ...state, channelState: 'open' });
    case 'channel-closed':
      return same({ ...state, channelState: 'closed' });
    case 'timer-fired':
      return event.timer === 'offer-timeout' ? offerTimedOut(state) : iceWatchdog(state);
    case 'restart-ice':
      return restartIce(state);
    case 'no-local-candidates':
      return noLocalCandidates(state);
    case 'operation-failed':
      return operationFailed(state, event.operation, event.message, event.sdpType);
    case 'peer-left':
      return close(state, 'peer-left');
    case 'close':
      return close(state, 'local');
  }
}

function start(state: NegotiationState): Transition {
  if (state.started) return same(state);
  const started = { ...state, started: true };
  // The newcomer waits for the offer, but not for ever: the offerer may have given the
  // pair up (it chats through the relay and ignores us), or lost it through every resend.
  if (state.role === 'answerer') return same(started, schedule('ice-watchdog', firstOfferWaitMs(state.options)));
  const offer = makeOffer({ ...started, channelState: 'connecting' }, false);
  return {
    state: offer.state,
    effects: [{ type: 'create-channel', label: CHAT_CHANNEL_LABEL }, schedule('ice-watchdog', state.options.connectTimeoutMs), ...offer.effects],
  };
}

/** Offers now if nothing else is in flight; otherwise remembers that an offer is owed. */
function makeOffer(state: NegotiationState, iceRestart: boolean): Transition {
  if (state.makingOffer || state.signalingState !== 'stable' || state.remoteDescription === 'pending') {
    const owedRestart = iceRestart || (state.pendingOffer?.iceRestart ?? false);
    return same({ ...state, pendingOffer: { iceRestart: owedRestart } });
  }
  return same({ ...state, makingOffer: true, offerIsRestart: iceRestart, pendingOffer: null }, { type: 'create-offer', iceRestart });
}

function remoteOffer(state: NegotiationState, sdp: string): Transition {
  if (sdp === state.lastRemoteOffer) return same(state, note('duplicate-offer-ignored'));
  const collision = state.makingOffer || state.signalingState === 'have-local-offer';
  if (!collision && state.signalingState === 'have-remote-offer') {
    // Out of order: the previous offer is not answered yet. Answer it first.
    return same({ ...state, deferredRemoteOffer: sdp, lastRemoteOffer: sdp }, note('offer-deferred', 'previous offer not answered yet'));
  }
  if (collision && !state.polite) {
    return same({ ...state, ignoringOffer: true }, note('offer-collision-ignored', 'impolite: keeps its own offer'));
  }
  const remoteRestart = state.lastRemoteOffer !== null && iceUfrag(state.lastRemoteOffer) !== iceUfrag(sdp);
  const accepted: NegotiationState = {
    ...state,
    started: true,
    ignoringOffer: false,
    lastRemoteOffer: sdp,
    // A new remote description makes earlier queued candidates stale only if ICE
    // restarted; they are kept and released in order either way (harmless if stale).
    remoteDescription: 'pending',
    stateBeforeApply: state.signalingState,
    signalingState: 'have-remote-offer',
  };
  // The other side restarts ICE: give its restart time before ours (and owe none). The
  // first offer starts the answerer's watch, a grace behind the offerer's.
  const { iceRestartTimeoutMs, connectTimeoutMs, disconnectedTimeoutMs } = state.options;
  const restartWatch: Effect[] = remoteRestart
    ? [schedule('ice-watchdog', iceRestartTimeoutMs)]
    : state.lastRemoteOffer === null && state.role === 'answerer'
      ? [schedule('ice-watchdog', connectTimeoutMs + disconnectedTimeoutMs)]
      : [];
  if (!collision) {
    const owed = remoteRestart && state.pendingOffer?.iceRestart ? null : state.pendingOffer;
    return same({ ...accepted, pendingOffer: owed }, ...restartWatch, applyRemote('offer', sdp));
  }
  // Polite side of a collision: our offer gives way and is owed again if still needed.
  const owed = owedAfterRollback(state, sdp);
  if (state.makingOffer) {
    // Our createOffer/setLocalDescription is still running: take the remote offer once it
    // returns (setRemoteDescription then rolls our offer back implicitly).
    return same(
      { ...accepted, signalingState: state.signalingState, deferredRemoteOffer: sdp, pendingOffer: owed },
      note('offer-collision-rollback', 'polite: will roll back its offer and answer'),
    );
  }
  return same(
    { ...accepted, pendingOffer: owed },
    note('offer-collision-rollback', 'polite: rolls back its offer and answers'),
    cancel('offer-timeout'),
    ...restartWatch,
    applyRemote('offer', sdp),
  );
}

/** After yielding to a remote offer, do we still owe an offer of our own? */
function owedAfterRollback(state: NegotiationState, remoteSdp: string): { iceRestart: boolean } | null {
  const restartWanted = state.offerIsRestart || (state.pendingOffer?.iceRestart ?? false);
  if (restartWanted) {
    const remoteRestarted = state.lastRemoteOffer === null || iceUfrag(state.lastRemoteOffer) !== iceUfrag(remoteSdp);
    return remoteRestarted ? null : { iceRestart: true };
  }
  return state.role === 'offerer' && !hasDataChannel(remoteSdp) ? { iceRestart: false } : null;
}

function applyRemote(type: SdpType, sdp: string): Effect {
  return { type: 'apply-remote-description', description: { type, sdp } };
}

function remoteAnswer(state: NegotiationState, sdp: string): Transition {
  if (state.signalingState !== 'have-local-offer') {
    const why = sdp === state.lastRemoteAnswer ? 'duplicate answer' : `answer while ${state.signalingState}`;
    return same(state, note('unexpected-answer-ignored', why));
  }
  return same(
    { ...state, signalingState: 'stable', stateBeforeApply: 'have-local-offer', lastRemoteAnswer: sdp, remoteDescription: 'pending', ignoringOffer: false },
    cancel('offer-timeout'),
    applyRemote('answer', sdp),
  );
}

function remoteCandidate(state: NegotiationState, candidate: IceCandidate | null): Transition {
  if (state.ignoringOffer) return same(state, note('candidate-dropped', 'belongs to an ignored offer'));
  if (state.remoteDescription !== 'set') {
    return same({ ...state, queuedCandidates: [...state.queuedCandidates, candidate] }, note('candidate-queued', 'remote description not set yet'));
  }
  return same(state, { type: 'add-candidate', candidate });
}

function localOfferReady(state: NegotiationState, sdp: string): Transition {
  if (!state.makingOffer) return same(state, note('stale-description-ignored', 'offer'));
  const made: NegotiationState = { ...state, makingOffer: false };
  if (state.deferredRemoteOffer !== null) return applyDeferredOffer(made);
  return same(
    { ...made, signalingState: 'have-local-offer' },
    ...(state.offerIsRestart ? [note('ice-restart', 'offer with new ICE credentials sent')] : []),
    signal(state, { type: 'offer', sdp }),
    schedule('offer-timeout', state.options.offerTimeoutMs),
  );
}

function localAnswerReady(state: NegotiationState, sdp: string): Transition {
  if (state.signalingState !== 'have-remote-offer') return same(state, note('stale-description-ignored', 'answer'));
  const answered = same({ ...state, signalingState: 'stable' }, signal(state, { type: 'answer', sdp }));
  return then(answered, whatIsNext);
}

function applyDeferredOffer(state: NegotiationState): Transition {
  const sdp = state.deferredRemoteOffer;
  if (sdp === null) return same(state);
  return same(
    { ...state, deferredRemoteOffer: null, stateBeforeApply: state.signalingState, signalingState: 'have-remote-offer', remoteDescription: 'pending' },
    ...(state.signalingState === 'have-local-offer' ? [cancel('offer-timeout')] : []),
    applyRemote('offer', sdp),
  );
}

function remoteDescriptionApplied(state: NegotiationState, sdpType: SdpType): Transition {
  if (state.remoteDescription !== 'pending') return same(state);
  // A remote offer arrived while this answer was applied: candidates wait for the offer.
  if (sdpType === 'answer' && state.signalingState === 'have-remote-offer') return same(state);
  const queued = state.queuedCandidates;
  const effects: Effect[] = [];
  if (queued.length > 0) {
    effects.push(note('candidates-released', `${queued.length} queued candidate(s) added in order`));
    for (const candidate of queued) effects.push({ type: 'add-candidate', candidate });
  }
  const applied: NegotiationState = { ...state, remoteDescription: 'set', hadRemoteDescription: true, queuedCandidates: [] };
  if (sdpType === 'offer') {
    effects.push({ type: 'create-answer' });
    return same(applied, ...effects);
  }
  return then(same(applied, ...effects), offerIfOwed);
}

/** Back in `stable`: a remote offer that waited is applied first, else an offer we owe goes out. */
function whatIsNext(state: NegotiationState): Transition {
  return state.deferredRemoteOffer === null ? offerIfOwed(state) : applyDeferredOffer(state);
}

function offerIfOwed(state: NegotiationState): Transition {
  return state.pendingOffer ? makeOffer(state, state.pendingOffer.iceRestart) : same(state);
}

function iceConnectionState(state: NegotiationState, ice: IceConnectionState): Transition {
  const next = { ...state, iceConnectionState: ice };
  const grace = state.options.disconnectedTimeoutMs;
  switch (ice) {
    case 'connected':
    case 'completed':
      return same({ ...next, iceRestarts: 0, everConnected: true }, cancel('ice-watchdog'));
    case 'disconnected':
      // Often a blip that heals by itself: restart only if it lasts (the answerer waits longer).
      return same(next, schedule('ice-watchdog', state.role === 'offerer' ? grace : 2 * grace));
    case 'failed':
      // The offerer restarts at once; the answerer gives the offerer's restart a head start.
      return state.role === 'offerer' ? restartIce(next) : same(next, schedule('ice-watchdog', grace));
    default:
      return same(next);
  }
}

/** How long an answerer waits for a first offer: as long as an offerer's connection may take, and its offer's answer. */
function firstOfferWaitMs({ connectTimeoutMs, disconnectedTimeoutMs, offerTimeoutMs }: NegotiationOptions): number {
  return connectTimeoutMs + disconnectedTimeoutMs + offerTimeoutMs;
}

/**
 * ICE was not (back to) connected in time: restart it (again). An answerer whose offer
 * never came gives the direct connection up (and says so: `bye`), so the pair goes on
 * through the relay like one whose ICE failed, instead of waiting for ever.
 */
function iceWatchdog(state: NegotiationState): Transition {
  const ice = state.iceConnectionState;
  if (ice === 'connected' || ice === 'completed') return same(state);
  if (state.role === 'answerer' && state.lastRemoteOffer === null && !state.makingOffer && state.signalingState === 'stable') {
    return giveUp(state, note('offer-timeout', `no offer came in ${firstOfferWaitMs(state.options)} ms: giving the direct connection up`));
  }
  return restartIce(state);
}

/**
 * ICE restart, from either side (collisions are resolved like any other); each one is
 * watched, and past the limit the connection is closed and the peer told.
 */
function restartIce(state: NegotiationState): Transition {
  const { maxIceRestarts, maxIceRestartsBeforeConnected } = state.options;
  if (state.iceRestarts >= (state.everConnected ? maxIceRestarts : Math.min(maxIceRestarts, maxIceRestartsBeforeConnected))) {
    return giveUp(state, note('ice-restart-limit', `${state.iceRestarts} restarts failed`));
  }
  const restarting = { ...state, iceRestarts: state.iceRestarts + 1 };
  const offer = makeOffer(restarting, true);
  return { state: offer.state, effects: [schedule('ice-watchdog', state.options.iceRestartTimeoutMs), ...offer.effects] };
}

/** Nothing to connect from: give up at once (bye), unless ICE works anyway (an old round's pair). */
function noLocalCandidates(state: NegotiationState): Transition {
  if (state.iceConnectionState === 'connected' || state.iceConnectionState === 'completed') return same(state);
  return giveUp(state, note('no-local-candidates', 'gathering found no address to connect from'));
}

/** ICE will not work: close, saying why first, and tell the peer (`bye`). */
function giveUp(state: NegotiationState, why: Effect): Transition {
  const closed = close(state, 'ice-failed');
  return { state: closed.state, effects: [why, ...closed.effects] };
}

/** Our offer got no answer in time (lost on the way, or the peer's machine lost it): offer again. */
function offerTimedOut(state: NegotiationState): Transition {
  if (state.signalingState !== 'have-local-offer' || state.makingOffer) return same(state);
  // An offer may be made again from have-local-offer; no rollback needed.
  return same({ ...state, makingOffer: true, pendingOffer: null }, note('offer-timeout', `no answer in ${state.options.offerTimeoutMs} ms: offering again`), {
    type: 'create-offer',
    iceRestart: state.offerIsRestart,
  });
}

function operationFailed(state: NegotiationState, operation: Effect['type'], message: string, sdpType?: SdpType): Transition {
  // Perfect negotiation: errors from candidates of an offer we chose to ignore are expected.
  if (operation === 'add-candidate' && state.ignoringOffer) return same(state);
  const effects: Effect[] = [note('operation-failed', `${operation}: ${message}`)];
  switch (operation) {
    case 'create-offer': {
      const gaveUp = same({ ...state, makingOffer: false }, ...effects);
      return then(gaveUp, applyDeferredOffer);
    }
    case 'apply-remote-description':
      return descriptionRefused(state, sdpType, effects);
    case 'create-answer': {
      // The browser holds the remote offer but cannot answer it: drop it. The other side's
      // offer timer makes it offer again.
      const rolledBack = same(
        { ...state, signalingState: 'stable', lastRemoteOffer: null },
        ...effects,
        note('description-refused', 'no answer could be made: the remote offer is rolled back'),
        { type: 'rollback' },
      );
      return then(rolledBack, whatIsNext);
    }
    default:
      return same(state, ...effects);
  }
}

/**
 * The browser refused a remote description: it stays in the signaling state it was in,
 * so the machine goes back there too (forgetting the description, so a fresh copy is not
 * taken for a duplicate), drops the candidates queued for it, and carries on.
 */
function descriptionRefused(state: NegotiationState, sdpType: SdpType | undefined, effects: Effect[]): Transition {
  // Only the description in flight can be refused; a late report changes nothing.
  if (state.remoteDescription !== 'pending') return same(state, ...effects);
  const restored: NegotiationState = {
    ...state,
    remoteDescription: state.hadRemoteDescription ? 'set' : 'none',
    queuedCandidates: [],
  };
  if (sdpType === 'answer' && state.stateBeforeApply === 'have-local-offer') {
    // Still in have-local-offer: our offer stands unanswered. Make it again at once (the
    // answer that comes back may be a good one); the offer timer keeps watch.
    return same(
      { ...restored, signalingState: 'have-local-offer', lastRemoteAnswer: null, makingOffer: true, pendingOffer: null },
      ...effects,
      note('description-refused', 'remote answer refused: offering again'),
      { type: 'create-offer', iceRestart: state.offerIsRestart },
    );
  }
  // A refused remote offer. From have-local-offer the browser may or may not have rolled
  // our offer back implicitly: roll back explicitly (a no-op failure if it had), so both
  // agree on `stable`; the offer we owe goes out next.
  const fromLocalOffer = state.stateBeforeApply === 'have-local-offer';
  const refused = same(
    { ...restored, signalingState: 'stable', lastRemoteOffer: null },
    ...effects,
    note('description-refused', 'remote offer refused: back to stable'),
    ...(fromLocalOffer ? [{ type: 'rollback' } as Effect] : []),
  );
  return then(refused, whatIsNext);
}

function close(state: NegotiationState, reason: 'peer-left' | 'local' | 'ice-failed'): Transition {
  return same(
    { ...state, closed: true, channelState: 'closed', queuedCandidates: [], makingOffer: false, pendingOffer: null },
    cancel('ice-watchdog'),
    cancel('offer-timeout'),
    // Given up for good: tell the other side, whose channel may still read `open`.
    ...(reason === 'ice-failed' ? [signal(state, { type: 'bye' })] : []),
    { type: 'close', reason },
  );
}

/** Runs a second step on the state of the first and concatenates their effects. */
function then(first: Transition, next: (state: NegotiationState) => Transition): Transition {
  const second = next(first.state);
  return { state: second.state, effects: [...first.effects, ...second.effects] };
}

/** Feeds events one after the other; handy for tests and replaying a log. */
export function negotiateAll(state: NegotiationState, events: readonly NegotiationEvent[]): Transition {
  let current: Transition = same(state);
  for (const event of events) current = then(current, (s) => negotiate(s, event));
  return current;
}

/**
 * Where a signal from the remote peer belongs, judged by its connection epochs:
 * - `accept`: the current connection's (or from a peer that sends no epochs);
 * - `new-connection`: an offer from a connection the other side made afresh (its old one
 *   is gone, e.g. after its socket dropped): ours must be replaced by a new one;
 * - `stale`: meant for a connection of ours, or from one of theirs, that is gone.
 */
export type EpochVerdict = 'accept' | 'new-connection' | 'stale';

export function epochVerdict(
  current: { readonly epoch: string | null; readonly remoteEpoch: string | null },
  message: { readonly type: RelayRequest['type'] } & SignalEpochs,
): EpochVerdict {
  if (message.peerEpoch !== undefined && current.epoch !== null && message.peerEpoch !== current.epoch) return 'stale';
  if (message.epoch === undefined || current.remoteEpoch === null || message.epoch === current.remoteEpoch) return 'accept';
  if (message.type === 'offer') return 'new-connection';
  // A connection the other side made in answer to ours names our epoch; anything else is old.
  return message.peerEpoch !== undefined && message.type !== 'bye' ? 'accept' : 'stale';
}
