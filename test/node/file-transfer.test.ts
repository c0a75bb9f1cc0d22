/**
 * Files without browsers: the protocol's file messages, hostile names, and a sender and
 * receiver over an in-memory channel that models `bufferedAmount` (it drains a slice at a
 * time, as SCTP would), with real WebCrypto hashes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { FileReceiver, FileSender, TransferClosed, chunkSizeFor, type TransferChannel } from '../../client/file-transfer.js';
import { safeFileName } from '../../client/file-name.js';
import { parseChannelMessage, type FileBlockMessage, type FileOfferMessage } from '../../protocol/index.js';

const MiB = 1024 * 1024;

/** A channel whose buffer drains `drain` bytes per tick to `deliver`, firing bufferedamountlow like a browser's. */
class MemoryChannel implements TransferChannel {
  readyState: RTCDataChannelState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  maxBuffered = 0;
  readonly #queue: (string | Uint8Array<ArrayBuffer>)[] = [];
  readonly #listeners = { bufferedamountlow: new Set<() => void>(), close: new Set<() => void>() };
  #scheduled = false;

  constructor(
    readonly deliver: (data: string | ArrayBuffer) => void,
    readonly drain = 256 * 1024,
  ) {}

  send(data: string | ArrayBufferView<ArrayBuffer>): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    const copy = typeof data === 'string' ? data : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.#queue.push(copy);
    this.bufferedAmount += typeof copy === 'string' ? copy.length : copy.byteLength;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.#tick(), 0);
    }
  }

  #tick(): void {
    this.#scheduled = false;
    const before = this.bufferedAmount;
    let budget = this.drain;
    while (budget > 0 && this.#queue.length > 0) {
      const item = this.#queue.shift()!;
      const size = typeof item === 'string' ? item.length : item.byteLength;
      budget -= size;
      this.bufferedAmount -= size;
      this.deliver(typeof item === 'string' ? item : item.buffer);
    }
    if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold)
      for (const l of [...this.#listeners.bufferedamountlow]) l();
    if (this.#queue.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.#tick(), 0);
    }
  }

  close(): void {
    this.readyState = 'closed';
    for (const l of [...this.#listeners.close]) l();
  }

  addEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void {
    this.#listeners[type].add(listener);
  }
  removeEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void {
    this.#listeners[type].delete(listener);
  }
}

const offerFor = (size: number, blockSize = MiB): FileOfferMessage => ({
  type: 'file-offer',
  id: 'transfer-id-0123456789',
  name: 'a.bin',
  size,
  mime: 'application/octet-stream',
  blockSize,
});

/** Sends `bytes` through a MemoryChannel to a FileReceiver; `wire` may change what travels. */
async function transfer(
  bytes: Uint8Array,
  options: { blockSize?: number; wire?: (data: string | ArrayBuffer) => string | ArrayBuffer | null | ArrayBuffer[] } = {},
) {
  const offer = offerFor(bytes.length, options.blockSize);
  const progress: number[] = [];
  let outcome: { file?: Blob; failed?: string } = {};
  let receiver!: FileReceiver;
  const settled = new Promise<void>((resolve) => {
    receiver = new FileReceiver(offer, {
      progress: (n) => progress.push(n),
      complete: (file) => ((outcome = { file }), resolve()),
      failed: (reason) => ((outcome = { failed: reason }), resolve()),
    });
  });
  const channel = new MemoryChannel((data) => {
    const passed = options.wire ? options.wire(data) : data;
    if (passed === null) return;
    if (Array.isArray(passed)) return passed.forEach((chunk) => receiver.chunk(chunk));
    if (typeof passed !== 'string') return receiver.chunk(passed);
    const parsed = parseChannelMessage(passed);
    assert.ok(parsed.ok && parsed.value.type === 'file-block', passed);
    receiver.block(parsed.value as FileBlockMessage);
  });
  const sender = new FileSender(offer, new Blob([bytes as BlobPart]), channel, { chunkSize: 64 * 1024, highWater: MiB, lowWater: 256 * 1024 });
  const sent = sender.run().catch((error: Error) => error);
  await settled;
  if (outcome.failed) channel.close();
  return { outcome, progress, channel, sent: await sent, receiver };
}

test('file messages: valid ones parse; a hostile or broken offer is refused with the field at fault', () => {
  const offer = { type: 'file-offer', id: 'abcdefghijklmnop', name: '../../etc/passwd', size: 5, mime: 'text/plain', blockSize: MiB };
  assert.deepEqual(parseChannelMessage(JSON.stringify(offer)), { ok: true, value: offer });
  for (const [change, field, code] of [
    [{ id: 'short' }, 'id', 'bad-value'],
    [{ id: 'a/b'.repeat(8) }, 'id', 'bad-value'],
    [{ name: '' }, 'name', 'bad-value'],
    [{ name: 'x'.repeat(10_000) }, 'name', 'too-large'],
    [{ size: -1 }, 'size', 'bad-value'],
    [{ size: 1.5 }, 'size', 'bad-value'],
    [{ blockSize: 3 * 65536 }, 'blockSize', 'bad-value'],
    [{ blockSize: 1024 }, 'blockSize', 'bad-value'],
    [{ mime: 'text/html\nX-Evil: 1' }, 'mime', 'bad-value'],
  ] as const) {
    const parsed = parseChannelMessage(JSON.stringify({ ...offer, ...change }));
    assert.equal(parsed.ok, false, JSON.stringify(change).slice(0, 40));
    if (!parsed.ok) assert.deepEqual([parsed.error.field, parsed.error.code], [field, code], JSON.stringify(change).slice(0, 40));
  }
  assert.equal(parseChannelMessage(JSON.stringify({ type: 'file-block', id: offer.id, index: 0, hash: 'x'.repeat(43) })).ok, true);
  assert.equal(parseChannelMessage(JSON.stringify({ type: 'file-block', id: offer.id, index: -1, hash: 'x'.repeat(43) })).ok, false);
  assert.equal(parseChannelMessage(JSON.stringify({ type: 'file-cancel', id: offer.id, reason: 'no' })).ok, true);
  const unknown = parseChannelMessage(JSON.stringify({ type: 'file-later', id: offer.id }));
  assert.equal(!unknown.ok && unknown.error.code, 'unknown-type', 'a newer file message is unknown, not broken');
});

test('hostile names are shown and saved safely', () => {
  assert.equal(safeFileName('../../etc/passwd'), 'passwd');
  assert.equal(safeFileName('C:\\Users\\x\\..\\evil.bat'), 'evil.bat');
  assert.equal(safeFileName('invoice\u202Efdp.exe'), 'invoicefdp.exe', 'no right-to-left override');
  assert.equal(safeFileName('a\u0000b\u001fc\u200b.txt'), 'abc.txt');
  assert.equal(safeFileName('.htaccess'), 'htaccess', 'no hidden file');
  assert.equal(safeFileName('..'), 'file');
  assert.equal(safeFileName(''), 'file');
  assert.equal(safeFileName('CON.txt'), '_CON.txt');
  assert.equal(safeFileName('what?<>|".png'), 'what_____.png');
  const long = safeFileName(`${'x'.repeat(10_000)}.tar.gz`);
  assert.equal([...long].length, 120);
  assert.ok(long.endsWith('….gz'));
  assert.equal([...safeFileName('😀'.repeat(500))].length, 120, 'cut between characters, not inside one');
  assert.equal(safeFileName('사진 2026-11-27.jpg'), '사진 2026-11-27.jpg');
});

test('chunk size: from the negotiated maxMessageSize, at most 64 KiB, 16 KiB when unknown', () => {
  assert.equal(chunkSizeFor(undefined), 16 * 1024);
  assert.equal(chunkSizeFor(0), 16 * 1024);
  assert.equal(chunkSizeFor(262_144), 64 * 1024);
  assert.equal(chunkSizeFor(Infinity), 16 * 1024);
  assert.equal(chunkSizeFor(30_000), 30_000);
});

test('a 5.5 MiB file arrives whole and verified; the sender never lets the buffer grow past its high water mark', async () => {
  const bytes = new Uint8Array(randomBytes(5.5 * MiB));
  const { outcome, progress, channel, sent } = await transfer(bytes);
  assert.equal(outcome.failed, undefined);
  assert.equal(sent, undefined, 'the sender finished');
  const got = new Uint8Array(await outcome.file!.arrayBuffer());
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
  assert.equal(progress.at(-1), bytes.length);
  assert.ok(
    progress.every((n, k) => k === 0 || n > progress[k - 1]!),
    'progress only grows',
  );
  assert.ok(channel.maxBuffered <= MiB + 64 * 1024 + 200, `buffer peaked at ${channel.maxBuffered}`);
});

test('an empty file and a file of exactly one block work', async () => {
  const empty = await transfer(new Uint8Array(0));
  assert.equal(empty.outcome.file?.size, 0);
  const one = await transfer(new Uint8Array(randomBytes(MiB)));
  assert.equal(one.outcome.file?.size, MiB);
});

test('a changed byte, more bytes than announced, or a hash out of order ends the transfer with an error, and the sender stops', async () => {
  let n = 0;
  // Large enough that the sender is still sending when block 1 fails (it runs at most ~1 MiB ahead).
  const flipped = await transfer(new Uint8Array(randomBytes(8 * MiB)), {
    wire: (data) => {
      if (typeof data !== 'string' && ++n === 20) new Uint8Array(data)[7]! ^= 1;
      return data;
    },
  });
  assert.equal(flipped.outcome.failed, 'Block 1 does not match its hash.');
  assert.ok(flipped.sent instanceof TransferClosed, 'the sender stops when the channel closes');
  assert.equal(flipped.receiver.over, true);

  // A lying sender: one chunk of the last block twice.
  let chunks = 0;
  const more = await transfer(new Uint8Array(randomBytes(1.5 * MiB)), {
    wire: (data) => {
      return typeof data !== 'string' && ++chunks === 20 ? [data, data.slice(0)] : data;
    },
  });
  assert.equal(more.outcome.failed, 'The sender sent more bytes than it announced.');

  let hashes = 0;
  const reordered = await transfer(new Uint8Array(randomBytes(3 * MiB)), {
    wire: (data) => {
      if (typeof data === 'string' && ++hashes === 2) return data.replace('"index":1', '"index":2');
      return data;
    },
  });
  assert.equal(reordered.outcome.failed, "The hash of block 2 came where block 1's was due.");
});
