/**
 * Who may come in, and how fast: the allowed page origins, the server's capacity, the
 * connections per client address (counted from the HTTP upgrade on, so a flood of
 * half-finished handshakes counts too), and the joins per address and per room (each
 * join makes every browser in the room build a peer connection: a client that joins and
 * leaves in a loop must not be able to make a room's browsers do that thousands of times
 * a second). No sockets here: the shell asks, this answers.
 */
import { addressGroup, clientAddress, NO_PROXY, type TrustProxy } from './client-address.js';
import { TOKEN, takeToken } from './token-bucket.js';

export interface RateLimit {
  /** Sustained rate. */
  readonly perSecond: number;
  /** How many at once above it. */
  readonly burst: number;
}

export interface AdmissionOptions {
  /** Allowed `Origin`s (exact match); empty allows any. */
  readonly allowedOrigins?: readonly string[];
  readonly maxClients: number;
  /** Connections from one address (an IPv6 /64); 0: no limit. */
  readonly maxConnectionsPerIp: number;
  readonly trustProxy?: TrustProxy;
  readonly joinsPerIp: RateLimit;
  readonly joinsPerRoom: RateLimit;
}

export type UpgradeVerdict =
  | { readonly ok: true; readonly address: string; readonly group: string }
  | {
      readonly ok: false;
      readonly status: 403 | 429 | 503;
      readonly reason: string;
      readonly limit: 'origin' | 'max-clients' | 'connections-per-ip';
      readonly address: string;
    };

interface Bucket {
  milliTokens: number;
  tokensAt: number;
}

/** Above this many buckets, full (idle) ones are forgotten. */
const BUCKET_SWEEP_AT = 10_000;

export class Admission {
  readonly #origins: ReadonlySet<string>;
  readonly #trust: TrustProxy;
  #connections = 0;
  readonly #perGroup = new Map<string, number>();
  readonly #joinsByGroup = new Map<string, Bucket>();
  readonly #joinsByRoom = new Map<string, Bucket>();

  constructor(readonly options: AdmissionOptions) {
    this.#origins = new Set(options.allowedOrigins ?? []);
    this.#trust = options.trustProxy ?? NO_PROXY;
  }

  /** Connections counted now: open ones and upgrades under way. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * At the HTTP upgrade request. An admitted connection is counted at once; the caller
   * must call `release(group)` exactly once when its TCP socket closes, whether or not
   * the WebSocket handshake finished.
   */
  admit(origin: string | undefined, remote: string | undefined, forwardedFor: string | string[] | undefined): UpgradeVerdict {
    const address = clientAddress(remote, forwardedFor, this.#trust);
    if (this.#origins.size > 0 && (origin === undefined || !this.#origins.has(origin))) {
      return { ok: false, status: 403, reason: 'Origin not allowed', limit: 'origin', address };
    }
    if (this.#connections >= this.options.maxClients) return { ok: false, status: 503, reason: 'Server full', limit: 'max-clients', address };
    const group = addressGroup(address);
    const count = this.#perGroup.get(group) ?? 0;
    if (this.options.maxConnectionsPerIp > 0 && count >= this.options.maxConnectionsPerIp) {
      return { ok: false, status: 429, reason: 'Too many connections from this address', limit: 'connections-per-ip', address };
    }
    this.#connections++;
    this.#perGroup.set(group, count + 1);
    return { ok: true, address, group };
  }

  release(group: string): void {
    this.#connections = Math.max(0, this.#connections - 1);
    const count = (this.#perGroup.get(group) ?? 1) - 1;
    if (count <= 0) this.#perGroup.delete(group);
    else this.#perGroup.set(group, count);
  }

  /** Whether a join from `group` into `room` may happen now; takes a token of each if so. */
  allowJoin(group: string, room: string, now: number): 'ok' | 'address' | 'room' {
    const byGroup = bucket(this.#joinsByGroup, group, this.options.joinsPerIp, now);
    const byRoom = bucket(this.#joinsByRoom, room, this.options.joinsPerRoom, now);
    const { joinsPerIp, joinsPerRoom } = this.options;
    // Check both before taking either, so a refusal costs the other budget nothing.
    if (!hasToken(byGroup, joinsPerIp, now)) return 'address';
    if (!hasToken(byRoom, joinsPerRoom, now)) return 'room';
    takeToken(byGroup, joinsPerIp.perSecond, joinsPerIp.burst, now);
    takeToken(byRoom, joinsPerRoom.perSecond, joinsPerRoom.burst, now);
    return 'ok';
  }
}

function bucket(map: Map<string, Bucket>, key: string, limit: RateLimit, now: number): Bucket {
  let found = map.get(key);
  if (!found) {
    if (map.size >= BUCKET_SWEEP_AT) sweep(map, limit, now);
    found = { milliTokens: limit.burst * TOKEN, tokensAt: now };
    map.set(key, found);
  }
  return found;
}

function hasToken(holder: Bucket, limit: RateLimit, now: number): boolean {
  return Math.min(limit.burst * TOKEN, holder.milliTokens + (now - holder.tokensAt) * limit.perSecond) >= TOKEN;
}

/** Forgets buckets that have refilled: they would start full anyway. */
function sweep(map: Map<string, Bucket>, limit: RateLimit, now: number): void {
  for (const [key, holder] of map) {
    if (holder.milliTokens + (now - holder.tokensAt) * limit.perSecond >= limit.burst * TOKEN) map.delete(key);
  }
}
