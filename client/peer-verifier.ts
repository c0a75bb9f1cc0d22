/**
 * The mesh's safety-code comparisons: one at a time per peer connection (a new
 * connection has new certificates, so it starts afresh), and what the user said of each
 * ("it matches" / "it doesn't"), kept for that connection only.
 */
import type { VerifyCommitMessage, VerifyRevealMessage } from '../protocol/index.js';
import type { PeerLink } from './peer-link.js';
import { PeerVerification, type VerificationOutcome } from './peer-verification.js';
import { connectionFingerprints } from './safety-code.js';

export interface VerifierHooks {
  /** A comparison finished (either side started it): both people can now read the code. */
  settled(id: string, outcome: VerificationOutcome): void;
}

export class PeerVerifier {
  readonly #running = new WeakMap<PeerLink, PeerVerification>();
  readonly #verdicts = new WeakMap<PeerLink, { readonly code: string; readonly match: boolean }>();
  readonly #codes = new WeakMap<PeerLink, string>();

  constructor(
    readonly selfId: () => string | null,
    readonly hooks: VerifierHooks,
  ) {}

  /**
   * Starts a comparison with the peer of `link`, or joins the one under way; a code
   * compared but not yet answered (the peer asked, and its person is reading it out) is
   * the one to show, not a new one.
   */
  start(id: string, link: PeerLink): Promise<VerificationOutcome> {
    const running = this.#running.get(link);
    if (running && (!running.settled || (running.settled.ok && !this.#verdicts.has(link)))) return running.outcome;
    return this.#begin(id, link).start();
  }

  /** A verify message from the peer of `link`. */
  receive(id: string, link: PeerLink, message: VerifyCommitMessage | VerifyRevealMessage): void {
    let verification = this.#running.get(link);
    // A commitment after a finished comparison starts the next one.
    if (!verification || (verification.settled && message.type === 'verify-commit')) verification = this.#begin(id, link);
    void verification.receive(message);
  }

  /** The code of the last comparison on this connection, if one finished. */
  codeOf(link: PeerLink): string | null {
    return this.#codes.get(link) ?? null;
  }

  /** What the user said of this connection's code: true (it matches), false, or null (not said). */
  verdictOf(link: PeerLink): boolean | null {
    return this.#verdicts.get(link)?.match ?? null;
  }

  /** Records the user's verdict on the code they just compared; false if there is no code. */
  confirm(link: PeerLink, match: boolean): string | null {
    const code = this.#codes.get(link);
    if (!code) return null;
    this.#verdicts.set(link, { code, match });
    return code;
  }

  #begin(id: string, link: PeerLink): PeerVerification {
    const selfId = this.selfId() ?? '';
    const verification = new PeerVerification({
      selfId,
      peerId: id,
      fingerprints: () => connectionFingerprints(link.pc),
      send: (message) => link.sendTrust(message),
    });
    this.#running.set(link, verification);
    void verification.outcome.then((outcome) => {
      if (this.#running.get(link) !== verification) return;
      if (outcome.ok) {
        this.#codes.set(link, outcome.code);
        // A new code: what was said of the old one no longer holds.
        this.#verdicts.delete(link);
      }
      this.hooks.settled(id, outcome);
    });
    return verification;
  }
}
