/**
 * Rate limiting: a token bucket of `rate` tokens per second holding at most `burst`,
 * kept as two plain fields on the holder (the server keeps them on each client: no extra
 * object per connection).
 */
export function takeToken(holder: { tokens: number; tokensAt: number }, rate: number, burst: number, now: number = performance.now()): boolean {
  holder.tokens = Math.min(burst, holder.tokens + ((now - holder.tokensAt) / 1000) * rate);
  holder.tokensAt = now;
  if (holder.tokens < 1) return false;
  holder.tokens -= 1;
  return true;
}
