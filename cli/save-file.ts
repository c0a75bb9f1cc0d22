/**
 * Saving a received file in the terminal client's download directory: under its cleaned
 * name (client/file-name.ts: no path, no hidden or reordering characters), never over an
 * existing file (`name (1).ext`, …), streamed from the Blob so a large file is not held
 * twice.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { safeFileName } from '../client/file-name.js';

/** Writes `file` into `dir`; resolves with the path it chose. */
export async function saveFile(dir: string, name: string, file: Blob): Promise<string> {
  const clean = safeFileName(name);
  const dot = clean.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [clean.slice(0, dot), clean.slice(dot)] : [clean, ''];
  for (let n = 0; n < 1000; n++) {
    const path = join(dir, n === 0 ? clean : `${stem} (${n})${extension}`);
    // `wx`: fails if the file exists, so nothing is ever overwritten (not even in a race).
    const out = createWriteStream(path, { flags: 'wx' });
    const opened = await new Promise<boolean>((resolve, reject) => {
      out.once('open', () => resolve(true));
      out.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? resolve(false) : reject(error)));
    });
    if (!opened) continue;
    await pipeline(Readable.fromWeb(file.stream() as unknown as WebReadableStream<Uint8Array>), out);
    return path;
  }
  throw new Error('too many files of that name already');
}
