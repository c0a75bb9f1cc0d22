/**
 * The mesh's files (protocol/file.ts), loaded on demand (a sibling file of the drop-in
 * build) at the first file sent or offered. A file goes to each chosen peer as its own
 * transfer: an offer on the chat channel; once accepted, the bytes on a data channel of
 * their own (client/file-transfer.ts), so chat keeps flowing beside a big file; the
 * receiver checks every block's SHA-256 and says `file-done`, and only then do both sides
 * call the file verified. Pairs on the server relay are refused: files are never pushed
 * through the signaling server.
 */
import { FILE_LIMITS, encodeChannelMessage, type ChannelMessage, type ErrorCode, type FileMessage, type FileOfferMessage } from '../protocol/index.js';
import type { PeerLink } from './peer-link.js';
import type { FileInfo, MeshEventMap } from './mesh-events.js';
import { FileReceiver, FileSender, chunkSizeFor } from './file-transfer.js';
import { isInlineImage, safeFileName } from './file-name.js';
import { toBase64url } from './base64url.js';

type FileEvent = 'file-offer' | 'file-progress' | 'file-complete' | 'file-error';

/**
 * What peers may make this side hold (README, "Files and images"): each limit has a
 * default here and may be set through the hooks' `limits()`, read at each offer.
 */
export interface FileLimits {
  /** Offers larger than this (bytes) are declined at once. */
  readonly maxFileSize: number;
  /** Raster images up to this size (bytes) come in without asking, within the limits below; 0: never. */
  readonly autoAcceptImages: number;
  /** Offers from one peer waiting for an answer at once; more are declined (the sender is told, this side says it once). */
  readonly maxPendingOffers?: number;
  /** Bytes of images one peer may have accepted without asking in any minute; beyond, its images ask. */
  readonly autoAcceptBytesPerMinute?: number;
  /** Images one peer may have accepted without asking in any minute; beyond, its images ask. */
  readonly autoAcceptFilesPerMinute?: number;
  /** Bytes of files received this session (kept on disk or in memory) beyond which no image comes in without asking. */
  readonly receivedQuota?: number;
  /** An accepted transfer whose channel has not opened, or whose first bytes have not come, within this many ms fails. */
  readonly startTimeout?: number;
}

/** The defaults of the optional limits. */
export const FILE_LIMIT_DEFAULTS = {
  maxPendingOffers: 20,
  autoAcceptBytesPerMinute: 50_000_000,
  autoAcceptFilesPerMinute: 20,
  receivedQuota: 200_000_000,
  startTimeout: 30_000,
} as const satisfies Required<Omit<FileLimits, 'maxFileSize' | 'autoAcceptImages'>>;

export interface FilesHooks {
  /** The open direct link to a peer, if it takes files; else the refusal to report. */
  reach(peer: string): PeerLink | { code: ErrorCode; message: string };
  parse(text: string): ChannelMessage | null;
  emit<K extends FileEvent>(type: K, detail: MeshEventMap[K]): void;
  /** The receiving side's limits, read at each offer. */
  limits(): FileLimits;
}

type State = 'offered' | 'accepted' | 'moving' | 'verifying' | 'done' | 'over';

interface Transfer {
  readonly info: FileInfo;
  readonly offer: FileOfferMessage;
  readonly link: PeerLink;
  state: State;
  file?: Blob;
  channel?: RTCDataChannel;
  sender?: FileSender;
  receiver?: FileReceiver;
  started: number;
  lastProgressAt: number;
  /** Fails the transfer if its bytes have not begun in time (cleared once they have). */
  startTimer?: ReturnType<typeof setTimeout>;
  /** Received bytes this transfer holds of the session's quota (given back if it fails). */
  counted?: number;
}

const BLOCK_SIZE = 1024 * 1024;
const PROGRESS_EVERY_MS = 100;
/** How long a closed transfer channel waits for the other side's `file-cancel` before calling it a failure. */
const CANCEL_GRACE_MS = 1000;
/**
 * The receiver says `ready` again this often until the first bytes come, at most this many
 * times: a `ready` lost on the way (as the chat channel's was in Firefox) would otherwise
 * stall the transfer until its channel closed. The sender starts on the first it hears.
 */
const READY_REPEAT_MS = 500;
const READY_REPEATS = 20;
const MINUTE_MS = 60_000;

export class MeshFiles {
  readonly #transfers = new Map<string, Transfer>();
  /** Peers told that their offers are declined for being too many (said once, until they fit again). */
  readonly #floodSaid = new Set<string>();
  /** Images each peer had accepted without asking in the last minute: when, and how large. */
  readonly #autoAccepted = new Map<string, { at: number; bytes: number }[]>();
  /** Bytes of files received (or on their way in) this session, against `receivedQuota`. */
  #received = 0;

  constructor(readonly hooks: FilesHooks) {}

  /** Bytes of files received this session, and of those on their way in (failed ones no longer count). */
  get receivedBytes(): number {
    return this.#received;
  }

  /** Transfers this side keeps: offers waiting for an answer, and transfers under way (either way). */
  get size(): number {
    return this.#transfers.size;
  }

  /** Offers `file` to each peer of `to`; returns the transfers' ids (refusals are reported as `file-error`). */
  send(file: Blob, name: string, to: readonly string[]): string[] {
    const ids: string[] = [];
    for (const peer of to) {
      const id = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
      const offer: FileOfferMessage = {
        type: 'file-offer',
        id,
        name: [...(name || 'file')].slice(0, FILE_LIMITS.maxNameLength).join(''),
        size: file.size,
        mime: file.type.slice(0, FILE_LIMITS.maxTypeLength),
        blockSize: BLOCK_SIZE,
      };
      const info: FileInfo = { id, peer, direction: 'out', name: safeFileName(offer.name), size: file.size, mime: offer.mime };
      ids.push(id);
      const reach = this.hooks.reach(peer);
      if (!('pc' in reach)) {
        this.hooks.emit('file-error', { ...info, ...reach });
        continue;
      }
      this.#transfers.set(id, { info, offer, link: reach, state: 'offered', file, started: 0, lastProgressAt: 0 });
      reach.sendControl(offer);
    }
    return ids;
  }

  accept(id: string): boolean {
    const transfer = this.#transfers.get(id);
    if (!transfer || transfer.info.direction !== 'in' || transfer.state !== 'offered') return false;
    transfer.state = 'accepted';
    transfer.started = performance.now();
    transfer.counted = transfer.offer.size;
    this.#received += transfer.counted;
    this.#expectStart(transfer, (time) => `The transfer did not start: nothing came from the sender within ${time} of accepting.`);
    transfer.receiver = new FileReceiver(transfer.offer, {
      progress: (bytes) => this.#progress(transfer, bytes),
      complete: (file) => {
        transfer.state = 'done';
        try {
          transfer.channel?.send(JSON.stringify({ type: 'file-done', id }));
        } catch {
          // The channel closed just now: the sender will say it was not verified; we have the file.
        }
        this.#progress(transfer, transfer.offer.size, true);
        this.#transfers.delete(id);
        this.hooks.emit('file-complete', { ...transfer.info, file, verified: true });
      },
      failed: (reason) => this.#end(transfer, 'file-failed', reason, true),
    });
    return transfer.link.sendControl({ type: 'file-accept', id });
  }

  decline(id: string): boolean {
    const transfer = this.#transfers.get(id);
    if (!transfer || transfer.info.direction !== 'in' || transfer.state !== 'offered') return false;
    transfer.link.sendControl({ type: 'file-decline', id });
    this.#end(transfer, 'file-declined', 'You declined the file.', false);
    return true;
  }

  cancel(id: string): boolean {
    const transfer = this.#transfers.get(id);
    if (!transfer) return false;
    this.#end(transfer, 'file-cancelled', 'You cancelled the transfer.', true);
    return true;
  }

  /** A file message from `peer`'s chat channel. */
  control(peer: string, link: PeerLink, message: FileMessage): void {
    if (message.type === 'file-offer') return this.#offered(peer, link, message);
    const transfer = this.#transfers.get(message.id);
    // Another peer's transfer, or one that is over: nothing to do with it.
    if (!transfer || transfer.info.peer !== peer) return;
    const { direction } = transfer.info;
    if (message.type === 'file-accept' && direction === 'out' && transfer.state === 'offered') this.#start(transfer);
    else if (message.type === 'file-decline' && direction === 'out' && transfer.state === 'offered')
      this.#end(transfer, 'file-declined', `${transfer.info.name} was declined.`, false);
    else if (message.type === 'file-cancel')
      this.#end(transfer, 'file-cancelled', `The transfer was cancelled by the other side${message.reason ? `: ${message.reason}` : '.'}`, false);
  }

  /** A transfer's data channel, opened by `peer` (the sender). */
  channel(peer: string, channel: RTCDataChannel): void {
    const id = channel.label.slice('file-'.length);
    const transfer = this.#transfers.get(id);
    if (!transfer || transfer.info.peer !== peer || transfer.info.direction !== 'in' || transfer.state !== 'accepted') {
      channel.close();
      return;
    }
    transfer.state = 'moving';
    transfer.channel = channel;
    channel.binaryType = 'arraybuffer';
    const receiver = transfer.receiver!;
    let repeats: ReturnType<typeof setInterval> | undefined;
    const stopRepeating = () => clearInterval(repeats);
    channel.addEventListener('message', (event: MessageEvent) => {
      stopRepeating();
      clearTimeout(transfer.startTimer);
      if (typeof event.data !== 'string') return receiver.chunk(event.data as ArrayBuffer);
      const message = this.hooks.parse(event.data);
      if (message?.type === 'file-block' && message.id === id) receiver.block(message);
      else receiver.fail('The sender sent something else than the file on its channel.');
    });
    // We listen now: the sender starts on this (Node's WebRTC reorders, and holds back, what
    // arrives on a channel before its script has the channel object: measured, bench/README.md).
    const ready = encodeChannelMessage({ type: 'ready' });
    const listening = () => {
      if (channel.readyState !== 'open') return;
      channel.send(ready);
      let left = READY_REPEATS;
      repeats = setInterval(() => {
        if (--left < 0 || channel.readyState !== 'open' || receiver.over) stopRepeating();
        else channel.send(ready);
      }, READY_REPEAT_MS);
    };
    if (channel.readyState === 'open') listening();
    else channel.addEventListener('open', listening, { once: true });
    channel.addEventListener('close', () => {
      stopRepeating();
      // A sender that cancels says so on the chat channel, which may arrive just after this close.
      setTimeout(() => {
        if (!receiver.over) receiver.fail('The connection closed before the file was complete.');
      }, CANCEL_GRACE_MS);
    });
  }

  /** The peer left, or its connection is gone: its transfers end. */
  peerGone(peer: string): void {
    for (const transfer of [...this.#transfers.values()]) {
      if (transfer.info.peer === peer) this.#end(transfer, 'file-failed', 'The other side left before the transfer ended.', false);
    }
    this.#floodSaid.delete(peer);
    this.#autoAccepted.delete(peer);
  }

  /** Every transfer ends (the mesh closes): nothing waits or holds memory after. */
  close(): void {
    for (const peer of new Set([...this.#transfers.values()].map((transfer) => transfer.info.peer))) this.peerGone(peer);
  }

  #offered(peer: string, link: PeerLink, offer: FileOfferMessage): void {
    const info: FileInfo = { id: offer.id, peer, direction: 'in', name: safeFileName(offer.name), size: offer.size, mime: offer.mime };
    if (this.#transfers.has(offer.id)) {
      link.sendControl({ type: 'file-decline', id: offer.id });
      return;
    }
    const limits = this.#limits();
    // A flood costs this side a bounded number of offers: the rest are declined, and said once.
    let waiting = 0;
    for (const other of this.#transfers.values()) if (other.info.peer === peer && other.info.direction === 'in' && other.state === 'offered') waiting++;
    if (waiting >= limits.maxPendingOffers) {
      link.sendControl({ type: 'file-decline', id: offer.id });
      if (this.#floodSaid.has(peer)) return;
      this.#floodSaid.add(peer);
      this.hooks.emit('file-error', {
        ...info,
        code: 'file-declined',
        message: `Too many files offered at once: ${waiting} are waiting for an answer, so this one and any more from this peer are declined until you answer some.`,
      });
      return;
    }
    this.#floodSaid.delete(peer);
    const transfer: Transfer = { info, offer, link, state: 'offered', started: 0, lastProgressAt: 0 };
    this.#transfers.set(offer.id, transfer);
    if (offer.size > limits.maxFileSize) {
      link.sendControl({ type: 'file-decline', id: offer.id });
      this.#end(transfer, 'file-too-large', `${info.name} (${offer.size} bytes) is larger than this chat accepts (${limits.maxFileSize} bytes).`, false);
      return;
    }
    const autoAccept = isInlineImage(offer.mime) && offer.size <= limits.autoAcceptImages && this.#mayAutoAccept(peer, offer.size, limits);
    this.hooks.emit('file-offer', { ...info, autoAccept });
    if (autoAccept) this.accept(offer.id);
  }

  /** The limits now: the hooks' where they give a number, the defaults for the rest. */
  #limits(): Required<FileLimits> {
    const given = this.hooks.limits();
    const pick = (key: keyof typeof FILE_LIMIT_DEFAULTS) => {
      const value = given[key];
      return typeof value === 'number' && value >= 0 ? value : FILE_LIMIT_DEFAULTS[key];
    };
    return {
      maxFileSize: given.maxFileSize,
      autoAcceptImages: given.autoAcceptImages,
      maxPendingOffers: pick('maxPendingOffers'),
      autoAcceptBytesPerMinute: pick('autoAcceptBytesPerMinute'),
      autoAcceptFilesPerMinute: pick('autoAcceptFilesPerMinute'),
      receivedQuota: pick('receivedQuota'),
      startTimeout: pick('startTimeout'),
    };
  }

  /**
   * Whether an image of `size` bytes from `peer` may come in without asking: within the
   * peer's allowance for the last minute (bytes and count) and the session's quota. If so,
   * it is counted against the allowance.
   */
  #mayAutoAccept(peer: string, size: number, limits: Required<FileLimits>): boolean {
    const now = performance.now();
    const recent = (this.#autoAccepted.get(peer) ?? []).filter((entry) => now - entry.at < MINUTE_MS);
    const bytes = recent.reduce((sum, entry) => sum + entry.bytes, 0);
    const allowed =
      recent.length < limits.autoAcceptFilesPerMinute && bytes + size <= limits.autoAcceptBytesPerMinute && this.#received + size <= limits.receivedQuota;
    if (allowed) recent.push({ at: now, bytes: size });
    this.#autoAccepted.set(peer, recent);
    return allowed;
  }

  /**
   * Ends `transfer` (both sides told, its memory released) unless its bytes begin within the
   * start timeout: the caller clears the timer when they do. An accepted transfer whose
   * channel never opens would otherwise wait for ever.
   */
  #expectStart(transfer: Transfer, message: (time: string) => string): void {
    const ms = this.#limits().startTimeout;
    clearTimeout(transfer.startTimer);
    const time = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    transfer.startTimer = setTimeout(() => this.#end(transfer, 'file-failed', message(time), true), ms);
  }

  #start(transfer: Transfer): void {
    transfer.state = 'moving';
    transfer.started = performance.now();
    const channel = transfer.link.openFileChannel(transfer.info.id);
    transfer.channel = channel;
    const sender = new FileSender(transfer.offer, transfer.file!, channel, { chunkSize: chunkSizeFor(transfer.link.maxMessageSize) });
    transfer.sender = sender;
    let heardReady = false;
    let started = false;
    this.#expectStart(transfer, (time) => `The transfer did not start: the receiver was not listening on the file's channel ${time} after accepting.`);
    // The bytes go once the receiver listens (its `ready`) and the channel is open here
    // (a busy browser may hand over that first message before its `open` event).
    const start = () => {
      if (started || !heardReady || channel.readyState !== 'open') return;
      started = true;
      clearTimeout(transfer.startTimer);
      sender
        .run((bytes) => this.#progress(transfer, bytes))
        .then(
          () => {
            if (transfer.state !== 'moving') return;
            transfer.state = 'verifying';
            this.#progress(transfer, transfer.offer.size, true);
          },
          (error: unknown) => {
            // Cancelled (#end has said why) or closed (the close handler will): else, say what stopped it.
            if (transfer.state === 'moving' && channel.readyState === 'open')
              this.#end(transfer, 'file-failed', error instanceof Error ? error.message : String(error), true);
          },
        );
    };
    channel.addEventListener('open', start);
    channel.addEventListener('message', (event: MessageEvent) => {
      const message = typeof event.data === 'string' ? this.hooks.parse(event.data) : null;
      if (message?.type === 'ready') {
        heardReady = true;
        start();
      } else if (message?.type === 'file-done' && transfer.state !== 'over') {
        transfer.state = 'done';
        this.#transfers.delete(transfer.info.id);
        channel.close();
        this.hooks.emit('file-complete', { ...transfer.info, file: null, verified: true });
      }
    });
    channel.addEventListener('close', () => {
      // A receiver that cancels says so on the chat channel, which may arrive just after this close.
      setTimeout(() => {
        if (transfer.state === 'moving' || transfer.state === 'verifying')
          this.#end(transfer, 'file-failed', 'The connection closed before the file was verified.', false);
      }, CANCEL_GRACE_MS);
    });
  }

  #progress(transfer: Transfer, bytes: number, force = false): void {
    const now = performance.now();
    if (!force && now - transfer.lastProgressAt < PROGRESS_EVERY_MS) return;
    transfer.lastProgressAt = now;
    const seconds = (now - transfer.started) / 1000;
    const bytesPerSecond = seconds > 0 ? bytes / seconds : 0;
    const size = transfer.offer.size;
    this.hooks.emit('file-progress', {
      ...transfer.info,
      bytes,
      percent: size === 0 ? 100 : Math.min(100, (bytes / size) * 100),
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? (size - bytes) / bytesPerSecond : null,
    });
  }

  /** Ends a transfer: tells the other side (if `tell`), closes its channel, reports why. */
  #end(transfer: Transfer, code: ErrorCode, message: string, tell: boolean): void {
    if (transfer.state === 'over' || transfer.state === 'done') return;
    transfer.state = 'over';
    this.#transfers.delete(transfer.info.id);
    clearTimeout(transfer.startTimer);
    // What was written of it is removed (the receiver's abort): it no longer counts.
    this.#received -= transfer.counted ?? 0;
    transfer.counted = 0;
    transfer.sender?.cancel();
    if (transfer.receiver && !transfer.receiver.over) transfer.receiver.fail(message);
    if (tell) transfer.link.sendControl({ type: 'file-cancel', id: transfer.info.id, reason: message.slice(0, FILE_LIMITS.maxReasonLength) });
    transfer.channel?.close();
    this.hooks.emit('file-error', { ...transfer.info, code, message });
  }
}
