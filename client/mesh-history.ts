/**
 * History for late joiners (protocol/history.ts): this side's transcript of the room's
 * public messages (bounded by count and age), answers to a newcomer's request, and, for
 * this side as the newcomer, the answers of every peer it asked merged into one ordered
 * list without duplicates (by author and message id, ordered by sent time, then id), of
 * which only the last `limit` are shown. Private messages are never kept or passed on.
 */
import { HISTORY_LIMITS, lineSigningText, type HistoryLineMessage, type HistoryMessage } from '../protocol/index.js';
import type { MessageDetail } from './mesh-events.js';
import type { MeshTrust } from './mesh-trust.js';

export type HistoryLine = Omit<HistoryLineMessage, 'type'>;

/** A line and the peer that passed it on. */
export interface HistoryEntry {
  readonly line: HistoryLine;
  readonly via: string;
}

export interface HistorySettings {
  /** Lines kept, asked for and passed on at most. Default 200. */
  readonly limit?: number;
  /** Only lines at most this old (ms). Default 24 hours. */
  readonly windowMs?: number;
}

export interface HistoryHooks {
  send(peer: string, message: HistoryMessage): boolean;
  /**
   * Earlier lines passed on (each by `via`), in order: gives back those shown (the others
   * were seen already, or failed their author's signature), at once or when checked.
   */
  deliver(entries: readonly HistoryEntry[]): readonly HistoryEntry[] | Promise<readonly HistoryEntry[]>;
}

/** How long a newcomer waits for a peer's `history-end` before it shows what came. */
const ANSWER_WAIT_MS = 5000;
/** Lines dated further ahead than this (clocks differ) are not believed. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** How long a newcomer waits for an author's identity (on the way over a channel just opened) to check its lines. */
const KEY_WAIT_MS = 3000;

const order = (a: HistoryLine, b: HistoryLine) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One line, whoever passed it on: its author and its id. */
export function historyLineKey(line: { readonly from: string; readonly id: string }): string {
  return `${line.from}\n${line.id}`;
}

export class MeshHistory {
  readonly limit: number;
  readonly windowMs: number;
  /** This side's transcript, oldest first, each with when it was kept (a count). */
  readonly #lines: { readonly line: HistoryLine; readonly kept: number }[] = [];
  #kept = 0;
  /** When each peer became known here (the count then): what we kept later went to it live. */
  readonly #knownAt = new Map<string, number>();
  /** Peers asked whose answer is still coming: lines so far, and when to stop waiting. */
  readonly #asking = new Map<string, { lines: number; timer: ReturnType<typeof setTimeout> }>();
  /** Peers to ask once their channels open (the first welcome's), and when to stop waiting for them. */
  readonly #expected = new Set<string>();
  #expectedTimer: ReturnType<typeof setTimeout> | null = null;
  /** Peers ever asked (once per session each). */
  readonly #asked = new Set<string>();
  /** Peers answered while they are here (a peer asking again gets nothing more). */
  readonly #answered = new Set<string>();
  #pending: HistoryEntry[] = [];
  #shown = 0;

  constructor(
    settings: HistorySettings,
    readonly hooks: HistoryHooks,
  ) {
    this.limit = Math.max(1, Math.min(HISTORY_LIMITS.maxLines, Math.floor(settings.limit ?? 200)));
    this.windowMs = settings.windowMs ?? 24 * 60 * 60 * 1000;
  }

  /** A public message this side sent, received live, or was passed: kept for the next newcomer. */
  record(line: HistoryLine): void {
    const lines = this.#lines;
    let at = lines.length;
    while (at > 0 && order(lines[at - 1]!.line, line) > 0) at--;
    lines.splice(at, 0, { line, kept: ++this.#kept });
    if (lines.length > this.limit) lines.splice(0, lines.length - this.limit);
  }

  /**
   * A peer is in the room now. Messages kept from now on were sent to it live (ours), or
   * most likely were (the others learn of it at the same moment): they are not passed on
   * to it as history, or its live copies would be taken for ones it had already.
   */
  peerJoined(peer: string): void {
    if (!this.#knownAt.has(peer)) this.#knownAt.set(peer, this.#kept);
  }

  /**
   * The peers that will be asked once their channels open: the merged lines wait for them
   * too (at most ANSWER_WAIT_MS for a channel to open), so a first answer does not show
   * alone while a slower channel's answer is still to come (seen in Firefox under load:
   * the late joiner got its history in two batches).
   */
  expect(peers: readonly string[]): void {
    for (const peer of peers) if (!this.#asked.has(peer)) this.#expected.add(peer);
    if (this.#expected.size === 0) return;
    if (this.#expectedTimer !== null) clearTimeout(this.#expectedTimer);
    this.#expectedTimer = setTimeout(() => {
      this.#expectedTimer = null;
      this.#expected.clear();
      this.#flushWhenAllIn();
    }, ANSWER_WAIT_MS);
  }

  /** Asks `peer` (there before us) for the room's recent messages; once per peer. */
  ask(peer: string): void {
    const wasExpected = this.#expected.delete(peer);
    if (this.#asked.has(peer)) return;
    if (!this.hooks.send(peer, { type: 'history-request', limit: this.limit, since: Date.now() - this.windowMs })) {
      if (wasExpected) this.#flushWhenAllIn();
      return;
    }
    this.#asked.add(peer);
    this.#asking.set(peer, { lines: 0, timer: setTimeout(() => this.#ended(peer), ANSWER_WAIT_MS) });
  }

  /** The author's signature of one of its lines (its own, or one it sent us: `history-sig`), kept to pass on. */
  sign(from: string, id: string, sig: string): void {
    const lines = this.#lines;
    for (let at = lines.length - 1; at >= 0; at--) {
      const kept = lines[at]!;
      if (kept.line.id !== id || kept.line.from !== from) continue;
      lines[at] = { line: { ...kept.line, sig }, kept: kept.kept };
      return;
    }
  }

  receive(peer: string, message: HistoryMessage): void {
    if (message.type === 'history-request') return this.#answer(peer, message.limit, message.since);
    // Only the author signs its line.
    if (message.type === 'history-sig') {
      for (const { id, sig } of message.sigs) this.sign(peer, id, sig);
      return;
    }
    const asking = this.#asking.get(peer);
    // Lines nobody asked for, or more than asked: not shown.
    if (!asking) return;
    if (message.type === 'history-end') return this.#ended(peer);
    if (++asking.lines > this.limit) return this.#ended(peer);
    const { type: _type, ...line } = message;
    if (line.at > Date.now() + CLOCK_SKEW_MS || line.at < Date.now() - this.windowMs) return;
    this.#pending.push({ line, via: peer });
  }

  /** The peer left: an answer it owed is given up, and it may ask again when it is back. */
  peerGone(peer: string): void {
    this.#answered.delete(peer);
    this.#knownAt.delete(peer);
    if (this.#asking.has(peer)) this.#ended(peer);
    else if (this.#expected.delete(peer)) this.#flushWhenAllIn();
  }

  /** Forgets the kept transcript (clearHistory): nothing of it is passed on any more. */
  forget(): void {
    this.#lines.length = 0;
  }

  /** Stops every wait. */
  close(): void {
    for (const { timer } of this.#asking.values()) clearTimeout(timer);
    this.#asking.clear();
    if (this.#expectedTimer !== null) clearTimeout(this.#expectedTimer);
    this.#expected.clear();
    this.#pending = [];
  }

  #answer(peer: string, limit: number, since: number): void {
    if (this.#answered.has(peer)) return;
    this.#answered.add(peer);
    const oldest = Math.max(since, Date.now() - this.windowMs);
    const knownAt = this.#knownAt.get(peer) ?? Infinity;
    const lines = this.#lines.filter(({ line, kept }) => line.at >= oldest && kept <= knownAt).slice(-Math.min(limit, this.limit));
    for (const { line } of lines) if (!this.hooks.send(peer, { type: 'history', ...line })) return;
    this.hooks.send(peer, { type: 'history-end' });
  }

  #ended(peer: string): void {
    const asking = this.#asking.get(peer);
    if (!asking) return;
    clearTimeout(asking.timer);
    this.#asking.delete(peer);
    this.#flushWhenAllIn();
  }

  /** Every answer is in (or given up on), none still expected: show the merged lines at once, in order. */
  #flushWhenAllIn(): void {
    if (this.#asking.size === 0 && this.#expected.size === 0) void this.#flush();
  }

  async #flush(): Promise<void> {
    const pending = this.#pending.sort((a, b) => order(a.line, b.line));
    this.#pending = [];
    // The last lines that fit, by author and id; every supplier's copy of them goes on
    // (the mesh shows one: the first whose signature holds, and says which did not).
    const keyOf = ({ line }: HistoryEntry) => historyLineKey(line);
    const keys = [...new Set(pending.map(keyOf))];
    const room = this.limit - this.#shown;
    if (room <= 0 || keys.length === 0) return;
    const kept = new Set(keys.slice(Math.max(0, keys.length - room)));
    const entries = pending.filter((entry) => kept.has(keyOf(entry)));
    for (const { line } of await this.hooks.deliver(entries)) {
      this.#shown++;
      this.record(line);
    }
  }
}

/** What the mesh lends `showEarlier`. */
export interface EarlierHooks {
  readonly room: string;
  /** The trust features (the authors' keys), loaded if need be; null if they cannot be. */
  trust(): Promise<MeshTrust | null>;
  /** A peer's name while it is in the room. */
  nameOf(peer: string): string | undefined;
  /** Whether message `id` of `from` is new here (noting it as seen). */
  firstSight(from: string, id: string): boolean;
  blocked(peer: string): boolean;
  error(message: string, peer: string): void;
  show(messages: readonly MessageDetail[]): void;
}

/**
 * Earlier lines, merged: each signed one is checked against its author's key (an author
 * still here, whose identity we have, or get within a moment); a line whose signature
 * fails was changed by whoever passed it on: dropped, and said. The rest are shown once.
 */
export async function showEarlier(entries: readonly HistoryEntry[], mesh: EarlierHooks): Promise<HistoryEntry[]> {
  const trust = entries.some(({ line }) => line.sig) ? await mesh.trust() : null;
  // Each line once, in the order first seen; a later copy whose signature checks out takes an unsigned one's place.
  const shown = new Map<string, HistoryEntry>();
  const signed = new Set<HistoryEntry>();
  const forgedBy = new Map<string, number>();
  // One wait per author at most: its identity comes once or not at all.
  const waited = new Set<string>();
  for (const entry of entries) {
    const { line, via } = entry;
    // Every copy is checked, so a supplier that changed a line is found out even when another's copy came first.
    if (line.sig && trust) {
      // An author still in the room sends its identity once its channel opens, which may be after a supplier's answer.
      const waitMs = !waited.has(line.from) && mesh.nameOf(line.from) !== undefined ? KEY_WAIT_MS : 0;
      if (waitMs > 0) waited.add(line.from);
      const valid = await trust.identities.verifyLine(line.from, lineSigningText(mesh.room, line), line.sig, waitMs);
      if (valid === false) {
        forgedBy.set(via, (forgedBy.get(via) ?? 0) + 1);
        continue;
      }
      if (valid) signed.add(entry);
    }
    const key = historyLineKey(line);
    const earlier = shown.get(key);
    if (earlier) {
      if (signed.has(entry) && !signed.has(earlier)) shown.set(key, entry);
    } else if (mesh.firstSight(line.from, line.id)) shown.set(key, entry);
  }
  for (const [via, count] of forgedBy) {
    const name = mesh.nameOf(via) ?? 'A peer';
    mesh.error(`${name} passed on ${count} earlier message(s) that their author did not write as shown (the signature does not match): not shown.`, via);
  }
  const kept = [...shown.values()];
  const messages = kept
    .filter(({ line, via }) => !mesh.blocked(line.from) && !mesh.blocked(via))
    .map((entry) => {
      const { line, via } = entry;
      return {
        from: line.from,
        name: line.name,
        text: line.text,
        at: line.at,
        id: line.id,
        history: true,
        via,
        ...(signed.has(entry) ? { signed: true as const, signer: trust?.identities.signerStatus(line.from) ?? 'new' } : {}),
      };
    });
  if (messages.length > 0) mesh.show(messages);
  return kept;
}
