/**
 * The file lines of <p2p-chat>'s transcript (components/mesh-controller.ts): a line per
 * transfer, made at its first event and updated in place, and a peer's flood of offers
 * folded into one line. Only pages that see a file use it: it comes with the file lines'
 * renderer (the file-line chunk, which re-exports it), loaded at the first file event.
 */
import type { FileInfo, MeshEventMap } from '../client/mesh-events.js';
import { isInlineImage } from '../client/file-name.js';
import type { FileLine, FileOffersLine, TranscriptLine } from './mesh-controller.js';

/** What the file lines need of the transcript they are in. */
export interface FileTranscriptHost {
  /** The transcript now (the controller replaces it when it is cleared). */
  transcript(): TranscriptLine[];
  /** Adds a line at the end (trimming what is over the limit). */
  push(line: FileLine | FileOffersLine): void;
  /** A key unique in the transcript, starting with `prefix`. */
  key(prefix: string): string;
  nameOf(peer: string): string | undefined;
}

export type FileEventName = 'file-offer' | 'file-progress' | 'file-complete' | 'file-error';

/** A peer's offers fold into one line once this many of its offers wait (or were refused in the last FOLD_WINDOW_MS) and one more comes. */
const FOLD_AFTER = 3;
const FOLD_WINDOW_MS = 10_000;
/** Offers that ended without the file kept in a folded line; older ones are only counted. */
const FOLDED_ENDED_KEPT = 20;

/** A blob: URL of a file, typed application/octet-stream so that it is never opened as active content of this origin. */
function blobUrl(file: Blob): string {
  return URL.createObjectURL(new Blob([file], { type: 'application/octet-stream' }));
}

export class FileTranscript {
  /** The line of each transfer still under way. */
  readonly #files = new Map<string, FileLine>();
  /** Each peer's folded offers line (while it is in the transcript, new offers from that peer may join it). */
  readonly #folded = new Map<string, FileOffersLine>();
  /** The folded line each folded offer is in (weak: a folded line that left the transcript takes its offers along). */
  readonly #foldedIn = new WeakMap<FileLine, FileOffersLine>();

  constructor(private readonly host: FileTranscriptHost) {}

  record<K extends FileEventName>(type: K, detail: MeshEventMap[K]): void {
    switch (type) {
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
        if (d.file) line.url = blobUrl(d.file);
        this.#files.delete(d.id);
        return;
      }
      default: {
        const d = detail as MeshEventMap['file-error'];
        const line = this.#fileLine(d);
        Object.assign(line, { state: 'failed', error: d.message });
        this.#files.delete(d.id);
      }
    }
  }

  /** This side offered `file` as the transfers `ids`: an image's lines show it. */
  sent(file: Blob, ids: readonly string[]): void {
    if (!isInlineImage(file.type)) return;
    for (const id of ids) {
      const line = this.#files.get(id);
      // Refused at once (a relayed peer): the line exists already and says why.
      if (line && !line.url && line.state !== 'failed') line.url = blobUrl(file);
    }
  }

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
      key: this.host.key('f'),
      at: Date.now(),
      peerName: this.host.nameOf(info.peer) ?? 'a peer',
      state: 'offered',
      bytes: 0,
      percent: 0,
      bytesPerSecond: 0,
      secondsLeft: null,
      url: null,
      error: null,
    };
    this.#files.set(info.id, line);
    if (!fold || !this.#fold(line, fold)) this.host.push(line);
    return line;
  }

  /** Puts an incoming offer's new line into its peer's folded line, making that line if it is time; false: it stands alone. */
  #fold(line: FileLine, kind: 'offer' | 'refusal'): boolean {
    const now = Date.now();
    const transcript = this.host.transcript();
    let folded = this.#folded.get(line.peer);
    // Open while offers in it wait for an answer, or while refusals keep coming.
    const open =
      folded &&
      transcript.includes(folded) &&
      (folded.offers.some((offer) => offer.state === 'offered') || (kind === 'refusal' && now - folded.lastAt < FOLD_WINDOW_MS));
    if (!open) {
      // The peer's own lines that still wait, or were refused just now: with this one, too many to show one by one?
      const loose = transcript.filter(
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
        key: this.host.key('o'),
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
      transcript.splice(transcript.indexOf(loose[0]!), 1, folded);
      for (const other of loose.slice(1)) transcript.splice(transcript.indexOf(other), 1);
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
    this.host.push(line);
  }
}
