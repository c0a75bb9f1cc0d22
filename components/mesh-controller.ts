/**
 * A Reactive Controller that gives an element a Mesh: creates it from the element's
 * settings, re-dispatches its events on the element as `p2p-*` DOM events, keeps the
 * visible transcript, and closes the mesh when the element leaves the page.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Mesh, type MeshOptions, type MeshStatus, type SendResult } from '../client/mesh.js';
import type { ErrorDetail, FileInfo, MeshEventMap, MeshEventName, MessageDetail, PeerInfo } from '../client/mesh-events.js';
import { p2pEvent } from './events.js';
import { safeName } from '../client/display-name.js';
import type { StoredLine } from '../client/transcript-store.js';
import { SavedSession } from './saved-session.js';
import { EN, type ChatStrings } from './chat-strings.js';
import type { FileEventName, FileTranscript, FileTranscriptHost } from './file-transcript.js';
import type { ErrorCode } from '../protocol/index.js';

/**
 * A file going to or coming from one peer, updated in place as it moves: `offered`
 * (waiting for the receiver's answer), `moving`, `verifying` (all sent, waiting for the
 * receiver's check), `done` (every block matched), `failed`.
 */
export interface FileLine extends FileInfo {
  readonly kind: 'file';
  readonly key: string;
  readonly at: number;
  peerName: string;
  state: 'offered' | 'moving' | 'verifying' | 'done' | 'failed';
  bytes: number;
  percent: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
  /** A blob: URL of the file (received, or an image this side sent), typed application/octet-stream so that it is never opened as active content of this origin; revoked when the line goes. */
  url: string | null;
  error: string | null;
}

export interface MessageLine {
  readonly kind: 'message';
  readonly key: string;
  readonly from: string;
  readonly name: string;
  readonly text: string;
  readonly at: number;
  readonly own: boolean;
  readonly reached: number;
  /** A private message: to this peer (own lines), or to us only (received ones). */
  readonly privateWith?: { readonly id: string; readonly name: string };
  /** Own messages written before the chat joined the room: they go out once it has. */
  waiting?: boolean;
  /** Own messages: how many of the peers that can confirm it did (delivery receipts), of how many. */
  delivered?: number;
  confirmable?: number;
  /** An earlier message, passed on by this peer when we joined (history). */
  readonly via?: { readonly id: string; readonly name: string };
  /** Kept in this browser from before a reload (`persist`). */
  readonly restored?: true;
  /** An earlier message its author signed, checked here: whoever passed it on did not change it. */
  readonly signed?: true;
  /** With `signed`: the status of the author's key it was checked with (`verified`, `new`, `changed`, `missing`). */
  readonly signer?: MessageDetail['signer'];
  readonly id?: string;
}

/**
 * A short note (join, leave, rename, error): `text` in English, `say` to put it in the
 * chat's language at render time; an error's `code` picks its translation.
 */
export interface NoticeLine {
  readonly kind: 'notice';
  readonly key: string;
  readonly text: string;
  readonly at: number;
  readonly error: boolean;
  readonly say?: (strings: ChatStrings) => string;
  readonly code?: ErrorCode;
}

/**
 * Offers from one peer shown as one line ("Bob offered 37 files"): a flood, or many files
 * at once. Drawn by the file lines' renderer (hence `kind: 'file'`); each offer in it is
 * still a FileLine updated in place, and moves out to a line of its own once accepted.
 */
export interface FileOffersLine {
  readonly kind: 'file';
  readonly key: string;
  readonly at: number;
  readonly peer: string;
  peerName: string;
  /** The offers it holds: waiting, or ended without the file (only the latest of those are kept). */
  readonly offers: FileLine[];
  /** Offers folded in all told, their bytes, and how many of them were accepted (now lines of their own). */
  count: number;
  bytes: number;
  accepted: number;
  /** When the last offer came in. */
  lastAt: number;
  readonly url: null;
}

/** One line of the transcript: a chat message, a file, several offers from one peer, or a short note. */
export type TranscriptLine = FileLine | FileOffersLine | MessageLine | NoticeLine;

/** How long "… is typing" shows after the last `typing` from a peer. */
const TYPING_SHOWN_MS = 4000;

const RELAYED_EVENTS: readonly MeshEventName[] = [
  'status',
  'welcome',
  'peer-join',
  'peer-leave',
  'peer-rename',
  'peer-state',
  'channel-open',
  'channel-close',
  'message',
  'error',
  'signal',
  'verify-code',
  'peer-verify',
  'peer-identity',
  'typing',
  'message-status',
  'presence',
  'history',
  'file-offer',
  'file-progress',
  'file-complete',
  'file-error',
];

export class MeshController implements ReactiveController {
  mesh: Mesh | null = null;
  /** Called for each live message from a peer once it is shown (not cancelled). */
  onMessageShown: ((detail: MeshEventMap['message']) => void) | null = null;
  transcript: TranscriptLine[] = [];
  /** Earlier messages peers passed on when we joined (history), oldest first, shown above the transcript. */
  earlier: MessageLine[] = [];
  lastError: ErrorDetail | null = null;
  #lastStatus: MeshStatus = 'idle';
  /** Texts sent before there was a mesh (the page's script ran before the chat's first update). */
  readonly #beforeMesh: string[] = [];
  #keys = 0;
  #started = false;
  /** Names of peers seen in this room, so a leave can say who left. */
  readonly #names = new Map<string, string>();

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly settings: () => MeshOptions | null,
    private readonly maxLines = 500,
  ) {
    host.addController(this);
  }

  get selfId(): string | null {
    return this.mesh?.selfId ?? null;
  }

  get peers(): PeerInfo[] {
    return this.mesh?.peers ?? [];
  }

  hostConnected(): void {
    document.addEventListener('visibilitychange', this.#onVisibility);
    addEventListener('pagehide', this.#onPageHide);
    addEventListener('pageshow', this.#onPageShow);
    // Re-joins when the element is moved or re-attached; the first join waits for the
    // element's first update, which knows its attributes.
    if (this.#started) this.restart();
  }

  hostDisconnected(): void {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    removeEventListener('pagehide', this.#onPageHide);
    removeEventListener('pageshow', this.#onPageShow);
    this.leave();
  }

  /** With persist: what this page kept and keeps (token, transcript); null without. */
  #saved: SavedSession | null = null;

  /** The page goes away (a reload, most likely): the next page of this tab gets our id and the latest lines. */
  readonly #onPageHide = () => {
    this.#saved?.keepToken(this.mesh?.resumeToken ?? null);
    void this.#saved?.flush();
  };

  /** Back from the back/forward cache: this page is the one using the token again. */
  readonly #onPageShow = (event: PageTransitionEvent) => {
    if (event.persisted) this.#saved?.takeToken();
  };

  /** Away while the page is hidden: the peers' lists say so. */
  readonly #onVisibility = () => this.mesh?.setPresence(document.visibilityState === 'hidden' ? 'away' : 'active');

  /** Leaves the room (the element stays; `restart` joins again). */
  leave(): void {
    void this.#saved?.flush();
    this.mesh?.close();
    this.mesh = null;
    this.#typing.clear();
    this.#scheduleTypingExpiry();
    this.#left = true;
    this.host.requestUpdate();
  }

  #left = false;

  /** The mesh's status; `closed` after leaving, `idle` before any join. */
  get status(): MeshStatus {
    return this.mesh?.status ?? (this.#left ? 'closed' : 'idle');
  }

  /** Leaves the current room (if any) and joins with the current settings. */
  restart(): void {
    this.#started = true;
    this.#left = false;
    this.mesh?.close();
    this.mesh = null;
    this.lastError = null;
    this.#lastStatus = 'idle';
    let options = this.settings();
    void this.#saved?.flush();
    this.#saved = null;
    if (!options || !this.host.isConnected) {
      this.host.requestUpdate();
      return;
    }
    const saved = options.persist ? new SavedSession(options.server, options.room ?? 'lobby') : null;
    const resume = saved?.takeToken();
    if (resume) options = { ...options, resume };
    this.#saved = saved;
    const mesh = new Mesh(options);
    this.mesh = mesh;
    for (const type of RELAYED_EVENTS) {
      mesh.addEventListener(type, (event: Event) => {
        if (this.mesh !== mesh) return;
        const detail = (event as CustomEvent<MeshEventMap[typeof type]>).detail;
        // A chat message (or earlier ones) is announced before it is shown: the app may cancel it (filter, moderate).
        const shown = this.host.dispatchEvent(p2pEvent(type, detail));
        if ((type === 'message' || type === 'history') && !shown) return;
        this.#record(type, detail);
        this.host.requestUpdate();
      });
    }
    for (const text of this.#beforeMesh.splice(0)) this.send(text);
    const join = () => {
      mesh.connect();
      this.#onVisibility();
      this.host.requestUpdate();
    };
    if (!saved) return join();
    // The kept transcript first: the mesh must know those messages before any comes again.
    void saved.load().then((lines) => {
      if (this.mesh !== mesh) return;
      this.#restore(lines);
      mesh.remember(lines.map((line) => ({ ...line, ...(line.privateWith ? { private: true } : {}) })));
      join();
    });
  }

  /** Shows the lines kept from before the reload, above anything shown since (none already shown twice). */
  #restore(lines: readonly StoredLine[]): void {
    const shown = new Set<string>();
    for (const line of [...this.earlier, ...this.transcript]) if (line.kind === 'message' && line.id) shown.add(line.id);
    const restored: MessageLine[] = lines
      .filter((line) => !shown.has(line.id))
      .map((line) => ({
        kind: 'message',
        key: `r${++this.#keys}`,
        id: line.id,
        from: line.from,
        name: line.name,
        text: line.text,
        at: line.at,
        own: line.own === true,
        reached: 0,
        restored: true,
        ...(line.privateWith ? { privateWith: line.privateWith } : {}),
      }));
    this.transcript.unshift(...restored);
    for (const line of restored) if (line.own) this.#ownLines.set(line.id!, line);
  }

  /** The messages to keep (earlier ones and the transcript's), as the store takes them. */
  #storedLines(): StoredLine[] {
    const out: StoredLine[] = [];
    for (const line of [...this.earlier, ...this.transcript]) {
      if (line.kind !== 'message' || !line.id) continue;
      const { id, from, name, text, at, own, privateWith } = line;
      out.push({ id, from, name, text, at, ...(own ? { own } : {}), ...(privateWith ? { privateWith } : {}) });
    }
    return out;
  }

  /**
   * Forgets the room's messages: those shown (the transcript empties), those kept in this
   * browser (persist) and those this side would pass on to later joiners.
   */
  async clearHistory(): Promise<void> {
    const clear = () => {
      for (const line of this.transcript) if (line.kind === 'file' && line.url) URL.revokeObjectURL(line.url);
      this.transcript = [];
    };
    clear();
    // Lines still waiting for the file lines' module came before this: they go too once they are in.
    this.#waiting?.push(clear);
    this.earlier = [];
    this.#ownLines.clear();
    this.mesh?.clearHistory();
    this.host.requestUpdate();
    const options = this.settings();
    const saved = this.#saved ?? (options ? new SavedSession(options.server, options.room ?? 'lobby') : null);
    await saved?.clear();
  }

  /** Sends to the room, or privately to peer `to`. */
  send(text: string, to: string | null = null): SendResult {
    const mesh = this.mesh;
    if (!mesh && to === null && !this.#started && this.settings()) {
      // The page's script ran before the chat's first update: it goes to the mesh once there is one.
      this.#beforeMesh.push(text);
      return { message: null, sent: [], queued: [], waiting: true };
    }
    if (!mesh) return { message: null, sent: [], queued: [], error: 'signaling-unavailable' };
    const result = to === null ? mesh.send(text) : mesh.sendTo(to, text);
    if (result.message && !result.error) {
      const m = result.message;
      this.#push({
        kind: 'message',
        key: `m${++this.#keys}`,
        from: mesh.selfId ?? '',
        name: m.name,
        text: m.text,
        at: m.at,
        own: true,
        reached: result.sent.length + result.queued.length,
        id: m.id,
        delivered: 0,
        ...(result.waiting ? { waiting: true } : {}),
        ...(to === null ? {} : { privateWith: { id: to, name: this.#names.get(to) ?? 'a peer' } }),
      });
    }
    this.host.requestUpdate();
    return result;
  }

  /** Offers a file to every peer (or those of `to`): a line per peer shows how it goes. */
  async sendFile(file: Blob, to?: string | readonly string[]): Promise<string[]> {
    const mesh = this.mesh;
    if (!mesh) return [];
    const files = this.loadFiles();
    const ids = await mesh.sendFile(file, to === undefined ? {} : { to });
    await files;
    this.#files?.sent(file, ids);
    this.host.requestUpdate();
    return ids;
  }

  /** Whether a file's line was ever shown (its lines need their renderer, loaded on demand). */
  hasFiles = false;

  /** The file lines' bookkeeping, from the file-line chunk once it is in (null before, or if it could not load). */
  #files: FileTranscript | null = null;
  #filesLoading: Promise<typeof import('./file-line.js') | null> | null = null;
  /** While that chunk is on its way: the changes to the transcript, in order, applied once it is in. */
  #waiting: (() => void)[] | null = null;

  /**
   * Loads the file lines' module (bookkeeping and renderer), at the first file event or
   * file sent; resolves once what waited for it is in the transcript, with the module
   * (null if it could not load: file lines are left out).
   */
  loadFiles(): Promise<typeof import('./file-line.js') | null> {
    if (this.#filesLoading) return this.#filesLoading;
    this.#waiting = [];
    const host: FileTranscriptHost = {
      transcript: () => this.transcript,
      push: (line) => this.#insert(line),
      key: (prefix) => `${prefix}${++this.#keys}`,
      nameOf: (peer) => this.#names.get(peer),
    };
    const loaded = (module: typeof import('./file-line.js') | null) => {
      if (module) this.#files = new module.FileTranscript(host);
      const waiting = this.#waiting ?? [];
      this.#waiting = null;
      for (const change of waiting) change();
      this.host.requestUpdate();
      return module;
    };
    this.#filesLoading = import('./file-line.js').then(loaded, () => loaded(null));
    return this.#filesLoading;
  }

  /** A transfer's event: its line, now or once the file lines' module is in. */
  #fileEvent<K extends FileEventName>(type: K, detail: MeshEventMap[K]): void {
    this.hasFiles = true;
    if (this.#files) return this.#files.record(type, detail);
    void this.loadFiles();
    this.#waiting?.push(() => this.#files?.record(type, detail));
  }

  /** Peers typing now (id → when it stops showing), and the timer that clears the next one. */
  readonly #typing = new Map<string, number>();
  #typingTimer: ReturnType<typeof setTimeout> | null = null;

  /** The names of peers typing just now. */
  get typingNames(): string[] {
    const now = Date.now();
    return [...this.#typing].filter(([, until]) => until > now).map(([id]) => this.#names.get(id) ?? 'A peer');
  }

  #setTyping(id: string, typing: boolean): void {
    if (typing) this.#typing.set(id, Date.now() + TYPING_SHOWN_MS);
    else if (!this.#typing.delete(id)) return;
    this.#scheduleTypingExpiry();
  }

  /** One timer for the next "… is typing" to go. */
  #scheduleTypingExpiry(): void {
    if (this.#typingTimer) clearTimeout(this.#typingTimer);
    this.#typingTimer = null;
    if (this.#typing.size === 0) return;
    const next = Math.min(...this.#typing.values());
    this.#typingTimer = setTimeout(
      () => {
        const now = Date.now();
        for (const [peer, until] of this.#typing) if (until <= now) this.#typing.delete(peer);
        this.#scheduleTypingExpiry();
        this.host.requestUpdate();
      },
      Math.max(0, next - Date.now()) + 10,
    );
  }

  #record<K extends MeshEventName>(type: K, detail: MeshEventMap[K]): void {
    const now = Date.now();
    switch (type) {
      case 'typing':
        this.#setTyping((detail as MeshEventMap['typing']).id, true);
        return;
      case 'welcome': {
        // What was written before the join went out now, to the peers here.
        const peers = (detail as MeshEventMap['welcome']).peers.length;
        for (const line of this.#ownLines.values()) if (line.waiting) Object.assign(line, { waiting: false, reached: peers });
        return;
      }
      case 'message-status': {
        const d = detail as MeshEventMap['message-status'];
        const line = this.#ownLines.get(d.id);
        if (line) Object.assign(line, { delivered: d.delivered, confirmable: d.of });
        return;
      }
      case 'file-offer':
      case 'file-progress':
      case 'file-complete':
      case 'file-error':
        this.#fileEvent(type as FileEventName, detail as MeshEventMap[FileEventName]);
        return;
      case 'history':
        for (const message of (detail as MeshEventMap['history']).messages) this.#addEarlier(message);
        return;
      case 'message': {
        const d = detail as MeshEventMap['message'];
        this.#setTyping(d.from, false);
        this.onMessageShown?.(d);
        this.#push({
          kind: 'message',
          key: `m${++this.#keys}`,
          from: d.from,
          name: d.name,
          text: d.text,
          at: d.at,
          own: false,
          reached: 0,
          id: d.id,
          ...(d.private ? { privateWith: { id: d.from, name: d.name } } : {}),
        });
        return;
      }
      case 'verify-code': {
        const d = detail as MeshEventMap['verify-code'];
        if (!d.startedByPeer) return;
        const name = safeName(this.#names.get(d.id) ?? 'A peer');
        this.#notice((s) => s.asksToVerify(name));
        return;
      }
      case 'peer-join': {
        const d = detail as MeshEventMap['peer-join'];
        this.#names.set(d.id, d.name);
        this.#notice((s) => s.isHere(safeName(d.name)));
        return;
      }
      case 'peer-rename': {
        const d = detail as MeshEventMap['peer-rename'];
        this.#names.set(d.id, d.name);
        this.#notice((s) => s.isNow(safeName(d.previous), safeName(d.name)));
        return;
      }
      case 'peer-leave': {
        const d = detail as MeshEventMap['peer-leave'];
        this.#setTyping(d.id, false);
        const name = safeName(this.#names.get(d.id) ?? 'A peer');
        this.#notice((s) => s.left(name));
        return;
      }
      case 'status': {
        const d = detail as MeshEventMap['status'];
        // Back after an outage: say so, and the outage's error no longer stands.
        if (d.status === 'joined' && (this.#lastStatus === 'reconnecting' || this.#lastStatus === 'refused')) {
          this.lastError = null;
          if (this.#lastStatus === 'reconnecting') this.#notice((s) => s.reconnected);
        }
        this.#lastStatus = d.status;
        return;
      }
      case 'error': {
        const d = detail as MeshEventMap['error'];
        this.lastError = d;
        this.#push({ kind: 'notice', key: `n${++this.#keys}`, text: d.message, at: now, error: true, code: d.code });
        return;
      }
      default:
        return;
    }
  }

  /** A note in the chat's language (English as `text`). */
  #notice(say: (strings: ChatStrings) => string): void {
    this.#push({ kind: 'notice', key: `n${++this.#keys}`, text: say(EN), at: Date.now(), error: false, say });
  }

  /** Sorted in by sent time, then id: answers may come in more than one batch. */
  #addEarlier(d: MeshEventMap['message']): void {
    const line: MessageLine = {
      kind: 'message',
      key: `h${++this.#keys}`,
      from: d.from,
      name: d.name,
      text: d.text,
      at: d.at,
      own: d.from === this.selfId,
      reached: 0,
      id: d.id,
      via: { id: d.via ?? '', name: this.#names.get(d.via ?? '') ?? 'a peer' },
      ...(d.signed ? { signed: true as const, ...(d.signer ? { signer: d.signer } : {}) } : {}),
    };
    const after = (other: MessageLine) => other.at > line.at || (other.at === line.at && (other.id ?? '') > d.id);
    const at = this.earlier.findIndex(after);
    this.earlier.splice(at === -1 ? this.earlier.length : at, 0, line);
    if (this.earlier.length > this.maxLines) this.earlier.splice(0, this.earlier.length - this.maxLines);
    this.#saveSoon();
  }

  #saveSoon(): void {
    this.#saved?.saveSoon(() => this.#storedLines());
  }

  /** Own message lines by message id, for their receipts. */
  readonly #ownLines = new Map<string, MessageLine>();

  #push(line: TranscriptLine): void {
    if (line.kind === 'message' && line.own && line.id) this.#ownLines.set(line.id, line);
    // After the file lines that wait for their module (a line shows where its first event came).
    if (this.#waiting) this.#waiting.push(() => this.#insert(line));
    else this.#insert(line);
  }

  #insert(line: TranscriptLine): void {
    // In place: a burst of messages must not copy the whole transcript each time.
    this.transcript.push(line);
    if (line.kind === 'message') this.#saveSoon();
    if (this.transcript.length <= this.maxLines) return;
    for (const gone of this.transcript.splice(0, this.transcript.length - this.maxLines)) {
      if (gone.kind === 'file' && gone.url) URL.revokeObjectURL(gone.url);
      if (gone.kind === 'message' && gone.id) this.#ownLines.delete(gone.id);
    }
  }
}
