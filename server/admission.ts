/**
 * Who may come in, and how fast: the allowed page origins, the server's capacity, the
 * connections per client address (counted from the HTTP upgrade on, so a flood of
 * half-finished handshakes counts too), and the joins per address and per room (each
 * join makes every browser in the room build a peer connection: a client that joins and
 * leaves in a loop must not be able to make a room's browsers do that thousands of times
 * a second). One address may take only a share of a room's join budget (a quarter), so
 * a join/leave loop from one address cannot spend the room's budget and lock everyone
 * else out of it. No sockets here: the shell asks, this answers.
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
  | {
      readonly ok: true;
      readonly address: string;
      readonly group: string;
      /**
       * false: the page's origin is not allowed. The upgrade still goes through (and counts
       * like any connection) only to be closed at once with `CLOSE_ORIGIN_REFUSED`: a page
       * sees a close code, where an HTTP 403 would read like a server it cannot reach.
       */
      readonly originAllowed: boolean;
    }
  | {
      readonly ok: false;
      readonly status: 429 | 503;
      readonly reason: string;
      readonly limit: 'max-clients' | 'connections-per-ip';
      readonly address: string;
    };

/** A join refused for its rate: which budget, and in how many ms that budget (and the others) will have one more. */
export type JoinVerdict = { readonly ok: true } | { readonly ok: false; readonly limit: 'address' | 'room-share' | 'room'; readonly retryAfterMs: number };

/** One address may take this fraction of a room's join budget (its rate and its burst). */
export const ROOM_SHARE_DIVISOR = 4;

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
  /** Each address's share of a room's budget, keyed `<room> <group>` (a room name has no spaces). */
  readonly #joinsByRoomAddress = new Map<string, number>();
  readonly #roomShare: RateLimit;

  constructor(readonly options: AdmissionOptions) {
    this.#origins = new Set(options.allowedOrigins ?? []);
    this.#trust = options.trustProxy ?? NO_PROXY;
    const { perSecond, burst } = options.joinsPerRoom;
    this.#roomShare = { perSecond: perSecond / ROOM_SHARE_DIVISOR, burst: Math.max(1, Math.floor(burst / ROOM_SHARE_DIVISOR)) };
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
    if (this.#connections >= this.options.maxClients) return { ok: false, status: 503, reason: 'Server full', limit: 'max-clients', address };
    const group = addressGroup(address);
    const count = this.#perGroup.get(group) ?? 0;
    if (this.options.maxConnectionsPerIp > 0 && count >= this.options.maxConnectionsPerIp) {
      return { ok: false, status: 429, reason: 'Too many connections from this address', limit: 'connections-per-ip', address };
    }
    this.#connections++;
    this.#perGroup.set(group, count + 1);
    // No Origin at all (not a browser) is refused the same way, so the terminal client is told too.
    const originAllowed = this.#origins.size === 0 || (origin !== undefined && this.#origins.has(origin));
    return { ok: true, address, group, originAllowed };
  }

  release(group: string): void {
    this.#connections = Math.max(0, this.#connections - 1);
    const count = (this.#perGroup.get(group) ?? 1) - 1;
    if (count <= 0) this.#perGroup.delete(group);
    else this.#perGroup.set(group, count);
  }

  /**
   * Whether a join from `group` into `room` may happen now; takes one of each budget if
   * so: the address's, its share of the room's, and the room's. The room's budget is
   * reached only through a share, so one address spends at most a quarter of it and the
   * rest stays for everyone else. (Many addresses together can still spend it: that is
   * what it is for, keeping a room's browsers from building connections without end.)
   */
  allowJoin(group: string, room: string, now: number): JoinVerdict {
    const { joinsPerIp, joinsPerRoom } = this.options;
    const share = `${room} ${group}`;
    // All checked before any is taken, so a refusal costs no budget anything.
    const waits = [
      ['address', waitMs(this.#joinsByGroup, group, joinsPerIp, now)],
      ['room-share', waitMs(this.#joinsByRoomAddress, share, this.#roomShare, now)],
      ['room', waitMs(this.#joinsByRoom, room, joinsPerRoom, now)],
    ] as const;
    const refused = waits.find(([, ms]) => ms > 0);
    // When to try again: when every one of them has a token (a refusal takes none).
    if (refused) return { ok: false, limit: refused[0], retryAfterMs: Math.max(...waits.map(([, ms]) => ms)) };
    take(this.#joinsByGroup, group, joinsPerIp, now);
    take(this.#joinsByRoomAddress, share, this.#roomShare, now);
    take(this.#joinsByRoom, room, joinsPerRoom, now);
    return { ok: true };
  }

  /** Forgets budgets that are whole again (they would start whole anyway); the heartbeat calls it. */
  sweep(now: number): void {
    for (const map of [this.#joinsByGroup, this.#joinsByRoom, this.#joinsByRoomAddress]) for (const [key, wholeAt] of map) if (wholeAt <= now) map.delete(key);
  }
}

/** What one token costs, in whole ms of refill (rounded up: never faster than the rate). */
const costMs = (limit: RateLimit) => Math.ceil(1000 / limit.perSecond);

/** In how many whole ms `key`'s budget has a token (0: it has one now). */
function waitMs(budgets: Map<string, number>, key: string, limit: RateLimit, now: number): number {
  const wholeAt = Math.max(budgets.get(key) ?? now, now);
  return Math.max(0, wholeAt + costMs(limit) - now - limit.burst * costMs(limit));
}

function take(budgets: Map<string, number>, key: string, limit: RateLimit, now: number): void {
  if (budgets.size >= SWEEP_AT && !budgets.has(key)) for (const [other, wholeAt] of budgets) if (wholeAt <= now) budgets.delete(other);
  budgets.set(key, Math.max(budgets.get(key) ?? now, now) + costMs(limit));
}
