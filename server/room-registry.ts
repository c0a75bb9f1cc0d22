/**
 * Rooms and their members. Knows nothing about sockets: a member is any value with an
 * id and a name, so the registry is easy to test and reuse.
 */
import type { PeerSummary } from '../protocol/index.js';

export interface RoomMember {
  readonly name: string;
  /** false: no WebRTC (listed so the others relay chat to it). */
  readonly webrtc?: boolean;
  /** The protocol version the member speaks (listed when above 1). */
  readonly version?: number;
}

export type JoinOutcome = { readonly ok: true; readonly others: readonly PeerSummary[] } | { readonly ok: false; readonly reason: 'room-full' };

/** How a member is listed to the others: id, name, and only the fields that differ from the defaults. */
export function summaryOf(id: string, member: RoomMember): PeerSummary {
  return {
    id,
    name: member.name,
    ...(member.webrtc === false ? { webrtc: false as const } : {}),
    ...(member.version !== undefined && member.version > 1 ? { version: member.version } : {}),
  };
}

export class RoomRegistry<M extends RoomMember> {
  readonly #rooms = new Map<string, Map<string, M>>();

  constructor(readonly maxRoomSize: number) {}

  /** Adds a member to a room, unless the room is at capacity. */
  join(room: string, id: string, member: M): JoinOutcome {
    let members = this.#rooms.get(room);
    if (members && members.size >= this.maxRoomSize) return { ok: false, reason: 'room-full' };
    if (!members) {
      members = new Map();
      this.#rooms.set(room, members);
    }
    // forEach, not [...members]: no [id, member] pair per member (10,000 joins' worth of garbage shows in RSS).
    const others: PeerSummary[] = [];
    members.forEach((other, otherId) => others.push(summaryOf(otherId, other)));
    members.set(id, member);
    return { ok: true, others };
  }

  /** Removes a member; an empty room is forgotten. Returns whether it was there. */
  leave(room: string, id: string): boolean {
    const members = this.#rooms.get(room);
    if (!members?.delete(id)) return false;
    if (members.size === 0) this.#rooms.delete(room);
    return true;
  }

  /** How many members `room` has (0 for a room that does not exist). */
  size(room: string): number {
    return this.#rooms.get(room)?.size ?? 0;
  }

  /** The member `id` of `room`, or undefined: relays never cross rooms. */
  find(room: string, id: string): M | undefined {
    return this.#rooms.get(room)?.get(id);
  }

  /**
   * Calls `visit` with every member of `room` except `exceptId`. What the server's
   * broadcasts use: unlike iterating `others`, it allocates no iterator result or
   * [id, member] pair per member.
   */
  forEachOther(room: string, exceptId: string, visit: (member: M) => void): void {
    this.#rooms.get(room)?.forEach((member, id) => {
      if (id !== exceptId) visit(member);
    });
  }

  /** Every member of `room` except `exceptId`. */
  *others(room: string, exceptId: string): Iterable<M> {
    const members = this.#rooms.get(room);
    if (!members) return;
    for (const [id, member] of members) if (id !== exceptId) yield member;
  }

  get roomCount(): number {
    return this.#rooms.size;
  }

  get memberCount(): number {
    let count = 0;
    for (const members of this.#rooms.values()) count += members.size;
    return count;
  }
}
