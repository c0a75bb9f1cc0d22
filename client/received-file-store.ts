/**
 * Where a received file's verified blocks go. In a browser with the origin private file
 * system (OPFS: `navigator.storage.getDirectory()` and writable file handles, Chromium and
 * Firefox), each block is written to a file on disk as it is verified and the finished
 * file is read back from there: nothing of it stays in memory, whatever its size.
 * Elsewhere (Node, a browser without OPFS, private modes that refuse it) the blocks are
 * kept as Blob parts.
 *
 * OPFS files live in `p2p-chat-incoming/<page>/`, one folder per page, so that a page
 * never removes a file another tab still shows; folders of pages gone for a day are
 * removed when a page first receives a file.
 */

export interface BlockSink {
  /** Appends one verified block. */
  write(bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  /** Every block is in: the whole file. */
  finish(mime: string): Promise<Blob>;
  /** The transfer ended without the file: what was written goes. */
  abort(): Promise<void>;
}

const FOLDER = 'p2p-chat-incoming';
/** Folders of pages older than this are left by pages long gone. */
const STALE_MS = 24 * 60 * 60 * 1000;

class MemorySink implements BlockSink {
  readonly #parts: Blob[] = [];

  async write(bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    this.#parts.push(new Blob([bytes]));
  }

  async finish(mime: string): Promise<Blob> {
    return new Blob(this.#parts, { type: mime });
  }

  async abort(): Promise<void> {
    this.#parts.length = 0;
  }
}

class DiskSink implements BlockSink {
  constructor(
    readonly folder: FileSystemDirectoryHandle,
    readonly name: string,
    readonly handle: FileSystemFileHandle,
    readonly writable: FileSystemWritableFileStream,
  ) {}

  async write(bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.writable.write(bytes);
  }

  async finish(mime: string): Promise<Blob> {
    await this.writable.close();
    // A Blob over the file on disk (its bytes are not read into memory).
    return new Blob([await this.handle.getFile()], { type: mime });
  }

  async abort(): Promise<void> {
    await this.writable.abort().catch(() => {});
    await this.folder.removeEntry(this.name).catch(() => {});
  }
}

/** This page's folder in OPFS (null where there is none), made once. */
let pageFolder: Promise<FileSystemDirectoryHandle | null> | null = null;

async function openPageFolder(): Promise<FileSystemDirectoryHandle | null> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (typeof storage?.getDirectory !== 'function' || typeof FileSystemFileHandle === 'undefined' || !('createWritable' in FileSystemFileHandle.prototype))
    return null;
  try {
    const root = await (await storage.getDirectory()).getDirectoryHandle(FOLDER, { create: true });
    await removeStaleFolders(root);
    const name = `${Date.now()}-${crypto.randomUUID()}`;
    const folder = await root.getDirectoryHandle(name, { create: true });
    // The page goes for good: its files go too (a transfer still writing keeps its file
    // until a later page sweeps the folder). Not for the back/forward cache: it may come back.
    addEventListener('pagehide', (event) => {
      if (!event.persisted) void root.removeEntry(name, { recursive: true }).catch(() => {});
    });
    return folder;
  } catch {
    return null;
  }
}

async function removeStaleFolders(root: FileSystemDirectoryHandle): Promise<void> {
  const entries = (root as unknown as { keys(): AsyncIterable<string> }).keys();
  for await (const name of entries) {
    const started = Number(name.split('-')[0]);
    if (Number.isFinite(started) && Date.now() - started > STALE_MS) await root.removeEntry(name, { recursive: true }).catch(() => {});
  }
}

/** Where the blocks of transfer `id` go: a file in OPFS where the browser has it, else memory. */
export async function openBlockSink(id: string): Promise<BlockSink> {
  pageFolder ??= openPageFolder();
  const folder = await pageFolder;
  if (folder) {
    try {
      const name = id.replace(/[^A-Za-z0-9_-]/g, '_');
      const handle = await folder.getFileHandle(name, { create: true });
      return new DiskSink(folder, name, handle, await handle.createWritable());
    } catch {
      // Quota, or a browser that refuses after all: memory.
    }
  }
  return new MemorySink();
}
