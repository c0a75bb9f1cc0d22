/**
 * A room's transcript kept in this browser (IndexedDB) across reloads: the `persist`
 * attribute. One record per server and room, the last `MAX_LINES` messages; at most
 * `MAX_ROOMS` rooms per origin (the least recently saved goes first). Only messages:
 * files, notices and typing are never kept. Loaded on demand (a sibling chunk in dist/).
 */

/** A message as kept: enough to show it again and to recognise it if it comes again. */
export interface StoredLine {
  readonly id: string;
  readonly from: string;
  readonly name: string;
  readonly text: string;
  readonly at: number;
  readonly own?: true;
  /** A private message: to this peer (own) or from it (received). */
  readonly privateWith?: { readonly id: string; readonly name: string };
}

interface RoomRecord {
  readonly key: string;
  readonly savedAt: number;
  readonly lines: readonly StoredLine[];
}

export const MAX_LINES = 200;
export const MAX_ROOMS = 20;
const DB_NAME = 'p2p-chat';
const STORE = 'transcripts';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** Whether a stored value looks like a line (the store is the origin's, but may be old or tampered with). */
function isLine(value: unknown): value is StoredLine {
  const line = value as StoredLine;
  return (
    typeof line === 'object' &&
    line !== null &&
    typeof line.id === 'string' &&
    typeof line.from === 'string' &&
    typeof line.name === 'string' &&
    typeof line.text === 'string' &&
    Number.isFinite(line.at)
  );
}

export class TranscriptStore {
  private constructor(readonly db: IDBDatabase) {}

  /** The origin's store, or null where IndexedDB is missing or refused (private modes may refuse it). */
  static async open(): Promise<TranscriptStore | null> {
    if (typeof indexedDB === 'undefined') return null;
    try {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'key' });
      return new TranscriptStore(await request(open));
    } catch {
      return null;
    }
  }

  async load(key: string): Promise<StoredLine[]> {
    const record = (await request(this.db.transaction(STORE).objectStore(STORE).get(key))) as RoomRecord | undefined;
    return Array.isArray(record?.lines) ? record.lines.filter(isLine).slice(-MAX_LINES) : [];
  }

  /** Keeps the last `MAX_LINES` of `lines` for the room, and forgets the rooms beyond `MAX_ROOMS`. */
  async save(key: string, lines: readonly StoredLine[]): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    store.put({ key, savedAt: Date.now(), lines: lines.slice(-MAX_LINES) } satisfies RoomRecord);
    const all = (await request(store.getAll())) as RoomRecord[];
    if (all.length > MAX_ROOMS) {
      for (const old of all.sort((a, b) => a.savedAt - b.savedAt).slice(0, all.length - MAX_ROOMS)) store.delete(old.key);
    }
    await done(tx);
  }

  async clear(key: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(key);
    await done(tx);
  }
}
