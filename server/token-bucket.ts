const monotonicNow = (): number => performance.now();

/** A token bucket: `rate` tokens per second, holding at most `burst`. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly now: () => number = monotonicNow,
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The same rule on plain fields of any object (the server keeps them on each client). */
export function takeToken(holder: { tokens: number; tokensAt: number }, rate: number, burst: number, now: number = performance.now()): boolean {
  holder.tokens = Math.min(burst, holder.tokens + ((now - holder.tokensAt) / 1000) * rate);
  holder.tokensAt = now;
  if (holder.tokens < 1) return false;
  holder.tokens -= 1;
  return true;
}
