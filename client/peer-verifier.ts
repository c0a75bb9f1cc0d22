/**
 * The mesh's safety-code comparisons: one at a time per peer connection (a new
 * connection has new certificates, so it starts afresh), and what the user said of each
 * ("it matches" / "it doesn't"), kept for that connection only, with the name the peer
 * had when it was said. Comparisons a peer starts are answered at once, but only a few
 * in a row: each one is a guess for someone in the middle.
 */
import type { VerifyCommitMessage, VerifyRevealMessage } from '../protocol/index.js';
import { PeerVerification, type VerificationOutcome } from './peer-verification.js';
import type { TrustChannel } from './trust-channel.js';

export interface VerifierHooks {
  /** A comparison finished (either side started it): both people can now read the code. */
  settled(id: string, outcome: VerificationOutcome): void;
  /** The peer started more comparisons than are answered: this one is ignored. */
  limited(id: string): void;
}

/** Comparisons a peer may start in a row, and how often one more is allowed after that. */
const PEER_STARTS_BURST = 3;
const PEER_START_EVERY_MS = 20_000;

export interface Verdict {
  readonly code: string;
  readonly match: boolean;
  /** The peer's name when the user said it. */
  readonly name: string;
}

export class PeerVerifier {
  readonly #running = new WeakMap<TrustChannel, PeerVerification>();
  readonly #verdicts = new WeakMap<TrustChannel, Verdict>();
  readonly #codes = new WeakMap<TrustChannel, string>();
  /** Per peer: comparisons it may still start now, and when that was counted. */
  readonly #allowance = new Map<string, { left: number; at: number }>();

  constructor(
    readonly selfId: () => string | null,
    readonly hooks: VerifierHooks,
  ) {}

  /**
   * Starts a comparison with the peer of `channel`, or joins the one under way; a code
   * compared but not yet answered (the peer asked, and its person is reading it out) is
   * the one to show, not a new one.
   */
  start(id: string, channel: TrustChannel): Promise<VerificationOutcome> {
    const running = this.#running.get(channel);
    if (running && (!running.settled || (running.settled.ok && !this.#verdicts.has(channel)))) return running.outcome;
    return this.#begin(id, channel).start();
  }

  /** A verify message from the peer of `channel`. */
  receive(id: string, channel: TrustChannel, message: VerifyCommitMessage | VerifyRevealMessage): void {
    let verification = this.#running.get(channel);
    // A commitment after a finished comparison starts the next one.
    if (!verification || (verification.settled && message.type === 'verify-commit')) {
      if (message.type === 'verify-commit' && !this.#mayStart(id)) {
        this.hooks.limited(id);
        return;
      }
      verification = this.#begin(id, channel);
    }
    void verification.receive(message);
  }

  /** Takes one of the peer's allowed starts (a token bucket: a few at once, then one per PEER_START_EVERY_MS). */
  #mayStart(id: string, now = Date.now()): boolean {
    const allowance = this.#allowance.get(id) ?? { left: PEER_STARTS_BURST, at: now };
    const earned = Math.floor((now - allowance.at) / PEER_START_EVERY_MS);
    if (earned > 0) {
      allowance.left = Math.min(PEER_STARTS_BURST, allowance.left + earned);
      allowance.at += earned * PEER_START_EVERY_MS;
    }
    this.#allowance.set(id, allowance);
    if (allowance.left === 0) return false;
    allowance.left--;
    return true;
  }

  /** The peer left. */
  forget(id: string): void {
    this.#allowance.delete(id);
  }

  /** The code of the last comparison on this connection, if one finished. */
  codeOf(channel: TrustChannel): string | null {
    return this.#codes.get(channel) ?? null;
  }

  /** What the user said of this connection's code (null: not said). */
  verdictOf(channel: TrustChannel): Verdict | null {
    return this.#verdicts.get(channel) ?? null;
  }

  /** Records the user's verdict on the code they just compared, with the peer's name now; null if there is no code. */
  confirm(channel: TrustChannel, match: boolean, name: string): string | null {
    const code = this.#codes.get(channel);
    if (!code) return null;
    this.#verdicts.set(channel, { code, match, name });
    return code;
  }

  /** The same keys as a connection before: its code and verdict hold for this one too. */
  carryOver(from: TrustChannel, to: TrustChannel): void {
    const code = this.#codes.get(from);
    const verdict = this.#verdicts.get(from);
    if (code && !this.#codes.has(to)) this.#codes.set(to, code);
    if (verdict && !this.#verdicts.has(to)) this.#verdicts.set(to, verdict);
  }

  #begin(id: string, channel: TrustChannel): PeerVerification {
    const selfId = this.selfId() ?? '';
    const verification = new PeerVerification({
      selfId,
      peerId: id,
      fingerprints: () => channel.fingerprints(),
      send: (message) => channel.send(message),
    });
    this.#running.set(channel, verification);
    void verification.outcome.then((outcome) => {
      if (this.#running.get(channel) !== verification) return;
      if (outcome.ok) {
        this.#codes.set(channel, outcome.code);
        // A new code: what was said of the old one no longer holds.
        this.#verdicts.delete(channel);
      }
      this.hooks.settled(id, outcome);
    });
    return verification;
  }
}
