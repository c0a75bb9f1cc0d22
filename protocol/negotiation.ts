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
 *   up to a limit, after which the connection is closed.
 */
import { CHAT_CHANNEL_LABEL } from './chat.js';
import { hasDataChannel, iceUfrag } from './sdp.js';
import type { IceCandidate, RelayRequest } from './signaling.js';

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
  /** How long `disconnected` may last before it is treated as `failed`. */
  readonly disconnectedTimeoutMs: number;
}

export const DEFAULT_NEGOTIATION_OPTIONS: NegotiationOptions = {
  maxIceRestarts: 3,
  disconnectedTimeoutMs: 4000,
};

export interface NegotiationState {
  readonly selfId: string;
  readonly remoteId: string;
  readonly role: Role;
  /** Perfect negotiation: the polite peer yields in an offer collision. */
  readonly polite: boolean;
  readonly options: NegotiationOptions;
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
  readonly queuedCandidates: readonly (IceCandidate | null)[];
  readonly lastRemoteOffer: string | null;
  readonly lastRemoteAnswer: string | null;
  readonly iceConnectionState: IceConnectionState;
  readonly channelState: ChannelState;
  /** ICE restarts since the connection last worked. */
  readonly iceRestarts: number;
}

export type NegotiationEvent =
  /** Begin: the offerer opens the channel and offers; the answerer waits. */
  | { readonly type: 'start' }
  /** Phase 2, from the server: the remote peer's offer or answer. */
  | { readonly type: 'remote-offer'; readonly sdp: string }
  | { readonly type: 'remote-answer'; readonly sdp: string }
  /** Phase 3, from the server: a candidate the remote peer gathered (null: gathering done). */
  | { readonly type: 'remote-candidate'; readonly candidate: IceCandidate | null }
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
  /** A browser operation behind an effect threw. */
  | { readonly type: 'operation-failed'; readonly operation: Effect['type']; readonly message: string }
  /** The server said the peer left (`peer-disconnected`). */
  | { readonly type: 'peer-left' }
  /** We leave. */
  | { readonly type: 'close' };

export type TimerName = 'ice-disconnected';

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
  | 'operation-failed';

export type Effect =
  | { readonly type: 'create-channel'; readonly label: string }
  | { readonly type: 'create-offer'; readonly iceRestart: boolean }
  | { readonly type: 'create-answer' }
  | { readonly type: 'apply-remote-description'; readonly description: SessionDescription }
  | { readonly type: 'add-candidate'; readonly candidate: IceCandidate | null }
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
): NegotiationState {
  return {
    selfId,
    remoteId,
    role,
    polite: isPolite(selfId, remoteId),
    options: { ...DEFAULT_NEGOTIATION_OPTIONS, ...options },
    started: false,
    closed: false,
    signalingState: 'stable',
    makingOffer: false,
    offerIsRestart: false,
    deferredRemoteOffer: null,
    ignoringOffer: false,
    pendingOffer: null,
    remoteDescription: 'none',
    queuedCandidates: [],
    lastRemoteOffer: null,
    lastRemoteAnswer: null,
    iceConnectionState: 'new',
    channelState: 'none',
    iceRestarts: 0,
  };
}

const same = (state: NegotiationState, ...effects: Effect[]): Transition => ({ state, effects });
const note = (code: NoteCode, detail?: string): Effect =>
  detail === undefined ? { type: 'note', code } : { type: 'note', code, detail };

export function negotiate(state: NegotiationState, event: NegotiationEvent): Transition {
  if (state.closed) return same(state);
  switch (event.type) {
    case 'start':
      return start(state);
    case 'remote-offer':
      return remoteOffer(state, event.sdp);
    case 'remote-answer':
      return remoteAnswer(state, event.sdp);
    case 'remote-candidate':
      return remoteCandidate(state, event.candidate);
    case 'local-description-ready':
      return event.description.type === 'offer'
        ? localOfferReady(state, event.description.sdp)
        : localAnswerReady(state, event.description.sdp);
    case 'remote-description-applied':
      return remoteDescriptionApplied(state, event.sdpType);
    case 'local-candidate':
      return same(state, { type: 'send-signal', message: { type: 'candidate', to: state.remoteId, candidate: event.candidate } });
    case 'ice-connection-state':
      return iceConnectionState(state, event.state);
    case 'channel-opened':
      return same({ ...state, channelState: 'open' });
    case 'channel-closed':
      return same({ ...state, channelState: 'closed' });
    case 'timer-fired':
      return state.iceConnectionState === 'disconnected' && state.role === 'offerer' ? restartIce(state) : same(state);
    case 'restart-ice':
      return restartIce(state);
    case 'operation-failed':
      return operationFailed(state, event.operation, event.message);
    case 'peer-left':
      return close(state, 'peer-left');
    case 'close':
      return close(state, 'local');
  }
}

function start(state: NegotiationState): Transition {
  if (state.started) return same(state);
  const started = { ...state, started: true };
  if (state.role === 'answerer') return same(started);
  const offer = makeOffer({ ...started, channelState: 'connecting' }, false);
  return { state: offer.state, effects: [{ type: 'create-channel', label: CHAT_CHANNEL_LABEL }, ...offer.effects] };
}

/** Offers now if nothing else is in flight; otherwise remembers that an offer is owed. */
function makeOffer(state: NegotiationState, iceRestart: boolean): Transition {
  if (state.makingOffer || state.signalingState !== 'stable' || state.remoteDescription === 'pending') {
    const owedRestart = iceRestart || (state.pendingOffer?.iceRestart ?? false);
    return same({ ...state, pendingOffer: { iceRestart: owedRestart } });
  }
  return same(
    { ...state, makingOffer: true, offerIsRestart: iceRestart, pendingOffer: null },
    { type: 'create-offer', iceRestart },
  );
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
  const accepted: NegotiationState = {
    ...state,
    started: true,
    ignoringOffer: false,
    lastRemoteOffer: sdp,
    // A new remote description makes earlier queued candidates stale only if ICE
    // restarted; they are kept and released in order either way (harmless if stale).
    remoteDescription: 'pending',
    signalingState: 'have-remote-offer',
  };
  if (!collision) return same(accepted, applyRemote('offer', sdp));
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
    { ...state, signalingState: 'stable', lastRemoteAnswer: sdp, remoteDescription: 'pending', ignoringOffer: false },
    applyRemote('answer', sdp),
  );
}

function remoteCandidate(state: NegotiationState, candidate: IceCandidate | null): Transition {
  if (state.ignoringOffer) return same(state, note('candidate-dropped', 'belongs to an ignored offer'));
  if (state.remoteDescription !== 'set') {
    return same(
      { ...state, queuedCandidates: [...state.queuedCandidates, candidate] },
      note('candidate-queued', 'remote description not set yet'),
    );
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
    { type: 'send-signal', message: { type: 'offer', to: state.remoteId, sdp } },
  );
}

function localAnswerReady(state: NegotiationState, sdp: string): Transition {
  if (state.signalingState !== 'have-remote-offer') return same(state, note('stale-description-ignored', 'answer'));
  const answered = same(
    { ...state, signalingState: 'stable' },
    { type: 'send-signal', message: { type: 'answer', to: state.remoteId, sdp } },
  );
  return then(answered, (s) => (s.deferredRemoteOffer === null ? offerIfOwed(s) : applyDeferredOffer(s)));
}

function applyDeferredOffer(state: NegotiationState): Transition {
  const sdp = state.deferredRemoteOffer;
  if (sdp === null) return same(state);
  return same(
    { ...state, deferredRemoteOffer: null, signalingState: 'have-remote-offer', remoteDescription: 'pending' },
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
  const applied: NegotiationState = { ...state, remoteDescription: 'set', queuedCandidates: [] };
  if (sdpType === 'offer') {
    effects.push({ type: 'create-answer' });
    return same(applied, ...effects);
  }
  return then(same(applied, ...effects), offerIfOwed);
}

function offerIfOwed(state: NegotiationState): Transition {
  return state.pendingOffer ? makeOffer(state, state.pendingOffer.iceRestart) : same(state);
}

function iceConnectionState(state: NegotiationState, ice: IceConnectionState): Transition {
  const next = { ...state, iceConnectionState: ice };
  switch (ice) {
    case 'connected':
    case 'completed':
      return same({ ...next, iceRestarts: 0 }, { type: 'cancel', timer: 'ice-disconnected' });
    case 'disconnected':
      return same(next, { type: 'schedule', timer: 'ice-disconnected', ms: state.options.disconnectedTimeoutMs });
    case 'failed':
      return state.role === 'offerer' ? restartIce(next) : same(next);
    default:
      return same(next);
  }
}

/**
 * Only the offerer restarts ICE on its own, so both sides seeing `failed` at once do not
 * both offer; an explicit `restart-ice` event works from either side (collisions are
 * then resolved like any other).
 */
function restartIce(state: NegotiationState): Transition {
  if (state.iceRestarts >= state.options.maxIceRestarts) {
    const closed = close(state, 'ice-failed');
    return { state: closed.state, effects: [note('ice-restart-limit', `${state.iceRestarts} restarts failed`), ...closed.effects] };
  }
  const restarting = { ...state, iceRestarts: state.iceRestarts + 1 };
  return makeOffer(restarting, true);
}

function operationFailed(state: NegotiationState, operation: Effect['type'], message: string): Transition {
  // Perfect negotiation: errors from candidates of an offer we chose to ignore are expected.
  if (operation === 'add-candidate' && state.ignoringOffer) return same(state);
  const effects: Effect[] = [note('operation-failed', `${operation}: ${message}`)];
  switch (operation) {
    case 'create-offer': {
      const gaveUp = same({ ...state, makingOffer: false }, ...effects);
      return then(gaveUp, applyDeferredOffer);
    }
    case 'apply-remote-description':
      // The description was refused: go back to what the browser still has.
      return same({ ...state, remoteDescription: state.lastRemoteAnswer || state.lastRemoteOffer ? 'set' : 'none' }, ...effects);
    default:
      return same(state, ...effects);
  }
}

function close(state: NegotiationState, reason: 'peer-left' | 'local' | 'ice-failed'): Transition {
  return same(
    { ...state, closed: true, channelState: 'closed', queuedCandidates: [], makingOffer: false, pendingOffer: null },
    { type: 'cancel', timer: 'ice-disconnected' },
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
