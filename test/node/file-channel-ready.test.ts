/**
 * The transfer channel's handshake, without WebRTC: two MeshFiles joined by in-memory
 * links whose data channels, like Node's WebRTC, hand the receiver its channel a moment
 * after the sender's is open. The sender must not send a byte before the receiver says
 * `ready` (Node's WebRTC reorders what arrives before then: bench/README.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshFiles, type FilesHooks } from '../../client/mesh-files.js';
import type { PeerLink } from '../../client/peer-link.js';
import type { MeshEventMap } from '../../client/mesh-events.js';
import { parseChannelMessage, type FileMessage } from '../../protocol/index.js';
import { createHash, randomBytes } from 'node:crypto';

type Listener = (event: { data?: unknown }) => void;

const READY = JSON.stringify({ type: 'ready' });
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Polls `check` every 10 ms for up to 5 s; the assertions after it say what did not happen. */
const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

/** One end of an in-memory data channel: open from the start, delivering a tick later. */
class MemoryEnd {
  readyState: RTCDataChannelState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'arraybuffer';
  other: MemoryEnd | null = null;
  readonly sent: (string | number)[] = [];
  /** Binary messages sent before this end heard `ready`. */
  bytesBeforeReady = 0;
  /** How many of this end's next `ready` messages are lost on the way. */
  readiesToLose = 0;
  #heardReady = false;
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(readonly label: string) {}

  addEventListener(type: string, listener: Listener): void {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }
  fire(type: string, event: { data?: unknown } = {}): void {
    if (type === 'message' && event.data === READY) this.#heardReady = true;
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }
  send(data: string | ArrayBufferView<ArrayBuffer>): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    if (data === READY && this.readiesToLose > 0) {
      this.readiesToLose--;
      return;
    }
    const copy = typeof data === 'string' ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    this.sent.push(typeof copy === 'string' ? copy : copy.byteLength);
    if (typeof copy !== 'string' && !this.#heardReady) this.bytesBeforeReady++;
    const other = this.other!;
    setTimeout(() => other.fire('message', { data: copy }), 0);
  }
  close(): void {
    for (const end of [this, this.other!]) {
      if (end.readyState === 'closed') continue;
      end.readyState = 'closed';
      setTimeout(() => end.fire('close'), 0);
    }
  }
}

/** Two MeshFiles ("A" and "B") whose links carry control messages and open transfer channels in memory. */
function pair({ readiesToLose = 0 } = {}) {
  const events: { side: string; type: string; detail: MeshEventMap[keyof MeshEventMap] }[] = [];
  const senderEnds: MemoryEnd[] = [];
  const files: Record<string, MeshFiles> = {};
  const link = (self: string, other: string) =>
    ({
      pc: {},
      maxMessageSize: 64 * 1024,
      sendControl: (message: FileMessage) => {
        setTimeout(() => files[other]!.control(self, link(other, self), message), 0);
        return true;
      },
      openFileChannel: (id: string) => {
        const mine = new MemoryEnd(`file-${id}`);
        const theirs = new MemoryEnd(`file-${id}`);
        mine.other = theirs;
        theirs.other = mine;
        theirs.readiesToLose = readiesToLose;
        senderEnds.push(mine);
        // The other side learns of the channel a little later (ondatachannel).
        setTimeout(() => files[other]!.channel(self, theirs as unknown as RTCDataChannel), 5);
        return mine as unknown as RTCDataChannel;
      },
    }) as unknown as PeerLink;
  for (const [self, other] of [
    ['A', 'B'],
    ['B', 'A'],
  ] as const) {
    const hooks: FilesHooks = {
      reach: () => link(self, other),
      parse: (text) => {
        const parsed = parseChannelMessage(text);
        return parsed.ok ? parsed.value : null;
      },
      emit: (type, detail) => events.push({ side: self, type, detail }),
      limits: () => ({ maxFileSize: 1e9, autoAcceptImages: 0 }),
    };
    files[self] = new MeshFiles(hooks);
  }
  return { a: files['A']!, b: files['B']!, events, senderEnds };
}

test('a transfer channel: the sender sends no byte before the receiver says it listens, and the file arrives verified', async () => {
  const { a, b, events, senderEnds } = pair();
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  const [id] = a.send(new Blob([bytes]), 'three.bin', ['B']);
  await waitFor(() => events.some((e) => e.side === 'B' && e.type === 'file-offer'));
  assert.equal(b.accept(id!), true);
  await waitFor(() => events.filter((e) => e.type === 'file-complete').length === 2 || events.some((e) => e.type === 'file-error'));
  assert.deepEqual(
    events.filter((e) => e.type === 'file-error'),
    [],
  );
  const received = events.find((e) => e.side === 'B' && e.type === 'file-complete')!.detail as MeshEventMap['file-complete'];
  assert.equal(sha(new Uint8Array(await received.file!.arrayBuffer())), sha(bytes));
  const [sender] = senderEnds;
  assert.equal(sender!.other!.sent[0], READY, "the receiver's first message on the channel is ready");
  assert.equal(sender!.bytesBeforeReady, 0, 'no chunk went out before ready arrived');
  assert.ok(sender!.sent.length > 48, 'the file went in chunks');
});

test('a file that cannot be read part-way (gone from the disk, changed): both sides end with a clear error, nothing hangs', async () => {
  const { a, b, events } = pair();
  const bytes = randomBytes(3 * 1024 * 1024);
  // Reads of the second block fail, as a browser's do for a file changed or deleted since it was picked.
  class Unreadable extends Blob {
    override slice(start?: number, end?: number): Blob {
      const part = super.slice(start, end);
      if ((start ?? 0) < 1024 * 1024) return part;
      return { size: part.size, arrayBuffer: () => Promise.reject(new Error('The file could not be read.')) } as Blob;
    }
  }
  const unreadable = new Unreadable([bytes]);
  const [id] = a.send(unreadable, 'gone.bin', ['B']);
  await waitFor(() => events.some((e) => e.side === 'B' && e.type === 'file-offer'));
  b.accept(id!);
  await waitFor(() => events.filter((e) => e.type === 'file-error').length === 2);
  const errors = events.filter((e) => e.type === 'file-error').map((e) => ({ side: e.side, ...(e.detail as MeshEventMap['file-error']) }));
  assert.deepEqual(
    errors.map(({ side, code, message }) => ({ side, code, message })),
    [
      { side: 'A', code: 'file-failed', message: 'The file could not be read.' },
      { side: 'B', code: 'file-cancelled', message: 'The transfer was cancelled by the other side: The file could not be read.' },
    ],
  );
  assert.equal(events.filter((e) => e.type === 'file-complete').length, 0);
});

test('a lost `ready`: the receiver says it again until the bytes come, and the file arrives verified (no stall until the channel closes)', async () => {
  const { a, b, events, senderEnds } = pair({ readiesToLose: 2 });
  const bytes = randomBytes(200 * 1024 + 5);
  const [id] = a.send(new Blob([bytes]), 'lost-ready.bin', ['B']);
  await waitFor(() => events.some((e) => e.side === 'B' && e.type === 'file-offer'));
  b.accept(id!);
  await waitFor(() => events.filter((e) => e.type === 'file-complete').length === 2 || events.some((e) => e.type === 'file-error'));
  assert.deepEqual(
    events.filter((e) => e.type !== 'file-progress' && e.type !== 'file-offer').map((e) => `${e.side} ${e.type}`),
    ['B file-complete', 'A file-complete'],
  );
  const received = events.find((e) => e.side === 'B' && e.type === 'file-complete')!.detail as MeshEventMap['file-complete'];
  assert.equal(sha(new Uint8Array(await received.file!.arrayBuffer())), sha(bytes));
  const receiverSent = senderEnds[0]!.other!.sent;
  assert.equal(receiverSent.filter((m) => m === READY).length, 1, 'the third ready got through, and the receiver said it no more once the bytes came');
  assert.equal(senderEnds[0]!.bytesBeforeReady, 0, 'still no chunk before ready');
});
