/**
 * One comparison of safety codes with one peer over the open data channel, commit then
 * reveal (protocol/chat.ts): either side may start it; the other answers with its own
 * commitment at once. Each side reveals its nonce only once it holds the other's
 * commitment, checks the other's reveal against it, and computes the code.
 */
import type { VerifyCommitMessage, VerifyRevealMessage } from '../protocol/index.js';
import { commitmentTo, newNonce, safetyCode, type ConnectionFingerprints } from './safety-code.js';

export type VerificationOutcome =
  | { readonly ok: true; readonly code: string; readonly fingerprints: ConnectionFingerprints; readonly startedByPeer: boolean }
  | { readonly ok: false; readonly reason: string };

export interface VerificationParties {
  readonly selfId: string;
  readonly peerId: string;
  /** Reads the connection's fingerprints (once the reveals are in). */
  fingerprints(): Promise<ConnectionFingerprints | null>;
  /** Sends on the channel; false if it could not. */
  send(message: VerifyCommitMessage | VerifyRevealMessage): boolean;
}

export class PeerVerification {
  #nonce: string | null = null;
  /** Our commitment on its way (hashing is asynchronous): nothing is revealed before it went out. */
  #committing: Promise<void> | null = null;
  #committed = false;
  #theirCommit: string | null = null;
  #revealed = false;
  #startedByPeer = false;
  #settled: VerificationOutcome | null = null;
  #resolve: ((outcome: VerificationOutcome) => void) | null = null;
  readonly outcome: Promise<VerificationOutcome>;

  constructor(readonly parties: VerificationParties) {
    this.outcome = new Promise((resolve) => (this.#resolve = resolve));
  }

  get settled(): VerificationOutcome | null {
    return this.#settled;
  }

  get startedByPeer(): boolean {
    return this.#startedByPeer;
  }

  /** Starts (or joins) the exchange from our side. */
  async start(): Promise<VerificationOutcome> {
    await this.#commit();
    return this.outcome;
  }

  /** A verify message from the peer. Returns true when it started the exchange. */
  async receive(message: VerifyCommitMessage | VerifyRevealMessage): Promise<boolean> {
    if (this.#settled) return false;
    if (message.type === 'verify-commit') {
      if (this.#theirCommit !== null) {
        this.#fail('The peer committed twice in one comparison.');
        return false;
      }
      this.#theirCommit = message.commit;
      const started = this.#committing === null;
      this.#startedByPeer = started;
      await this.#commit();
      await this.#reveal();
      return started;
    }
    const failure = await this.#checkReveal(message.nonce);
    if (failure) {
      this.#fail(failure);
      return false;
    }
    const fingerprints = await this.parties.fingerprints();
    if (!fingerprints) {
      this.#fail('The connection has no DTLS fingerprints to compare.');
      return false;
    }
    const code = await safetyCode(
      { id: this.parties.selfId, fingerprint: fingerprints.local, nonce: this.#nonce! },
      { id: this.parties.peerId, fingerprint: fingerprints.remote, nonce: message.nonce },
    );
    this.#settle({ ok: true, code, fingerprints, startedByPeer: this.#startedByPeer });
    return false;
  }

  async #checkReveal(nonce: string): Promise<string | null> {
    // The peer saw our commitment before revealing: so we have committed, and so have they.
    if (this.#theirCommit === null || this.#nonce === null) return 'The peer revealed before both sides had committed.';
    if ((await commitmentTo(nonce)) !== this.#theirCommit) return 'The peer’s nonce does not match its commitment.';
    return null;
  }

  /** The connection went away mid-way. */
  abandon(reason: string): void {
    this.#fail(reason);
  }

  async #commit(): Promise<void> {
    this.#committing ??= (async () => {
      const nonce = newNonce();
      const commit = await commitmentTo(nonce);
      this.#nonce = nonce;
      if (!this.parties.send({ type: 'verify-commit', commit })) this.#fail('The channel to the peer is closed.');
      this.#committed = true;
    })();
    await this.#committing;
    await this.#reveal();
  }

  async #reveal(): Promise<void> {
    if (this.#revealed || !this.#committed || this.#nonce === null || this.#theirCommit === null || this.#settled) return;
    this.#revealed = true;
    if (!this.parties.send({ type: 'verify-reveal', nonce: this.#nonce })) this.#fail('The channel to the peer is closed.');
  }

  #fail(reason: string): void {
    this.#settle({ ok: false, reason });
  }

  #settle(outcome: VerificationOutcome): void {
    if (this.#settled) return;
    this.#settled = outcome;
    this.#resolve?.(outcome);
  }
}
