/**
 * What `persist` keeps across a reload for one server and room: the resume token in
 * this tab's sessionStorage (so the reloaded page gets the same id) and the transcript in
 * IndexedDB (client/transcript-store.ts, loaded on demand).
 *
 * The token is written only when the page goes away (`pagehide`) and taken out again as
 * soon as the next page reads it: a tab duplicated meanwhile copies no token, so it never
 * takes over this tab's id.
 */
import type { StoredLine, TranscriptStore } from '../client/transcript-store.js';

const TOKEN_PREFIX = 'p2p-chat:resume:';
/** Saves wait this long for more lines: a burst of messages is one write. */
const SAVE_DELAY_MS = 150;

function sessionStore(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    // A sandboxed frame or blocked storage throws on access.
    return null;
  }
}

export class SavedSession {
  readonly #tokenKey: string;
  /** The transcript's record: one per server (as set) and room. */
  readonly #storeKey: string;
  #store: Promise<TranscriptStore | null> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #pending: (() => StoredLine[]) | null = null;

  constructor(server: string, room: string) {
    this.#tokenKey = `${TOKEN_PREFIX}${server}\n${room}`;
    this.#storeKey = `${server}\n${room}`;
  }

  /** The token the previous page of this tab left, taken out of storage (null if none). */
  takeToken(): string | null {
    const storage = sessionStore();
    const token = storage?.getItem(this.#tokenKey) ?? null;
    storage?.removeItem(this.#tokenKey);
    return token;
  }

  /** Leaves the token for the next page of this tab (a reload). */
  keepToken(token: string | null): void {
    if (token) sessionStore()?.setItem(this.#tokenKey, token);
  }

  #open(): Promise<TranscriptStore | null> {
    this.#store ??= import('../client/transcript-store.js').then(({ TranscriptStore }) => TranscriptStore.open()).catch(() => null);
    return this.#store;
  }

  /** The transcript kept for this room (empty if none, or no IndexedDB). */
  async load(): Promise<StoredLine[]> {
    const store = await this.#open();
    if (!store) return [];
    try {
      return await store.load(this.#storeKey);
    } catch {
      return [];
    }
  }

  /** Saves the lines `lines()` gives, a moment from now (one write for a burst). */
  saveSoon(lines: () => StoredLine[]): void {
    this.#pending = lines;
    this.#timer ??= setTimeout(() => void this.flush(), SAVE_DELAY_MS);
  }

  /** Writes what is waiting now (the page is going away). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const lines = this.#pending;
    this.#pending = null;
    if (!lines) return;
    const store = await this.#open();
    await store?.save(this.#storeKey, lines()).catch(() => {});
  }

  /** Forgets the room's kept transcript (and what was about to be written). */
  async clear(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending = null;
    const store = await this.#open();
    await store?.clear(this.#storeKey).catch(() => {});
  }
}
