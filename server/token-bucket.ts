/**
 * Rate limiting: a token bucket of `rate` tokens per second holding at most `burst`,
 * kept as two plain fields on the holder (the server keeps them on each client: no extra
 * object per connection). Integers throughout: the bucket holds thousandths of a token
 * and the clock is in whole milliseconds, so a second's `rate` tokens arrive exactly as
 * `rate` thousandths per millisecond, with no rounding to drift.
 */
export const TOKEN = 1000;

/** Now, in whole milliseconds (what `takeToken` expects). */
export const wholeMs = (): number => Math.floor(performance.now());

export function takeToken(holder: { milliTokens: number; tokensAt: number }, rate: number, burst: number, now: number = wholeMs()): boolean {
  holder.milliTokens = Math.min(burst * TOKEN, holder.milliTokens + (now - holder.tokensAt) * rate);
  holder.tokensAt = now;
  if (holder.milliTokens < TOKEN) return false;
  holder.milliTokens -= TOKEN;
  return true;
}
