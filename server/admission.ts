/**
 * Who may come in, and how fast: the allowed page origins, the server's capacity, the
 * connections per client address (counted from the HTTP upgrade on, so a flood of
 * half-finished handshakes counts too), and the joins per address and per room (each
 * join makes every browser in the room build a peer connection: a client that joins and
 * leaves in a loop must not be able to make a room's browsers do that thousands of times
 * a second). No sockets here: the shell asks, this answers.
 */
import { addressGroup, clientAddress, NO_PROXY, type TrustProxy } from './client-address.js';

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

/** Above this many remembered addresses (or rooms), the ones whose budget is whole again are forgotten. */
const SWEEP_AT = 10_000;

export class Admission {
  readonly #origins: ReadonlySet<string>;
  readonly #trust: TrustProxy;
  #connections = 0;
  readonly #perGroup = new Map<string, number>();
  /**
   * Join budgets, one number each: when the budget is whole again (whole ms). A token
   * bucket kept this way costs a map entry and no object per address: 10,000 clients from
   * 10,000 addresses show any per-address object in the server's RSS (bench).
   */
  readonly #joinsByGroup = new Map<string, number>();
  readonly #joinsByRoom = new Map<string, number>();

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

  /** Whether a join from `group` into `room` may happen now; takes one of each budget if so. */
  allowJoin(group: string, room: string, now: number): 'ok' | 'address' | 'room' {
    const { joinsPerIp, joinsPerRoom } = this.options;
    // Check both before taking either, so a refusal costs the other budget nothing.
    if (!hasToken(this.#joinsByGroup, group, joinsPerIp, now)) return 'address';
    if (!hasToken(this.#joinsByRoom, room, joinsPerRoom, now)) return 'room';
    take(this.#joinsByGroup, group, joinsPerIp, now);
    take(this.#joinsByRoom, room, joinsPerRoom, now);
    return 'ok';
  }

  /** Forgets budgets that are whole again (they would start whole anyway); the heartbeat calls it. */
  sweep(now: number): void {
    for (const map of [this.#joinsByGroup, this.#joinsByRoom]) for (const [key, wholeAt] of map) if (wholeAt <= now) map.delete(key);
  }
}

/** What one token costs, in whole ms of refill (rounded up: never faster than the rate). */
const costMs = (limit: RateLimit) => Math.ceil(1000 / limit.perSecond);

function hasToken(budgets: Map<string, number>, key: string, limit: RateLimit, now: number): boolean {
  const wholeAt = Math.max(budgets.get(key) ?? now, now);
  return wholeAt + costMs(limit) - now <= limit.burst * costMs(limit);
}

function take(budgets: Map<string, number>, key: string, limit: RateLimit, now: number): void {
  if (budgets.size >= SWEEP_AT && !budgets.has(key)) for (const [other, wholeAt] of budgets) if (wholeAt <= now) budgets.delete(other);
  budgets.set(key, Math.max(budgets.get(key) ?? now, now) + costMs(limit));
}
