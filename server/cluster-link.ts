/**
 * One signaling process's link to the others through Redis: two connections (commands,
 * and a subscription to this process's own channel), the scripts that change shared room
 * state, the process's liveness key, and the reaping of processes that died.
 *
 * ioredis restores the subscription after a reconnect. While either connection is down
 * the link is "down": nothing is queued for later (commands fail at once), and the
 * router refuses joins until it is up again.
 *
 * Redis is inside the service's trust boundary: whoever can read or write it sees and
 * changes room state. With `clusterSecret` the frames relayed between processes are sealed
 * (cluster-seal.ts); a frame that is not genuine is dropped, counted and logged. Room
 * events cannot be: Redis's scripts make them from the state Redis holds.
 */
import { randomBytes } from 'node:crypto';
import { ClusterSeal, SEALED } from './cluster-seal.js';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { DEAD_NODES_SCRIPT, JOIN_SCRIPT, LEAVE_SCRIPT, RENAME_SCRIPT, REAP_SCRIPT, SYNC_SCRIPT } from './redis-scripts.js';
import { silentLogger, type Logger } from './log.js';

export interface ClusterSettings {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string;
  /** Key and channel prefix, so several services can share one Redis. Default `p2p-chat:`. */
  readonly prefix?: string;
  /** How long the peers of a process that died may take to come back elsewhere before they are announced gone. Default 10 s. */
  readonly graceMs?: number;
  /** How often the liveness key is renewed (it expires after three times this). Default 1 s. */
  readonly livenessMs?: number;
  /**
   * A secret every process of the service shares (at least 16 characters): the frames
   * relayed between processes (SDP, candidates, relayed chat) are then encrypted and
   * authenticated, so whoever can read Redis cannot read them and whoever can publish on
   * it cannot forge them. Processes with different secrets drop each other's frames (and
   * log it). Default: none (frames cross Redis in clear, and a warning is logged at start).
   */
  readonly clusterSecret?: string;
}

/** Why a frame from Redis was dropped (`p2p_chat_cluster_rejected_frames_total{reason}`). */
export type RejectReason = 'unsealed' | 'forged' | 'replayed' | 'no-secret' | 'malformed';

const REJECT_HINT: Record<RejectReason, string> = {
  unsealed: 'a frame in clear on a process with --cluster-secret: another process runs without the secret, or someone publishes on Redis',
  forged: 'a sealed frame that does not authenticate: another process has a different --cluster-secret, or someone publishes on Redis',
  replayed: 'a genuine frame published again: someone replays frames on Redis',
  'no-secret': 'a sealed frame on a process without --cluster-secret: give every process of the service the same secret',
  malformed: 'a frame that is neither sealed, clear nor an event: someone publishes on Redis',
};

/** A rejected frame is logged at most this often per reason (with the count since). */
const REJECT_LOG_MS = 10_000;

export const DEFAULT_CLUSTER_GRACE_MS = 10_000;
const DEFAULT_LIVENESS_MS = 1000;

/** A change to a room, in the order Redis made it. */
export type ClusterEvent =
  | {
      readonly t: 'j';
      readonly q: number;
      readonly r: string;
      readonly i: string;
      readonly c: string;
      readonly n: string;
      readonly e: string;
      readonly m?: readonly string[];
    }
  | {
      readonly t: 'l';
      readonly q: number;
      readonly r: string;
      readonly i: string;
      readonly c: string;
      readonly n: string;
      readonly a: number;
      readonly l: number;
      readonly x: number;
      /** 1: the peer may be back in a moment (`returning`). */
      readonly b?: number;
    }
  /** A member's new entry (a rename). */
  | { readonly t: 'n'; readonly q: number; readonly r: string; readonly i: string; readonly c: string; readonly n: string; readonly e: string }
  /** A room's whole membership (m: id, entry, id, entry, ...; an empty room may come as {}). */
  | { readonly t: 's'; readonly r: string; readonly m: readonly string[] | Record<string, never> };

export interface ClusterHandlers {
  event(event: ClusterEvent): void;
  /** A frame for one of this process's clients, from a peer on another process. */
  frame(to: string, from: string, room: string, frame: Buffer): void;
  /** The link went up or down. */
  status(up: boolean): void;
}

type JoinOutcome = 'ok' | 'full' | 'moved';

interface ClusterCommands {
  p2pJoin(...args: string[]): Promise<JoinOutcome>;
  p2pLeave(...args: string[]): Promise<number>;
  p2pRename(...args: string[]): Promise<number>;
  p2pReap(...args: string[]): Promise<number>;
  p2pDeadNodes(...args: string[]): Promise<string[]>;
  p2pSync(...args: string[]): Promise<number>;
}

export class ClusterLink {
  /** This process in the service: random for each start, so a restarted process is a new one. */
  readonly node = randomBytes(6).toString('base64url');
  readonly prefix: string;
  readonly graceMs: number;
  readonly #livenessMs: number;
  readonly #commands: RedisClient & ClusterCommands;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #log: Logger;
  readonly #seal: ClusterSeal | null;
  /** Frames from Redis dropped, by reason (for /metrics). */
  readonly rejectedFrames = new Map<RejectReason, number>();
  /** When each reason was last logged, and how many were dropped since. */
  readonly #rejectLog = new Map<RejectReason, { at: number; since: number }>();
  #up = false;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Processes seen dead, and since when (ms): reaped once the grace has passed. */
  readonly #deadSince = new Map<string, number>();

  private constructor(
    Redis: typeof import('ioredis').Redis,
    readonly settings: ClusterSettings,
    readonly handlers: ClusterHandlers,
    log: Logger,
  ) {
    this.prefix = settings.prefix ?? 'p2p-chat:';
    this.graceMs = settings.graceMs ?? DEFAULT_CLUSTER_GRACE_MS;
    this.#livenessMs = settings.livenessMs ?? DEFAULT_LIVENESS_MS;
    this.#channel = `${this.prefix}c:${this.node}`;
    this.#log = log;
    this.#seal = settings.clusterSecret === undefined ? null : new ClusterSeal(settings.clusterSecret, this.node);
    if (!this.#seal)
      log({
        event: 'cluster-unsealed',
        level: 'warn',
        message: 'Redis without --cluster-secret: whoever can read or write it can read and forge the signaling relayed between processes',
      });
    const options: RedisOptions = {
      // Fail at once while down instead of piling commands up for later.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(100 * times, 1000),
      lazyConnect: true,
    };
    this.#commands = new Redis(settings.url, { ...options, connectionName: `p2p-chat-${this.node}` }) as RedisClient & ClusterCommands;
    // The subscriber may queue its SUBSCRIBE until it is connected.
    this.#subscriber = new Redis(settings.url, { ...options, enableOfflineQueue: true, connectionName: `p2p-chat-${this.node}-sub` });
    this.#commands.defineCommand('p2pJoin', { numberOfKeys: 0, lua: JOIN_SCRIPT });
    this.#commands.defineCommand('p2pLeave', { numberOfKeys: 0, lua: LEAVE_SCRIPT });
    this.#commands.defineCommand('p2pRename', { numberOfKeys: 0, lua: RENAME_SCRIPT });
    this.#commands.defineCommand('p2pReap', { numberOfKeys: 0, lua: REAP_SCRIPT });
    this.#commands.defineCommand('p2pDeadNodes', { numberOfKeys: 0, lua: DEAD_NODES_SCRIPT });
    this.#commands.defineCommand('p2pSync', { numberOfKeys: 0, lua: SYNC_SCRIPT });
    for (const [name, connection] of [
      ['commands', this.#commands],
      ['subscriber', this.#subscriber],
    ] as const) {
      // An error event without a listener would crash the process: log it, the client reconnects.
      connection.on('error', (error: Error & { code?: string }) =>
        this.#log({ event: 'redis-error', level: 'warn', connection: name, code: error.code ?? error.message }),
      );
      connection.on('ready', () => this.#checkStatus());
      connection.on('close', () => this.#checkStatus());
      connection.on('end', () => this.#checkStatus());
    }
    // As bytes: a frame for a client goes to its socket as it came, never decoded and
    // encoded again (bench: server CPU per frame relayed across processes).
    this.#subscriber.on('messageBuffer', (_channel: Buffer, data: Buffer) => this.#onMessage(data));
  }

  /**
   * Connects both connections (up to `waitMs` for Redis to answer; a server whose Redis is
   * not there yet starts anyway, "down", and comes up when Redis does).
   */
  static async open(settings: ClusterSettings, handlers: ClusterHandlers, log: Logger = silentLogger, waitMs = 5000): Promise<ClusterLink> {
    const { Redis } = await import('ioredis');
    const link = new ClusterLink(Redis, settings, handlers, log);
    await link.#start(waitMs);
    return link;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Whether frames between processes are sealed (`clusterSecret`). */
  get sealed(): boolean {
    return this.#seal !== null;
  }

  async #start(waitMs: number): Promise<void> {
    const connected = Promise.allSettled([this.#commands.connect(), this.#subscriber.connect()]);
    void this.#subscriber.subscribe(this.#channel).catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([connected, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    this.#timer = setInterval(() => void this.#tick(), this.#livenessMs);
    this.#timer.unref();
    await this.#tick();
    this.#checkStatus();
  }

  #checkStatus(): void {
    if (this.#closed) return;
    const up = this.#commands.status === 'ready' && this.#subscriber.status === 'ready';
    if (up === this.#up) return;
    this.#up = up;
    this.#log({ event: up ? 'redis-up' : 'redis-down', level: up ? 'info' : 'warn', node: this.node });
    if (up) void this.#tick();
    this.handlers.status(up);
  }

  #onMessage(data: Buffer): void {
    if (data[0] === 0x66 /* f */) {
      if (this.#seal) return this.#reject('unsealed');
      return this.#onFrame(data, 1);
    }
    if (data[0] === SEALED) {
      if (!this.#seal) return this.#reject('no-secret');
      const opened = this.#seal.open(this.#channel, data);
      if (!opened.ok) return this.#reject(opened.reason);
      return this.#onFrame(opened.body, 0);
    }
    if (data[0] !== 0x7b /* { */) return this.#reject('malformed');
    try {
      this.handlers.event(JSON.parse(data.toString('utf8')) as ClusterEvent);
    } catch (error) {
      this.#log({ event: 'cluster-bad-event', level: 'error', message: (error as Error).message });
    }
  }

  /** `<to>\n<from>\n<room>\n<frame>` from `start` on: ids and rooms never hold a newline. */
  #onFrame(data: Buffer, start: number): void {
    const a = data.indexOf(10, start);
    const b = a < 0 ? -1 : data.indexOf(10, a + 1);
    const c = b < 0 ? -1 : data.indexOf(10, b + 1);
    if (c < 0) return this.#reject('malformed');
    this.handlers.frame(data.toString('latin1', start, a), data.toString('latin1', a + 1, b), data.toString('latin1', b + 1, c), data.subarray(c + 1));
  }

  /** Drops a frame from Redis: counted, and logged (never its contents) at most every 10 s per reason. */
  #reject(reason: RejectReason): void {
    this.rejectedFrames.set(reason, (this.rejectedFrames.get(reason) ?? 0) + 1);
    const now = Date.now();
    const logged = this.#rejectLog.get(reason);
    if (logged && now - logged.at < REJECT_LOG_MS) {
      logged.since++;
      return;
    }
    this.#rejectLog.set(reason, { at: now, since: 0 });
    this.#log({ event: 'cluster-frame-rejected', level: 'error', reason, dropped: (logged?.since ?? 0) + 1, node: this.node, hint: REJECT_HINT[reason] });
  }

  /** Joins (or puts back) a member: 'ok' is followed by its join event on this process's channel. */
  join(id: string, conn: string, entry: string, room: string, maxRoomSize: number, force = false): Promise<JoinOutcome> {
    return this.#commands.p2pJoin(this.prefix, id, this.node, conn, entry, room, String(maxRoomSize), force ? '1' : '0');
  }

  /** `returning`: the room hears the peer may be back in a moment (a reload with persist). */
  async leave(id: string, conn: string, returning = false): Promise<boolean> {
    return (await this.#commands.p2pLeave(this.prefix, id, conn, returning ? '1' : '0')) === 1;
  }

  /** A member held by this connection takes a new entry (a rename): the room's processes get an `n` event. */
  async rename(id: string, conn: string, entry: string): Promise<boolean> {
    return (await this.#commands.p2pRename(this.prefix, id, this.node, conn, entry)) === 1;
  }

  /** Asks for a room's whole membership: it comes as an `s` event, in order with the others. */
  async sync(room: string): Promise<void> {
    await this.#commands.p2pSync(this.prefix, room, this.node);
  }

  /** A frame for a peer held by another process; false if it could not be handed to Redis. */
  sendFrame(node: string, to: string, from: string, room: string, frame: string): boolean {
    if (!this.#up) return false;
    const channel = `${this.prefix}c:${node}`;
    const message = this.#seal ? this.#seal.seal(channel, `${to}\n${from}\n${room}\n${frame}`) : `f${to}\n${from}\n${room}\n${frame}`;
    this.#commands.publish(channel, message).catch(() => {});
    return true;
  }

  /** Renews the liveness key; reaps processes dead for longer than the grace. */
  async #tick(): Promise<void> {
    if (this.#closed || this.#commands.status !== 'ready') return;
    try {
      await this.#commands
        .multi()
        .set(`${this.prefix}a:${this.node}`, '1', 'PX', this.#livenessMs * 3)
        .sadd(`${this.prefix}nodes`, this.node)
        .exec();
      const dead = new Set(await this.#commands.p2pDeadNodes(this.prefix));
      const now = Date.now();
      for (const node of this.#deadSince.keys()) if (!dead.has(node)) this.#deadSince.delete(node);
      for (const node of dead) {
        const since = this.#deadSince.get(node) ?? now;
        this.#deadSince.set(node, since);
        if (now - since < this.graceMs) continue;
        const reaped = await this.#commands.p2pReap(this.prefix, node);
        this.#deadSince.delete(node);
        if (reaped >= 0) this.#log({ event: 'node-reaped', level: 'warn', node, peers: reaped });
      }
    } catch (error) {
      this.#log({ event: 'redis-error', level: 'warn', connection: 'commands', code: (error as Error).message });
    }
  }

  /**
   * Leaves the service. This process's peers stay listed: they are reaped after the grace
   * unless they come back through another process (as after a crash, without the wait
   * for the liveness key to expire).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#commands.status === 'ready') await this.#commands.del(`${this.prefix}a:${this.node}`).catch(() => {});
    this.#subscriber.disconnect();
    this.#commands.disconnect();
  }
}
