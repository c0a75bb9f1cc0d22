/**
 * The room rules when several processes share rooms through Redis (`--redis`). The same
 * messages as on one process, with the same checks, but a room's membership lives in
 * Redis and every join and leave comes back to each process that has members in the room
 * as an event, in the one order Redis made them (redis-scripts.ts). This process keeps:
 *
 * - its own members in `rooms` (what it delivers to), as on one process;
 * - for each room it has members in, a mirror of the whole room (who, on which process),
 *   so an offer or candidate for a peer elsewhere goes straight to that process's channel.
 *
 * A join waits for its own event, which carries the room's members: the welcome lists
 * exactly the room as Redis had it at that point, and later events follow it in order.
 * Leaves are told to this process's members at once (a peer that leaves while Redis is
 * away is still announced here) and to the others through Redis.
 */
import { encode, type NewPeerRequest, type PeerSummary, type ServerMessage } from '../protocol/index.js';
import { departure, RoomRouter, type JoinGate, type RoomRouterOptions, type RouterMember, type RouterOutput } from './room-router.js';
import { summaryOf } from './room-registry.js';
import { newIdentity, resumedIdentity, type Identity } from './identity.js';
import { silentLogger, type Logger } from './log.js';
import type { ClusterEvent, ClusterLink } from './cluster-link.js';

/** A connection as the clustered router sees it: `conn` tells its connections apart (0: none). */
export interface ClusterMember extends RouterMember {
  conn: number;
}

export interface ClusterRouterOutput<M extends ClusterMember> extends RouterOutput<M> {
  /** A frame for `to` from a peer held by another process (its bytes count against that sender). */
  forwardRemote(from: string, to: M, frame: Buffer): void;
  /** Sends `member` away for a moment (it reconnects and joins again): `code` is the close code. */
  sendAway(member: M, code: number, reason: string): void;
}

/**
 * A room as this process knows it: every member, on whichever process, as Redis lists it
 * (`node\nconn\n<summary JSON>`). Kept as that one string: a mirror holds every member of
 * every room this process has a member in (bench: memory per idle client).
 */
type RoomMirror = Map<string, string>;

/** `node\nconn`: which connection of which process holds a member. */
function holderOf(entry: string): string {
  return entry.slice(0, entry.indexOf('\n', entry.indexOf('\n') + 1));
}
const nodeOf = (entry: string): string => entry.slice(0, entry.indexOf('\n'));
const summaryIn = (entry: string): PeerSummary => JSON.parse(entry.slice(entry.indexOf('\n', entry.indexOf('\n') + 1) + 1)) as PeerSummary;
/** A member's entry as Redis lists it (what holderOf, nodeOf and summaryIn read). */
const entryOf = (node: string, conn: number | string, id: string, member: RouterMember): string => `${node}\n${conn}\n${JSON.stringify(summaryOf(id, member))}`;

interface PendingJoin<M> {
  readonly member: M;
  readonly identity: Identity;
  readonly room: string;
  readonly resumed: boolean;
  /** When it was asked (ms): a join whose event never comes is given up (see `expireJoins`). */
  readonly at: number;
}

/** A join whose event has not come by then is given up (its event was lost with Redis's connection). */
const JOIN_TIMEOUT_MS = 5000;

/** How long after Redis came back the rooms are compared (the others put theirs back first). */
const SYNC_AFTER_MS = 3000;

function membersOf(flat: readonly string[]): RoomMirror {
  const members: RoomMirror = new Map();
  for (let k = 0; k + 1 < flat.length; k += 2) members.set(flat[k]!, flat[k + 1]!);
  return members;
}

const newPeer = (entry: string): ServerMessage => ({ type: 'new-peer', ...summaryIn(entry) });

export class ClusteredRoomRouter<M extends ClusterMember> extends RoomRouter<M> {
  readonly #mirrors = new Map<string, RoomMirror>();
  readonly #pending = new Map<string, PendingJoin<M>>();
  /** Leaves Redis has not heard of yet (it was away): id → conn. */
  readonly #unsentLeaves = new Map<string, string>();
  readonly #log: Logger;
  #nextConn = 1;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;
  #link: ClusterLink | null = null;
  /** Set while the server shuts down: its members stay listed, to resume elsewhere. */
  shuttingDown = false;

  constructor(
    options: RoomRouterOptions,
    override readonly out: ClusterRouterOutput<M>,
    gate?: JoinGate<M>,
  ) {
    super(options, out, gate);
    this.#log = options.logger ?? silentLogger;
  }

  /** The link is made after the router (its handlers call the router). */
  attach(link: ClusterLink): void {
    this.#link = link;
  }

  get #up(): boolean {
    return this.#link?.up === true;
  }

  override join(member: M, request: NewPeerRequest): void {
    if (member.conn !== 0 && member.room === null) return void this.reject(member, 'already-joined');
    if (this.refuseJoin(member, request)) return;
    const link = this.#link;
    if (!link || !this.#up) return this.#unavailable(member, request.version ?? 1);
    // The room's size is only known to Redis: the join rates count every join that asks.
    const refused = this.gate(member, request.room);
    if (refused !== null) return this.refuseRate(member, refused);
    const identity = request.resume === undefined ? newIdentity() : resumedIdentity(request.resume);
    this.takeIdentity(member, request, identity.id);
    const conn = String((member.conn = this.#nextConn++));
    this.#pending.set(conn, { member, identity, room: request.room, resumed: request.resume !== undefined, at: Date.now() });
    const entry = entryOf(link.node, conn, identity.id, member);
    link.join(identity.id, conn, entry, request.room, this.options.maxRoomSize).then(
      (outcome) => {
        // 'ok': the join event (on this process's channel) finishes it.
        if (outcome === 'ok' || this.#pending.get(conn)?.member !== member) return;
        this.#pending.delete(conn);
        this.#reset(member);
        this.refuseFull(member, request.room);
      },
      (error: Error) => {
        if (this.#pending.get(conn)?.member !== member) return;
        this.#log({ event: 'redis-error', level: 'warn', during: 'join', code: error.message });
        this.#pending.delete(conn);
        this.#reset(member);
        this.#unavailable(member, member.version);
      },
    );
  }

  #reset(member: M): void {
    member.id = null;
    member.conn = 0;
  }

  /** Refuses a join while Redis is away, and sends the client on (to another process, or here later). */
  #unavailable(member: M, version: number): void {
    const text = 'This server cannot reach the service’s shared state (Redis) just now: try another server, or again in a moment.';
    // Clients before protocol version 3 do not know the code; they show the text.
    this.reject(member, version >= 3 ? 'server-unavailable' : 'server-shutdown', text);
    this.out.sendAway(member, 1013, 'shared state unavailable');
  }

  protected override deliver(from: M, room: string, to: string, message: ServerMessage): boolean {
    if (super.deliver(from, room, to, message)) return true;
    const entry = this.#mirrors.get(room)?.get(to);
    if (!entry || !this.#link) return false;
    // A peer on another process: straight to that process (dropped while Redis is away).
    if (this.#link.sendFrame(nodeOf(entry), to, from.id!, room, encode(message))) this.relayed++;
    return true;
  }

  override leave(member: M, why: string, announce = true, returning = false): void {
    const { id, room, conn } = member;
    if (conn !== 0 && room === null) {
      // Left while its join was on the way: the join event will find it gone.
      this.#pending.delete(String(conn));
      member.conn = 0;
      if (id !== null) void this.#leaveRedis(id, String(conn));
      return;
    }
    const listed = id !== null && room !== null && this.rooms.find(room, id) === member;
    super.leave(member, why, announce, returning);
    member.conn = 0;
    if (!listed || this.shuttingDown) return;
    this.#dropMirrorIfUnused(room!);
    void this.#leaveRedis(id!, String(conn), returning);
  }

  async #leaveRedis(id: string, conn: string, returning = false): Promise<void> {
    if (!this.#link || !this.#up) {
      this.#unsentLeaves.set(id, conn);
      return;
    }
    try {
      await this.#link.leave(id, conn, returning);
    } catch {
      this.#unsentLeaves.set(id, conn);
    }
  }

  #dropMirrorIfUnused(room: string): void {
    if (this.rooms.size(room) > 0) return;
    for (const pending of this.#pending.values()) if (pending.room === room) return;
    this.#mirrors.delete(room);
  }

  /**
   * Gives up joins still waiting for their event: all of them when Redis's connection was
   * lost (`all`), else those older than the timeout. Each is told `server-unavailable`
   * and sent on (1013), and taken out of Redis in case it got in.
   */
  expireJoins(all: boolean): void {
    const now = Date.now();
    for (const [conn, pending] of this.#pending) {
      if (!all && now - pending.at < JOIN_TIMEOUT_MS) continue;
      this.#pending.delete(conn);
      this.#log({ event: 'join-lost', level: 'warn', id: pending.identity.id, room: pending.room });
      void this.#leaveRedis(pending.identity.id, conn);
      this.#reset(pending.member);
      this.#unavailable(pending.member, pending.member.version);
    }
  }

  /** An event from Redis, in the order Redis made the changes. */
  onEvent(event: ClusterEvent): void {
    if (event.t === 'j') this.#onJoinEvent(event);
    else if (event.t === 'l') this.#onLeaveEvent(event);
    else if (event.t === 'n') this.#onRenameEvent(event);
    else this.#onSyncEvent(event);
  }

  /** Told here at once; to the other processes (and kept for later joiners) through Redis. */
  override rename(member: M, name: string): boolean {
    if (!super.rename(member, name)) return false;
    const link = this.#link;
    if (link && this.#up) {
      const entry = entryOf(link.node, member.conn, member.id!, member);
      void link.rename(member.id!, String(member.conn), entry).catch(() => {});
    }
    return true;
  }

  #onRenameEvent(event: Extract<ClusterEvent, { t: 'n' }>): void {
    const mirror = this.#mirrors.get(event.r);
    if (mirror?.has(event.i)) mirror.set(event.i, event.e);
    if (event.n !== this.#link?.node) this.#tellLocal(event.r, event.i, { type: 'peer-renamed', id: event.i, name: summaryIn(event.e).name });
  }

  /** A frame from a peer on another process for one of ours: never across rooms. */
  onFrame(to: string, from: string, room: string, frame: Buffer): void {
    const target = this.rooms.find(room, to);
    if (target) this.out.forwardRemote(from, target, frame);
  }

  #onJoinEvent(event: Extract<ClusterEvent, { t: 'j' }>): void {
    const node = this.#link?.node;
    const entry = event.e;
    // The same id held here by another connection: that one was replaced (resumed elsewhere).
    const local = this.byId(event.i);
    if (local && local.room === event.r && !(event.n === node && String(local.conn) === event.c)) {
      this.#log({ event: 'replaced', id: event.i, room: event.r });
      super.leave(local, 'replaced', false);
      local.conn = 0;
      this.out.replaced(local);
    }
    const mirror = this.#mirrors.get(event.r) ?? new Map<string, string>();
    const before = mirror.get(event.i);
    const pending = event.n === node ? this.#pending.get(event.c) : undefined;
    if (event.m) {
      // Our own join: the whole room as Redis has it. Members this process had not heard
      // of are told now; none is taken away here (after Redis lost its data, the others'
      // processes may not have put theirs back yet: the sync that follows decides).
      const members = membersOf(event.m);
      for (const [id, entry] of members) {
        const was = mirror.get(id);
        mirror.set(id, entry);
        if (id !== event.i && (!was || holderOf(was) !== holderOf(entry))) this.#tellLocal(event.r, id, newPeer(entry));
      }
      this.#mirrors.set(event.r, mirror);
      if (pending) {
        this.#pending.delete(event.c);
        return this.#welcome(pending, members);
      }
    } else {
      if (!this.#mirrors.has(event.r)) return;
      mirror.set(event.i, entry);
    }
    if (event.n === node && !pending && !(local && String(local.conn) === event.c)) {
      // Its connection is gone already: take it out again.
      void this.#leaveRedis(event.i, event.c);
      return;
    }
    // A member put back as it was (after Redis came back) is not new to anyone.
    if (before && holderOf(before) === `${event.n}\n${event.c}`) return;
    this.#tellLocal(event.r, event.i, newPeer(entry));
  }

  #welcome(pending: PendingJoin<M>, members: RoomMirror): void {
    const { member, identity, room } = pending;
    const outcome = this.rooms.join(room, identity.id, member);
    if (!outcome.ok) {
      // More of ours than the room holds can only mean a bug; never more than the cap.
      this.#reset(member);
      return this.refuseFull(member, room);
    }
    const peers: PeerSummary[] = [];
    for (const [id, entry] of members) if (id !== identity.id) peers.push(summaryIn(entry));
    this.admit(member, room, identity, peers, pending.resumed);
    this.#tellLocal(room, identity.id, { type: 'new-peer', ...summaryOf(identity.id, member) });
  }

  /** The whole room, asked for after Redis was away: whatever changed meanwhile is told. */
  #onSyncEvent(event: Extract<ClusterEvent, { t: 's' }>): void {
    const mirror = this.#mirrors.get(event.r);
    if (!mirror) return;
    const members = membersOf(Array.isArray(event.m) ? event.m : []);
    for (const [id, entry] of mirror) {
      if (members.has(id)) continue;
      mirror.delete(id);
      const local = this.rooms.find(event.r, id);
      if (local && holderOf(entry) === `${this.#link?.node}\n${local.conn}`) continue; // ours: put back by restore
      this.#tellLocal(event.r, id, { type: 'peer-disconnected', id });
    }
    for (const [id, entry] of members) {
      const was = mirror.get(id);
      mirror.set(id, entry);
      if (!was || holderOf(was) !== holderOf(entry)) this.#tellLocal(event.r, id, newPeer(entry));
    }
  }

  #onLeaveEvent(event: Extract<ClusterEvent, { t: 'l' }>): void {
    const node = this.#link?.node;
    const mirror = this.#mirrors.get(event.r);
    const listed = mirror?.get(event.i);
    if (listed !== undefined && holderOf(listed) === `${event.n}\n${event.c}`) mirror!.delete(event.i);
    const local = event.n === node ? this.rooms.find(event.r, event.i) : undefined;
    if (local && String(local.conn) === event.c) {
      // Ours and still here: it joined another room through another connection (closed
      // as replaced), or Redis had counted it gone (sent to join again).
      super.leave(local, event.x ? 'replaced' : 'reaped', true);
      local.conn = 0;
      if (event.x) this.out.replaced(local);
      else this.out.sendAway(local, 1013, 'rejoin');
      this.#dropMirrorIfUnused(event.r);
      return;
    }
    if (event.a && !(event.l && event.n === node)) this.#tellLocal(event.r, event.i, departure(event.i, event.b === 1));
    this.#dropMirrorIfUnused(event.r);
  }

  /** Tells this process's members of `room` (but `exceptId`) what changed. */
  #tellLocal(room: string, exceptId: string, message: ServerMessage): void {
    if (this.rooms.size(room) > 0) this.broadcast(room, exceptId, message);
  }

  /**
   * Redis is back: leaves it missed go out, then every member of this process is put back
   * (Redis may have lost everything); each comes back as an event with the room, which
   * tells this process's members what changed meanwhile.
   */
  async restore(): Promise<void> {
    const link = this.#link;
    if (!link) return;
    for (const [id, conn] of [...this.#unsentLeaves]) {
      this.#unsentLeaves.delete(id);
      await this.#leaveRedis(id, conn);
    }
    for (const member of this.#localMembers()) {
      if (member.id === null || member.room === null || member.conn === 0) continue;
      const entry = entryOf(link.node, member.conn, member.id, member);
      try {
        const outcome = await link.join(member.id, String(member.conn), entry, member.room, this.options.maxRoomSize, true);
        if (outcome === 'moved' && this.rooms.find(member.room, member.id) === member) {
          super.leave(member, 'replaced', false);
          member.conn = 0;
          this.out.replaced(member);
        }
      } catch {
        return; // down again: the next time it comes up starts over
      }
    }
    // Once the other processes have had time to put theirs back, each room is compared
    // with what this process believes (events may have been lost while Redis was away).
    clearTimeout(this.#syncTimer);
    this.#syncTimer = setTimeout(() => void this.#syncAll(), SYNC_AFTER_MS);
    this.#syncTimer.unref();
  }

  async #syncAll(): Promise<void> {
    for (const room of this.#mirrors.keys()) {
      try {
        await this.#link?.sync(room);
      } catch {
        return;
      }
    }
  }

  #localMembers(): M[] {
    const members: M[] = [];
    this.forEachLocal((member) => members.push(member));
    return members;
  }
}
