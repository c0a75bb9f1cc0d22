/**
 * The signaling server's rules, without sockets: who is in which room under which id,
 * what a join, a leave and a relayed message do, and who hears about it. The shell
 * (signaling-server.ts) parses frames and hands them here; what goes out goes through
 * `RouterOutput`, so the rules are unit-tested with plain objects as members.
 */
import {
  defaultPeerName,
  encode,
  errorMessage,
  relayed,
  type ChatRelayRequest,
  type ErrorCode,
  type IceServer,
  type NewPeerRequest,
  type PeerSummary,
  type RelayRequest,
  type ServerLimits,
  type ServerMessage,
  PROTOCOL_VERSION,
} from '../protocol/index.js';
import { RoomRegistry, summaryOf } from './room-registry.js';
import { newIdentity, resumedIdentity, type Identity } from './identity.js';
import { silentLogger, type Logger } from './log.js';

/** A connection as the router sees it. */
export interface RouterMember {
  id: string | null;
  name: string;
  room: string | null;
  webrtc: boolean;
  version: number;
  /** It keeps its resume token across a reload (`persist` in its join). */
  persist?: boolean;
}

export interface RouterOutput<M extends RouterMember> {
  /** A message from the server itself to one member. */
  send(member: M, message: ServerMessage): void;
  /** One message to many: `encoded` is made once and shared. */
  sendEncoded(member: M, encoded: () => Buffer): void;
  /** A message one member sends another through the server: its bytes count against `from`. */
  forward(from: M, to: M, message: ServerMessage): void;
  /** `member` was replaced by a newer connection holding its resume token: close it. */
  replaced(member: M): void;
}

export interface RoomRouterOptions {
  readonly maxRoomSize: number;
  readonly maxRoomLength: number;
  readonly maxNameLength: number;
  readonly iceServers: readonly IceServer[];
  /** ICE servers minted for one peer (time-limited TURN credentials), after the static ones. */
  readonly iceServersFor?: (id: string) => readonly IceServer[];
  readonly limits: ServerLimits;
  readonly logger?: Logger;
}

/** Why a join was refused for its rate, and in how many ms it may be tried again. */
export interface JoinRefusal {
  readonly message: string;
  readonly retryAfterMs: number;
}

/** Asked before a join that would happen: a refusal (`rate-limited`), or null to let it. */
export type JoinGate<M> = (member: M, room: string) => JoinRefusal | null;

export class RoomRouter<M extends RouterMember> {
  readonly rooms: RoomRegistry<M>;
  /** Joined members by id: an id is in at most one room at a time. */
  readonly #byId = new Map<string, M>();
  readonly #log: Logger;

  constructor(
    readonly options: RoomRouterOptions,
    readonly out: RouterOutput<M>,
    readonly gate: JoinGate<M> = () => null,
  ) {
    this.rooms = new RoomRegistry<M>(options.maxRoomSize);
    this.#log = options.logger ?? silentLogger;
  }

  byId(id: string): M | undefined {
    return this.#byId.get(id);
  }

  /** Calls `visit` with every joined member. */
  forEachLocal(visit: (member: M) => void): void {
    this.#byId.forEach((member) => visit(member));
  }

  /** Counters for /metrics: joins welcomed, members gone, frames relayed to a peer. */
  joins = 0;
  leaves = 0;
  relayed = 0;

  reject(member: M, code: ErrorCode, message?: string, field?: string): void {
    this.#log({ event: 'error', level: 'debug', id: member.id, code, ...(field ? { field } : {}) });
    this.out.send(member, errorMessage(code, message, field));
  }

  /** Phase 1: `new-peer`. A resume token brings the same id back, replacing an older connection. */
  join(member: M, request: NewPeerRequest): void {
    if (this.refuseJoin(member, request)) return;
    const { maxRoomSize } = this.options;
    const identity = request.resume === undefined ? newIdentity() : resumedIdentity(request.resume);
    const previous = this.#byId.get(identity.id);
    const sameRoom = previous !== undefined && previous !== member && previous.room === request.room;
    // Capacity first: a resume into a full room is refused without touching the live
    // session it would have replaced.
    if (this.rooms.size(request.room) - (sameRoom ? 1 : 0) >= maxRoomSize) return this.refuseFull(member, request.room);
    // Only joins that would happen count against the join rates.
    const refused = this.gate(member, request.room);
    if (refused !== null) return this.refuseRate(member, refused);
    if (previous && previous !== member) {
      // The same peer is back (its old socket may not have noticed it is dead yet): the
      // token proves it, the new connection wins. Peers of the same room are not told it
      // left, so their WebRTC connection to it stays up.
      this.#log({ event: 'replaced', id: identity.id, room: previous.room });
      this.leave(previous, 'replaced', !sameRoom);
      this.out.replaced(previous);
    }
    this.takeIdentity(member, request, identity.id);
    const outcome = this.rooms.join(request.room, identity.id, member);
    if (!outcome.ok) {
      member.id = null;
      return this.refuseFull(member, request.room);
    }
    this.admit(member, request.room, identity, outcome.others, request.resume !== undefined);
    this.broadcast(request.room, identity.id, { type: 'new-peer', ...summaryOf(identity.id, member) });
  }

  /** The checks of a join that need no room state; true if it was refused. */
  protected refuseJoin(member: M, request: NewPeerRequest): boolean {
    const { maxRoomLength, maxNameLength } = this.options;
    if (member.room !== null) this.reject(member, 'already-joined');
    else if (request.room.length > maxRoomLength) this.reject(member, 'too-large', `Room names have at most ${maxRoomLength} characters here.`, 'room');
    else if (request.name !== undefined && request.name.length > maxNameLength) {
      this.reject(member, 'too-large', `Names have at most ${maxNameLength} characters here.`, 'name');
    } else return false;
    return true;
  }

  /** A join over a join rate: `rate-limited`, saying when to try again. */
  protected refuseRate(member: M, refusal: JoinRefusal): void {
    this.#log({ event: 'error', level: 'debug', id: member.id, code: 'rate-limited', field: 'room' });
    this.out.send(member, { ...errorMessage('rate-limited', refusal.message, 'room'), retryAfterMs: refusal.retryAfterMs });
  }

  protected refuseFull(member: M, room: string): void {
    this.#log({ event: 'limit', level: 'warn', limit: 'room-size', room });
    this.reject(member, 'room-full', `Room "${room}" already has ${this.options.maxRoomSize} peers.`, 'room');
  }

  /** What the join request says about the member, under the id it gets. */
  protected takeIdentity(member: M, request: NewPeerRequest, id: string): void {
    member.id = id;
    member.name = request.name ?? defaultPeerName(id);
    member.webrtc = request.webrtc !== false;
    member.version = request.version ?? 1;
    member.persist = request.persist === true;
  }

  /** The member is in the room (listed in `rooms`): it is known by its id and welcomed. */
  protected admit(member: M, room: string, identity: Identity, peers: readonly PeerSummary[], resumed: boolean): void {
    const id = identity.id;
    member.room = room;
    this.#byId.set(id, member);
    this.joins++;
    this.#log({ event: 'join', id, room, peers: peers.length + 1, resumed });
    const { limits } = this.options;
    this.out.send(member, {
      type: 'welcome',
      id,
      room,
      peers,
      iceServers: this.iceServersFor(id),
      limits,
      resume: identity.resume,
      version: PROTOCOL_VERSION,
    });
  }

  /** Phases 2-3 (and the chat relay): a message for one peer of the sender's room, stamped with the sender's id. */
  relay(member: M, request: RelayRequest | ChatRelayRequest): void {
    if (member.room === null || member.id === null) return this.reject(member, 'not-joined');
    if (request.type === 'relay' && !this.options.limits.relay) return this.reject(member, 'relay-disabled');
    if (request.to === member.id) return this.reject(member, 'unknown-peer', `No peer "${request.to}" in your room.`, 'to');
    // Chat text passes through here only for `relay`: never logged.
    const message: ServerMessage = request.type === 'relay' ? { type: 'relay', from: member.id, message: request.message } : relayed(request, member.id);
    if (!this.deliver(member, member.room, request.to, message)) this.reject(member, 'unknown-peer', `No peer "${request.to}" in your room.`, 'to');
  }

  /** A joined member takes a new name (protocol version 8): kept for later joiners, told to the room. False if refused. */
  rename(member: M, name: string): boolean {
    if (member.room === null || member.id === null) {
      this.reject(member, 'not-joined');
      return false;
    }
    const { maxNameLength } = this.options;
    if (name.length > maxNameLength) {
      this.reject(member, 'too-large', `Names have at most ${maxNameLength} characters here.`, 'name');
      return false;
    }
    member.name = name;
    this.#log({ event: 'rename', id: member.id, room: member.room });
    this.broadcast(member.room, member.id, { type: 'peer-renamed', id: member.id, name });
    return true;
  }

  /** Hands a stamped message to peer `to` of `room`; false if there is no such peer. */
  protected deliver(from: M, room: string, to: string, message: ServerMessage): boolean {
    const target = this.rooms.find(room, to);
    if (!target) return false;
    this.relayed++;
    this.out.forward(from, target, message);
    return true;
  }

  /** The ICE servers a peer gets: the static ones, then any minted for it. */
  iceServersFor(id: string): readonly IceServer[] {
    const minted = this.options.iceServersFor?.(id);
    return minted && minted.length > 0 ? [...this.options.iceServers, ...minted] : this.options.iceServers;
  }

  /**
   * Takes a member out of its room; tells the room unless `announce` is false. `returning`:
   * it may come back in a moment (a persist client whose socket went without a clean
   * close, a reload): the room waits for it before saying it left.
   */
  leave(member: M, why: string, announce = true, returning = false): void {
    const { room, id } = member;
    member.room = null;
    if (id !== null && this.#byId.get(id) === member) this.#byId.delete(id);
    if (room === null || id === null || this.rooms.find(room, id) !== member || !this.rooms.leave(room, id)) return;
    this.#log({ event: 'leave', id, room, why });
    this.leaves++;
    if (announce) this.broadcast(room, id, departure(id, returning));
  }

  /** One message to every member of a room but one: encoded once for all of them. */
  broadcast(room: string, exceptId: string, message: ServerMessage): void {
    let frame: Buffer | null = null;
    const encoded = () => (frame ??= Buffer.from(encode(message)));
    this.rooms.forEachOther(room, exceptId, (other) => this.out.sendEncoded(other, encoded));
  }
}

/** What a room hears when a member goes: `returning` if it may be back in a moment (a reload). */
export function departure(id: string, returning: boolean): ServerMessage {
  return returning ? { type: 'peer-disconnected', id, returning } : { type: 'peer-disconnected', id };
}
