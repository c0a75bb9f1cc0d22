/**
 * The mesh's safety-code comparisons: one at a time per peer connection (a new
 * connection has new certificates, so it starts afresh), and what the user said of each
 * ("it matches" / "it doesn't"), kept for that connection only.
 */
import type { VerifyCommitMessage, VerifyRevealMessage } from '../protocol/index.js';
import { PeerVerification, type VerificationOutcome } from './peer-verification.js';
import type { TrustChannel } from './trust-channel.js';

export interface VerifierHooks {
  /** A comparison finished (either side started it): both people can now read the code. */
  settled(id: string, outcome: VerificationOutcome): void;
}

export class PeerVerifier {
  readonly #running = new WeakMap<TrustChannel, PeerVerification>();
  readonly #verdicts = new WeakMap<TrustChannel, { readonly code: string; readonly match: boolean }>();
  readonly #codes = new WeakMap<TrustChannel, string>();

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
    if (!verification || (verification.settled && message.type === 'verify-commit')) verification = this.#begin(id, channel);
    void verification.receive(message);
  }

  /** The code of the last comparison on this connection, if one finished. */
  codeOf(channel: TrustChannel): string | null {
    return this.#codes.get(channel) ?? null;
  }

  /** What the user said of this connection's code: true (it matches), false, or null (not said). */
  verdictOf(channel: TrustChannel): boolean | null {
    return this.#verdicts.get(channel)?.match ?? null;
  }

  /** Records the user's verdict on the code they just compared; false if there is no code. */
  confirm(channel: TrustChannel, match: boolean): string | null {
    const code = this.#codes.get(channel);
    if (!code) return null;
    this.#verdicts.set(channel, { code, match });
    return code;
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
