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
import { isInlineImage } from '../client/file-name.js';
import type { StoredLine } from '../client/transcript-store.js';
import { SavedSession } from './saved-session.js';
import { EN, type ChatStrings } from './chat-strings.js';
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
/** A peer's offers fold into one line once this many of its offers wait (or were refused in the last FOLD_WINDOW_MS) and one more comes. */
const FOLD_AFTER = 3;
const FOLD_WINDOW_MS = 10_000;
/** Offers that ended without the file kept in a folded line; older ones are only counted. */
const FOLDED_ENDED_KEPT = 20;

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
    for (const line of this.transcript) if (line.kind === 'file' && line.url) URL.revokeObjectURL(line.url);
    this.transcript = [];
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
    const ids = await mesh.sendFile(file, to === undefined ? {} : { to });
    const image = isInlineImage(file.type);
    for (const id of ids) {
      const line = this.#files.get(id);
      // Refused at once (a relayed peer): the line exists already and says why.
      if (line && !line.url && image && line.state !== 'failed') line.url = URL.createObjectURL(new Blob([file], { type: 'application/octet-stream' }));
    }
    this.host.requestUpdate();
    return ids;
  }

  readonly #files = new Map<string, FileLine>();

  /** Whether a file's line was ever shown (its lines need their renderer, loaded on demand). */
  hasFiles = false;

  /** Each peer's folded offers line (while it is in the transcript, new offers from that peer may join it). */
  readonly #folded = new Map<string, FileOffersLine>();
  /** The folded line each folded offer is in (weak: a folded line that left the transcript takes its offers along). */
  readonly #foldedIn = new WeakMap<FileLine, FileOffersLine>();

  /**
   * The line of a transfer, made at its first event. An offer from a peer that already has
   * several waiting (a flood, or many files at once) goes into that peer's one folded line
   * instead of a line of its own, as does a refusal (too large, too many) while more come;
   * `fold` says which this is (an incoming transfer first heard of by its error was
   * refused), null for a line that always stands alone (sent, or an image that came in by
   * itself). An offer found there once it is under way moves out to a line of its own.
   */
  #fileLine(info: FileInfo, fold: 'offer' | 'refusal' | null = info.direction === 'in' ? 'refusal' : null): FileLine {
    const known = this.#files.get(info.id);
    if (known) {
      this.#unfold(known);
      return known;
    }
    const line: FileLine = {
      ...info,
      kind: 'file',
      key: `f${++this.#keys}`,
      at: Date.now(),
      peerName: this.#names.get(info.peer) ?? 'a peer',
      state: 'offered',
      bytes: 0,
      percent: 0,
      bytesPerSecond: 0,
      secondsLeft: null,
      url: null,
      error: null,
    };
    this.#files.set(info.id, line);
    this.hasFiles = true;
    if (!fold || !this.#fold(line, fold)) this.#push(line);
    return line;
  }

  /** Puts an incoming offer's new line into its peer's folded line, making that line if it is time; false: it stands alone. */
  #fold(line: FileLine, kind: 'offer' | 'refusal'): boolean {
    const now = Date.now();
    let folded = this.#folded.get(line.peer);
    // Open while offers in it wait for an answer, or while refusals keep coming.
    const open =
      folded &&
      this.transcript.includes(folded) &&
      (folded.offers.some((offer) => offer.state === 'offered') || (kind === 'refusal' && now - folded.lastAt < FOLD_WINDOW_MS));
    if (!open) {
      // The peer's own lines that still wait, or were refused just now: with this one, too many to show one by one?
      const loose = this.transcript.filter(
        (other): other is FileLine =>
          other.kind === 'file' &&
          !('offers' in other) &&
          other.direction === 'in' &&
          other.peer === line.peer &&
          (other.state === 'offered' || (other.state === 'failed' && now - other.at < FOLD_WINDOW_MS)),
      );
      if (loose.length < FOLD_AFTER) return false;
      folded = {
        kind: 'file',
        key: `o${++this.#keys}`,
        at: loose[0]!.at,
        peer: line.peer,
        peerName: line.peerName,
        offers: [],
        count: 0,
        bytes: 0,
        accepted: 0,
        lastAt: now,
        url: null,
      };
      this.transcript.splice(this.transcript.indexOf(loose[0]!), 1, folded);
      for (const other of loose.slice(1)) this.transcript.splice(this.transcript.indexOf(other), 1);
      this.#folded.set(line.peer, folded);
      for (const other of loose) this.#addFolded(folded, other);
    }
    this.#addFolded(folded!, line);
    return true;
  }

  #addFolded(folded: FileOffersLine, line: FileLine): void {
    folded.offers.push(line);
    folded.count++;
    folded.bytes += line.size;
    folded.lastAt = Date.now();
    this.#foldedIn.set(line, folded);
    // Bounded, whatever a peer sends: of the offers that ended, the latest are kept to show.
    const ended = folded.offers.filter((offer) => offer.state === 'failed');
    for (const gone of ended.slice(0, Math.max(0, ended.length - FOLDED_ENDED_KEPT))) {
      folded.offers.splice(folded.offers.indexOf(gone), 1);
      this.#foldedIn.delete(gone);
    }
  }

  /** A folded offer that is under way (accepted) gets a line of its own, where its progress and file show. */
  #unfold(line: FileLine): void {
    const folded = this.#foldedIn.get(line);
    if (!folded || line.state === 'offered' || line.state === 'failed') return;
    this.#foldedIn.delete(line);
    folded.offers.splice(folded.offers.indexOf(line), 1);
    folded.accepted++;
    this.#push(line);
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
      case 'file-offer': {
        const d = detail as MeshEventMap['file-offer'];
        // An image that came in by itself shows as it arrives, never folded.
        const line = this.#fileLine(d, d.autoAccept ? null : 'offer');
        if (d.autoAccept) line.state = 'moving';
        return;
      }
      case 'file-progress': {
        const d = detail as MeshEventMap['file-progress'];
        const line = this.#fileLine(d);
        if (line.state === 'done' || line.state === 'failed') return;
        Object.assign(line, { bytes: d.bytes, percent: d.percent, bytesPerSecond: d.bytesPerSecond, secondsLeft: d.secondsLeft });
        line.state = d.direction === 'out' && d.bytes >= d.size ? 'verifying' : 'moving';
        return;
      }
      case 'file-complete': {
        const d = detail as MeshEventMap['file-complete'];
        const line = this.#fileLine(d);
        Object.assign(line, { state: 'done', bytes: d.size, percent: 100, secondsLeft: 0 });
        if (d.file) line.url = URL.createObjectURL(new Blob([d.file], { type: 'application/octet-stream' }));
        this.#files.delete(d.id);
        return;
      }
      case 'file-error': {
        const d = detail as MeshEventMap['file-error'];
        const line = this.#fileLine(d);
        Object.assign(line, { state: 'failed', error: d.message });
        this.#files.delete(d.id);
        return;
      }
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
    // In place: a burst of messages must not copy the whole transcript each time.
    this.transcript.push(line);
    if (line.kind === 'message' && line.own && line.id) this.#ownLines.set(line.id, line);
    if (line.kind === 'message') this.#saveSoon();
    if (this.transcript.length <= this.maxLines) return;
    for (const gone of this.transcript.splice(0, this.transcript.length - this.maxLines)) {
      if (gone.kind === 'file' && gone.url) URL.revokeObjectURL(gone.url);
      if (gone.kind === 'message' && gone.id) this.#ownLines.delete(gone.id);
    }
  }
}
