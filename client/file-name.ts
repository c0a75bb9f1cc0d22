/**
 * A file name from a peer, made safe to show and to save. The name is the sender's word
 * and may be hostile: a path (`../../etc/passwd`), a right-to-left override that shows
 * `exe.txt` for `txt.exe`, control or invisible characters (client/hidden-characters.ts:
 * every default-ignorable and format character), a device name Windows
 * refuses (`CON`), or ten thousand characters. What is left: the last path component,
 * without those characters and without leading dots, shortened in the middle with its
 * extension kept, never empty. Also here: which files are images safe to show inline.
 */
import { withoutHidden } from './hidden-characters.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** Characters Windows does not allow in names. */
const RESERVED_CHARACTERS = /[<>:"|?*]/g;
const RESERVED_NAMES = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i;

/** Images shown inline (only ever as `<img>` from a blob: URL): raster formats, never SVG, which is markup. */
const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;

export function isInlineImage(mime: string): boolean {
  return INLINE_IMAGE.test(mime);
}

export function safeFileName(name: string, maxLength = 120): string {
  let clean = withoutHidden(name.split(/[\\/]/).pop() ?? '')
    .replace(CONTROL, '')
    .replace(RESERVED_CHARACTERS, '_');
  clean = clean
    .trim()
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '');
  if (RESERVED_NAMES.test(clean)) clean = `_${clean}`;
  if (clean === '') clean = 'file';
  const chars = [...clean];
  if (chars.length <= maxLength) return clean;
  const dot = clean.lastIndexOf('.');
  const extension = dot > 0 && clean.length - dot <= 16 ? [...clean.slice(dot)] : [];
  return `${chars.slice(0, maxLength - extension.length - 1).join('')}…${extension.join('')}`;
}
