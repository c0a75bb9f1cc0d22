/**
 * Two negotiation machines wired together through a simulated signaling channel and two
 * simulated browsers, in virtual time: random delays (so reordering), duplicates, outages
 * of the signaling server (signals queued or lost, as the Mesh does; a restart for every
 * link that is not `stable` after the rejoin), descriptions the browser refuses, and ICE
 * paths that break for a while or for good. Thousands of seeded runs; each must converge:
 * both `stable` with one open channel and matching ICE credentials, or both closed (the
 * pair then chats through the relay). A failing run prints its seed and its last events;
 * `SIM_SEED=n` replays one.
 *
 * The browser model follows the W3C/JSEP rules the machine relies on: which description
 * may be set in which signaling state, implicit rollback of a local offer by a remote one,
 * a refused description leaving the state unchanged, operations one at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialNegotiationState,
  negotiate,
  type Effect,
  type IceConnectionState,
  type NegotiationEvent,
  type NegotiationState,
  type SdpType,
  type SignalingState,
  type TimerName,
} from './negotiation.js';
import { iceUfrag } from './sdp.js';
import type { RelayRequest } from './signaling.js';

/** mulberry32: small, fast, good enough to pick faults; the same seed replays a run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scenario {
  /** Signals delayed 0..maxDelay ms (so they reorder). */
  readonly maxDelay: number;
  readonly duplicate: number;
  /** Chance that the browser refuses a remote description. */
  readonly refuse: number;
  /** Signaling outages [from, to) in ms; signals sent meanwhile are queued or lost. */
  readonly outages: readonly (readonly [number, number])[];
  readonly lossInOutage: number;
  /** ICE path down [from, to); `to` = Infinity: for good. */
  readonly pathDown: readonly (readonly [number, number])[];
}

type Side = 0 | 1;
const IDS = ['peer-a', 'peer-b'] as const;

interface Description {
  readonly type: SdpType;
  readonly sdp: string;
}

/** A browser's RTCPeerConnection, as far as negotiation can observe it. */
class SimBrowser {
  signalingState: SignalingState = 'stable';
  /** Descriptions in force (`current*`) and proposed (`pending*`), as in the spec. */
  currentLocal: Description | null = null;
  currentRemote: Description | null = null;
  pendingLocal: Description | null = null;
  pendingRemote: Description | null = null;
  remoteCandidateUfrags = new Set<string>();
  ice: IceConnectionState = 'new';
  channelOpen = false;
  closed = false;
  #version = 0;
  #ufragCount = 0;
  #ufrag: string | null = null;

  constructor(readonly side: Side) {}

  #newUfrag(): string {
    return `${this.side === 0 ? 'a' : 'b'}${++this.#ufragCount}`;
  }

  #sdp(ufrag: string): string {
    return `v=0\r\no=- ${this.side} ${++this.#version} IN IP4 0.0.0.0\r\na=ice-ufrag:${ufrag}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n`;
  }

  createOffer(iceRestart: boolean): Description {
    if (this.closed) throw new Error('closed');
    if (this.signalingState !== 'stable' && this.signalingState !== 'have-local-offer') throw new Error(`InvalidStateError: offer in ${this.signalingState}`);
    if (this.#ufrag === null || iceRestart) this.#ufrag = this.#newUfrag();
    const offer = { type: 'offer' as const, sdp: this.#sdp(this.#ufrag) };
    this.pendingLocal = offer;
    this.signalingState = 'have-local-offer';
    return offer;
  }

  createAnswer(): Description {
    if (this.closed) throw new Error('closed');
    if (this.signalingState !== 'have-remote-offer' || !this.pendingRemote) throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
    const remoteUfrag = iceUfrag(this.pendingRemote.sdp);
    const restarted = this.currentRemote !== null && iceUfrag(this.currentRemote.sdp) !== remoteUfrag;
    if (this.#ufrag === null || restarted) this.#ufrag = this.#newUfrag();
    const answer = { type: 'answer' as const, sdp: this.#sdp(this.#ufrag) };
    this.currentLocal = answer;
    this.currentRemote = this.pendingRemote;
    this.pendingRemote = null;
    this.pendingLocal = null;
    this.signalingState = 'stable';
    return answer;
  }

  setRemote(description: Description, refuse: boolean): void {
    if (this.closed) throw new Error('closed');
    if (description.type === 'offer') {
      if (this.signalingState === 'have-local-offer') this.rollback();
      if (refuse) throw new Error('OperationError: refused offer');
      if (this.signalingState !== 'stable' && this.signalingState !== 'have-remote-offer') throw new Error('InvalidStateError');
      this.pendingRemote = description;
      this.signalingState = 'have-remote-offer';
      return;
    }
    if (this.signalingState !== 'have-local-offer' || !this.pendingLocal) throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
    if (refuse) throw new Error('OperationError: refused answer');
    this.currentLocal = this.pendingLocal;
    this.currentRemote = description;
    this.pendingLocal = null;
    this.signalingState = 'stable';
  }

  rollback(): void {
    if (this.signalingState === 'stable') throw new Error('InvalidStateError: nothing to roll back');
    if (this.signalingState === 'have-local-offer' && this.currentLocal) this.#ufrag = iceUfrag(this.currentLocal.sdp);
    this.pendingLocal = null;
    this.pendingRemote = null;
    this.signalingState = 'stable';
  }

  addCandidate(ufrag: string | null): void {
    if (this.closed) throw new Error('closed');
    const remote = this.pendingRemote ?? this.currentRemote;
    if (!remote) throw new Error('InvalidStateError: no remote description');
    if (ufrag !== null) this.remoteCandidateUfrags.add(ufrag);
  }

  get localUfrag(): string | null {
    return this.currentLocal ? iceUfrag(this.currentLocal.sdp) : null;
  }
  get remoteUfrag(): string | null {
    return this.currentRemote ? iceUfrag(this.currentRemote.sdp) : null;
  }
}

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

class Simulation {
  now = 0;
  #seq = 0;
  readonly #queue: Pending[] = [];
  readonly random: () => number;
  readonly machines: [NegotiationState, NegotiationState];
  readonly browsers: [SimBrowser, SimBrowser] = [new SimBrowser(0), new SimBrowser(1)];
  readonly #opQueues: [(() => void)[], (() => void)[]] = [[], []];
  readonly #busy: [boolean, boolean] = [false, false];
  readonly #timers: [Map<TimerName, number>, Map<TimerName, number>] = [new Map(), new Map()];
  readonly #outbox: { from: Side; message: RelayRequest }[] = [];
  readonly trace: string[] = [];
  /** Time ICE last became unreachable for each side (drives disconnected -> failed). */
  readonly #unreachableSince: [number | null, number | null] = [null, null];
  /** A wake-up already queued for when an unreachable side's ICE turns `failed`. */
  readonly #wakeAt: [number, number] = [-1, -1];

  constructor(
    seed: number,
    readonly scenario: Scenario,
  ) {
    this.random = rng(seed);
    const options = { maxIceRestarts: 3, disconnectedTimeoutMs: 2000, iceRestartTimeoutMs: 6000, offerTimeoutMs: 4000 };
    this.machines = [initialNegotiationState(IDS[0], IDS[1], 'offerer', options), initialNegotiationState(IDS[1], IDS[0], 'answerer', options)];
    for (const [from, to] of scenario.outages) this.at(to, () => this.#outageEnds(from, to));
    // ICE notices a path going down or coming back (the checks run after every event).
    for (const [from, to] of scenario.pathDown) {
      this.at(from, () => {});
      if (Number.isFinite(to)) this.at(to, () => {});
    }
  }

  at(time: number, run: () => void): void {
    this.#queue.push({ at: Math.max(time, this.now), seq: ++this.#seq, run });
  }

  /** Runs every event until `until`; returns how many ran. */
  runUntil(until: number): number {
    let count = 0;
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.#queue.length; i++) {
        const p = this.#queue[i]!;
        const b = best < 0 ? null : this.#queue[best]!;
        if (!b || p.at < b.at || (p.at === b.at && p.seq < b.seq)) best = i;
      }
      if (best < 0 || this.#queue[best]!.at > until) break;
      const [next] = this.#queue.splice(best, 1);
      this.now = next!.at;
      next!.run();
      this.#checkIce();
      if (++count > 200_000) throw new Error('runaway: more than 200,000 events');
    }
    this.now = Math.max(this.now, until);
    this.#checkIce();
    return count;
  }

  feed(side: Side, event: NegotiationEvent): void {
    const { state, effects } = negotiate(this.machines[side], event);
    this.machines[side] = state;
    this.trace.push(`${this.now} ${IDS[side]} <- ${describe(event)} => ${effects.map((e) => e.type + (e.type === 'note' ? `:${e.code}` : '')).join(',')}`);
    if (this.trace.length > 60) this.trace.shift();
    for (const effect of effects) this.#effect(side, effect);
  }

  signalingUp(time = this.now): boolean {
    return !this.scenario.outages.some(([from, to]) => time >= from && time < to);
  }

  pathUp(time = this.now): boolean {
    return !this.scenario.pathDown.some(([from, to]) => time >= from && time < to);
  }

  #effect(side: Side, effect: Effect): void {
    const browser = this.browsers[side];
    switch (effect.type) {
      case 'send-signal':
        this.#send(side, effect.message);
        return;
      case 'schedule': {
        const id = ++this.#seq;
        this.#timers[side].set(effect.timer, id);
        this.at(this.now + effect.ms, () => {
          if (this.#timers[side].get(effect.timer) !== id) return;
          this.#timers[side].delete(effect.timer);
          this.feed(side, { type: 'timer-fired', timer: effect.timer });
        });
        return;
      }
      case 'cancel':
        this.#timers[side].delete(effect.timer);
        return;
      case 'note':
        return;
      case 'close':
        browser.closed = true;
        browser.ice = 'closed';
        browser.channelOpen = false;
        for (const timer of [...this.#timers[side].keys()]) this.#timers[side].delete(timer);
        // The other side's channel closes too if the path still carries SCTP's abort.
        if (this.pathUp()) this.at(this.now + 50, () => this.#remoteClosed(side === 0 ? 1 : 0));
        return;
      case 'create-channel':
        return;
      default:
        this.#operation(side, effect);
    }
  }

  /** The other side closed: its channel's close reaches us; the Mesh closes our link. */
  #remoteClosed(side: Side): void {
    if (this.browsers[side].closed) return;
    this.feed(side, { type: 'channel-closed' });
    this.feed(side, { type: 'close' });
  }

  /** Browser operations run one at a time per connection, each taking a little while. */
  #operation(side: Side, effect: Effect): void {
    this.#opQueues[side].push(() => {
      const browser = this.browsers[side];
      const done = (event: NegotiationEvent | null) => {
        this.at(this.now + 1 + Math.floor(this.random() * 15), () => {
          if (event) this.feed(side, event);
          this.#busy[side] = false;
          this.#nextOperation(side);
        });
      };
      try {
        switch (effect.type) {
          case 'create-offer': {
            const offer = browser.createOffer(effect.iceRestart);
            this.#gather(side, iceUfrag(offer.sdp));
            return done({ type: 'local-description-ready', description: offer });
          }
          case 'create-answer': {
            const answer = browser.createAnswer();
            this.#gather(side, iceUfrag(answer.sdp));
            return done({ type: 'local-description-ready', description: answer });
          }
          case 'apply-remote-description':
            browser.setRemote(effect.description, this.random() < this.scenario.refuse);
            return done({ type: 'remote-description-applied', sdpType: effect.description.type });
          case 'add-candidate':
            browser.addCandidate(effect.candidate === null ? null : (effect.candidate.usernameFragment ?? null));
            return done(null);
          case 'rollback':
            browser.rollback();
            return done(null);
          default:
            return done(null);
        }
      } catch (error) {
        const sdpType = effect.type === 'apply-remote-description' ? effect.description.type : undefined;
        return done({ type: 'operation-failed', operation: effect.type, message: (error as Error).message, ...(sdpType ? { sdpType } : {}) });
      }
    });
    this.#nextOperation(side);
  }

  #nextOperation(side: Side): void {
    if (this.#busy[side]) return;
    const next = this.#opQueues[side].shift();
    if (!next) return;
    this.#busy[side] = true;
    next();
  }

  /** After a local description: a couple of candidates, then the end of candidates. */
  #gather(side: Side, ufrag: string | null): void {
    const count = 1 + Math.floor(this.random() * 2);
    for (let i = 0; i <= count; i++) {
      this.at(this.now + 5 + Math.floor(this.random() * 40) * (i + 1), () => {
        if (this.browsers[side].closed) return;
        const candidate =
          i === count
            ? null
            : { candidate: `candidate:${i} 1 udp 1 198.18.0.${side + 1} ${5000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: ufrag };
        this.feed(side, { type: 'local-candidate', candidate });
      });
    }
  }

  #send(from: Side, message: RelayRequest): void {
    if (!this.signalingUp()) {
      // The Mesh queues signals while it is not joined; some die with the old socket.
      if (this.random() >= this.scenario.lossInOutage) this.#outbox.push({ from, message });
      return;
    }
    this.#deliver(from, message);
  }

  #deliver(from: Side, message: RelayRequest): void {
    const copies = this.random() < this.scenario.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.at(this.now + Math.floor(this.random() * this.scenario.maxDelay), () => {
        // A signal still in flight when the server goes away is lost with its socket.
        if (!this.signalingUp()) return;
        this.#receive(from === 0 ? 1 : 0, message);
      });
    }
  }

  #receive(side: Side, message: RelayRequest): void {
    switch (message.type) {
      case 'offer':
        return this.feed(side, { type: 'remote-offer', sdp: message.sdp });
      case 'answer':
        return this.feed(side, { type: 'remote-answer', sdp: message.sdp });
      case 'candidate':
        return this.feed(side, { type: 'remote-candidate', candidate: message.candidate });
      case 'bye':
        // The Mesh closes its direct link to a peer that gave up on it.
        return this.feed(side, { type: 'close' });
    }
  }

  /** The rejoin after an outage: queued signals go out, non-stable links restart ICE. */
  #outageEnds(from: number, to: number): void {
    void from;
    void to;
    for (const pending of this.#outbox.splice(0)) this.#deliver(pending.from, pending.message);
    for (const side of [0, 1] as const) {
      const m = this.machines[side];
      if (!m.closed && (m.signalingState !== 'stable' || m.makingOffer)) this.feed(side, { type: 'restart-ice' });
    }
  }

  /** ICE, as both browsers would see it. */
  #checkIce(): void {
    const [a, b] = this.browsers;
    const negotiated = a.localUfrag !== null && a.localUfrag === b.remoteUfrag && b.localUfrag !== null && b.localUfrag === a.remoteUfrag;
    const candidates = negotiated && a.remoteCandidateUfrags.has(b.localUfrag!) && b.remoteCandidateUfrags.has(a.localUfrag!);
    const reachable = candidates && this.pathUp() && !a.closed && !b.closed;
    for (const side of [0, 1] as const) {
      const browser = this.browsers[side];
      if (browser.closed) continue;
      if (reachable) {
        this.#unreachableSince[side] = null;
        if (browser.ice !== 'connected') this.#setIce(side, 'connected');
        if (!browser.channelOpen) {
          browser.channelOpen = true;
          this.at(this.now + 2, () => {
            if (!this.browsers[side].closed) this.feed(side, { type: 'channel-opened' });
          });
        }
        continue;
      }
      const since = (this.#unreachableSince[side] ??= this.now);
      if (browser.ice === 'connected') this.#setIce(side, 'disconnected');
      else if (browser.ice === 'new' && browser.localUfrag !== null) this.#setIce(side, 'checking');
      else if ((browser.ice === 'disconnected' || browser.ice === 'checking') && this.now - since >= 5000) this.#setIce(side, 'failed');
      else if (browser.ice !== 'failed' && this.#wakeAt[side] !== since + 5000) {
        this.#wakeAt[side] = since + 5000;
        this.at(since + 5000, () => {});
      }
    }
  }

  #setIce(side: Side, state: IceConnectionState): void {
    this.browsers[side].ice = state;
    this.at(this.now + 1, () => {
      if (!this.browsers[side].closed && this.browsers[side].ice === state) this.feed(side, { type: 'ice-connection-state', state });
    });
  }

  verdict(): string | null {
    const [ma, mb] = this.machines;
    const [a, b] = this.browsers;
    if (ma.closed && mb.closed) return null;
    if (ma.closed !== mb.closed) return `one side closed, the other not (a closed: ${ma.closed}, b closed: ${mb.closed})`;
    for (const [m, browser, name] of [
      [ma, a, 'a'],
      [mb, b, 'b'],
    ] as const) {
      if (m.signalingState !== 'stable' || browser.signalingState !== 'stable')
        return `${name} not stable (machine ${m.signalingState}, browser ${browser.signalingState})`;
      if (m.signalingState !== browser.signalingState) return `${name}: machine and browser disagree`;
      if (m.makingOffer || m.remoteDescription === 'pending') return `${name}: an operation never finished`;
      if (browser.ice !== 'connected') return `${name}: ICE ${browser.ice}`;
      if (!browser.channelOpen || m.channelState !== 'open') return `${name}: channel not open`;
    }
    return null;
  }
}

function describe(event: NegotiationEvent): string {
  switch (event.type) {
    case 'remote-offer':
    case 'remote-answer':
      return `${event.type}(${iceUfrag(event.sdp)})`;
    case 'local-description-ready':
      return `local-${event.description.type}(${iceUfrag(event.description.sdp)})`;
    case 'ice-connection-state':
      return `ice:${event.state}`;
    case 'timer-fired':
      return `timer:${event.timer}`;
    case 'operation-failed':
      return `failed:${event.operation}`;
    default:
      return event.type;
  }
}

/** A scenario drawn from the seed: every kind of fault, in random measure. */
function scenarioFor(random: () => number): Scenario {
  const outages: [number, number][] = [];
  const pathDown: [number, number][] = [];
  const outageCount = Math.floor(random() * 3);
  for (let i = 0; i < outageCount; i++) {
    const from = Math.floor(random() * 20_000);
    outages.push([from, from + 200 + Math.floor(random() * 8000)]);
  }
  const roll = random();
  if (roll < 0.1) {
    pathDown.push([Math.floor(random() * 15_000), Infinity]);
  } else if (roll < 0.5) {
    const from = Math.floor(random() * 15_000);
    pathDown.push([from, from + 500 + Math.floor(random() * 12_000)]);
  }
  return {
    maxDelay: 1 + Math.floor(random() * 400),
    duplicate: random() * 0.15,
    refuse: random() < 0.3 ? random() * 0.25 : 0,
    outages,
    lossInOutage: random() * 0.6,
    pathDown,
  };
}

function simulate(seed: number): { ok: true } | { ok: false; why: string; trace: readonly string[] } {
  const random = rng(seed ^ 0x9e3779b9);
  const scenario = scenarioFor(random);
  const sim = new Simulation(seed, scenario);
  sim.at(0, () => sim.feed(0, { type: 'start' }));
  sim.at(Math.floor(random() * 50), () => sim.feed(1, { type: 'start' }));
  // Faults end by 30 s of virtual time; the pair then has two minutes to settle.
  sim.runUntil(150_000);
  const why = sim.verdict();
  return why === null ? { ok: true } : { ok: false, why, trace: sim.trace };
}

const RUNS = Number(process.env['SIM_RUNS'] ?? 5000);

test(`two machines converge under delays, reordering, duplicates, outages, refused descriptions and ICE failures (${RUNS} seeded runs)`, () => {
  const only = process.env['SIM_SEED'];
  const seeds = only === undefined ? Array.from({ length: RUNS }, (_, i) => i + 1) : [Number(only)];
  const failures: string[] = [];
  const started = performance.now();
  for (const seed of seeds) {
    const outcome = simulate(seed);
    if (!outcome.ok) {
      if (failures.length === 0) console.log(`seed ${seed}: ${outcome.why}\n  ${outcome.trace.slice(-25).join('\n  ')}`);
      failures.push(`seed ${seed}: ${outcome.why}`);
    }
  }
  console.log(`${seeds.length} runs in ${Math.round(performance.now() - started)} ms; ${failures.length} did not converge`);
  assert.deepEqual(failures.slice(0, 10), [], `runs that did not converge (replay one with SIM_SEED=n): ${failures.length}`);
});

test('the simulation notices a machine that never recovers (the check can fail)', () => {
  // An ICE path that is down for good must end with both sides closed; a pair stuck
  // half-way is reported. Here the restart limit is never reached because the run is cut
  // short, so the verdict must name what is wrong rather than pass.
  const sim = new Simulation(7, { maxDelay: 10, duplicate: 0, refuse: 0, outages: [], lossInOutage: 0, pathDown: [[0, Infinity]] });
  sim.at(0, () => sim.feed(0, { type: 'start' }));
  sim.at(0, () => sim.feed(1, { type: 'start' }));
  sim.runUntil(3000);
  assert.notEqual(sim.verdict(), null);
  sim.runUntil(150_000);
  assert.equal(sim.verdict(), null, 'both gave up and closed: the pair goes to the relay');
  assert.equal(sim.machines[0].closed && sim.machines[1].closed, true);
});
