/**
 * Moving one file's bytes over its own data channel (protocol/file.ts): the sender reads
 * the file a block at a time (so memory stays bounded whatever the file's size), sends it
 * in chunks as fast as the channel's buffer drains (high and low water marks on
 * `bufferedAmount`, no acknowledgements), and follows each block with its SHA-256. The
 * receiver keeps each block as a Blob once its hash matched and ends the transfer at the
 * first byte too many, hash out of order or hash that does not match.
 */
import { openBlockSink, type BlockSink } from './received-file-store.js';
import { blockCount, FILE_LIMITS, type FileBlockMessage, type FileOfferMessage } from '../protocol/index.js';
import { toBase64url } from './base64url.js';

/** What the transfer needs of an RTCDataChannel. */
export interface TransferChannel {
  readonly readyState: RTCDataChannelState;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: string | ArrayBufferView<ArrayBuffer>): void;
  addEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void;
  removeEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void;
}

export interface SendOptions {
  /** Bytes per binary message: from the negotiated maxMessageSize, at most 64 KiB, 16 KiB when unknown. */
  readonly chunkSize: number;
  /** Stop filling the channel's buffer above this many bytes… */
  readonly highWater?: number;
  /** …and go on once it has drained to this. */
  readonly lowWater?: number;
}

/** The chunk size for a connection's `sctp.maxMessageSize` (0 or absent: unknown). */
export function chunkSizeFor(maxMessageSize: number | null | undefined): number {
  if (!maxMessageSize || !Number.isFinite(maxMessageSize)) return 16 * 1024;
  return Math.max(1024, Math.min(64 * 1024, maxMessageSize));
}

async function sha256(data: BufferSource): Promise<string> {
  return toBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
}

export class TransferClosed extends Error {}

/** How long the sender waits for `bufferedamountlow` before it looks at the buffer again. */
const RECHECK_MS = 50;

export class FileSender {
  #cancelled = false;

  constructor(
    readonly offer: FileOfferMessage,
    readonly file: Blob,
    readonly channel: TransferChannel,
    readonly options: SendOptions,
  ) {}

  /** Stops at the next chunk; `run` then rejects with TransferClosed. */
  cancel(): void {
    this.#cancelled = true;
  }

  /** Sends every chunk and block hash; `progress` gets the bytes handed to the channel so far. */
  async run(progress: (sent: number) => void = () => {}): Promise<void> {
    const { channel, offer } = this;
    const chunkSize = Math.min(this.options.chunkSize, FILE_LIMITS.maxChunkSize);
    const highWater = this.options.highWater ?? 256 * 1024;
    channel.bufferedAmountLowThreshold = this.options.lowWater ?? 64 * 1024;
    let sent = 0;
    const blocks = blockCount(offer.size, offer.blockSize);
    // The next block is read, and each block hashed, while the one before goes out.
    const read = (index: number) => {
      const start = index * offer.blockSize;
      return this.file
        .slice(start, Math.min(start + offer.blockSize, offer.size))
        .arrayBuffer()
        .then((buffer) => new Uint8Array(buffer));
    };
    let next = read(0);
    for (let index = 0; index < blocks; index++) {
      const block = await next;
      const start = index * offer.blockSize;
      if (start + block.length > offer.size || (block.length < offer.blockSize && start + block.length !== offer.size)) {
        throw new TransferClosed('The file changed while it was being sent.');
      }
      if (index + 1 < blocks) {
        next = read(index + 1);
        // Awaited at the next turn; if the transfer ends first, its failure is of no interest.
        next.catch(() => {});
      }
      const hash = sha256(block);
      hash.catch(() => {});
      for (let at = 0; at < block.length; at += chunkSize) {
        await this.#room(highWater);
        const chunk = block.subarray(at, Math.min(at + chunkSize, block.length));
        channel.send(chunk);
        sent += chunk.length;
        progress(sent);
      }
      await this.#room(highWater);
      channel.send(JSON.stringify({ type: 'file-block', id: offer.id, index, hash: await hash } satisfies FileBlockMessage));
    }
  }

  /** Resolves once the channel's buffer has room; rejects if the transfer is over. */
  async #room(highWater: number): Promise<void> {
    const { channel } = this;
    for (;;) {
      if (this.#cancelled || channel.readyState !== 'open') throw new TransferClosed('The transfer was cancelled or its channel closed.');
      if (channel.bufferedAmount <= highWater) return;
      await new Promise<void>((resolve) => {
        // Also looked at again after a while: Node's WebRTC never fires bufferedamountlow.
        const timer = setTimeout(() => done(), RECHECK_MS);
        const done = () => {
          clearTimeout(timer);
          channel.removeEventListener('bufferedamountlow', done);
          channel.removeEventListener('close', done);
          resolve();
        };
        channel.addEventListener('bufferedamountlow', done);
        channel.addEventListener('close', done);
      });
    }
  }
}

export interface ReceiverHooks {
  progress(received: number): void;
  /** Every block arrived and matched its hash. */
  complete(file: Blob): void;
  failed(reason: string): void;
}

export class FileReceiver {
  /** Where verified blocks go, opened with the first one. */
  #sink: Promise<BlockSink> | null = null;
  #block: Uint8Array[] = [];
  #blockBytes = 0;
  #received = 0;
  #index = 0;
  #over = false;
  /** Hashing is asynchronous: blocks are checked one after the other, in order. */
  #checking: Promise<void> = Promise.resolve();

  constructor(
    readonly offer: FileOfferMessage,
    readonly hooks: ReceiverHooks,
  ) {}

  get received(): number {
    return this.#received;
  }

  get over(): boolean {
    return this.#over;
  }

  /** A binary message from the transfer's channel. */
  chunk(data: ArrayBuffer): void {
    if (this.#over) return;
    const { size, blockSize } = this.offer;
    if (data.byteLength > FILE_LIMITS.maxChunkSize) return this.fail(`A chunk of ${data.byteLength} bytes is larger than allowed.`);
    if (this.#received + data.byteLength > size) return this.fail('The sender sent more bytes than it announced.');
    if (this.#blockBytes + data.byteLength > Math.min(blockSize, size - this.#index * blockSize)) return this.fail('A chunk runs past the end of its block.');
    this.#block.push(new Uint8Array(data));
    this.#blockBytes += data.byteLength;
    this.#received += data.byteLength;
    this.hooks.progress(this.#received);
  }

  /** A block's hash, after its bytes. */
  block(message: FileBlockMessage): void {
    if (this.#over) return;
    const { size, blockSize } = this.offer;
    const expected = Math.min(blockSize, size - this.#index * blockSize);
    if (message.index !== this.#index) return this.fail(`The hash of block ${message.index} came where block ${this.#index}'s was due.`);
    if (this.#blockBytes !== expected) return this.fail(`The hash of block ${message.index} came before all of its bytes.`);
    const parts = this.#block;
    const last = this.#index === blockCount(size, blockSize) - 1;
    this.#block = [];
    this.#blockBytes = 0;
    this.#index++;
    // One copy into a block-sized buffer (hashed here, in this process), kept as a Blob once it matched.
    const bytes = new Uint8Array(expected);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    this.#checking = this.#checking.then(async () => {
      if ((await sha256(bytes)) !== message.hash) return this.fail(`Block ${message.index} does not match its hash.`);
      if (this.#over) return;
      const sink = await this.#openSink();
      try {
        await sink.write(bytes);
        if (!last || this.#over) return;
        this.#over = true;
        this.hooks.complete(await sink.finish(this.offer.mime));
      } catch (error) {
        this.#over = false;
        this.fail(`The file could not be kept: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  /** Ends the transfer here (a violation, a cancel, the channel closing early). */
  fail(reason: string): void {
    if (this.#over) return;
    this.#over = true;
    this.#block = [];
    void this.#sink?.then((sink) => sink.abort());
    this.hooks.failed(reason);
  }

  /** A file in OPFS where the browser has it, else memory (client/received-file-store.ts). */
  #openSink(): Promise<BlockSink> {
    this.#sink ??= openBlockSink(this.offer.id);
    return this.#sink;
  }
}
