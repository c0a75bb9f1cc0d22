// Invisible and text-reordering characters in what a peer sends: gone from file names and
// from the terminal client's output (names, chat text, file names), each one listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HIDDEN_CHARACTERS, withoutHidden } from '../../client/hidden-characters.js';
import { safeFileName } from '../../client/file-name.js';
import { terminalMessage, terminalSafe } from '../../cli/terminal-text.js';

/** Each character that must never survive, as [first, last] code point ranges. */
const HIDDEN: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad], // soft hyphen
  [0x034f, 0x034f], // combining grapheme joiner
  [0x061c, 0x061c], // Arabic letter mark (bidi)
  [0x115f, 0x1160], // Hangul choseong and jungseong fillers
  [0x17b4, 0x17b5], // Khmer inherent vowels
  [0x180b, 0x180f], // Mongolian free variation selectors, vowel separator
  [0x200b, 0x200f], // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
  [0x202a, 0x202e], // bidi embeddings and overrides
  [0x2060, 0x206f], // word joiner, invisible operators, bidi isolates, deprecated format characters
  [0x3164, 0x3164], // Hangul filler
  [0xfe00, 0xfe0f], // variation selectors
  [0xfeff, 0xfeff], // zero-width no-break space (BOM)
  [0xffa0, 0xffa0], // halfwidth Hangul filler
  [0xfff0, 0xfff8], // reserved, default-ignorable
  [0xfff9, 0xfffb], // interlinear annotation anchors (they can hide a run of text)
  [0x1bca0, 0x1bca3], // shorthand format controls
  [0x1d173, 0x1d17a], // musical symbol format controls
  [0xe0000, 0xe0fff], // tags, variation selectors supplement, reserved
];

const BIDI = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c];

function* each(): Generator<string> {
  for (const [first, last] of HIDDEN) for (let code = first; code <= last; code++) yield String.fromCodePoint(code);
}

const hex = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

test('the runtime knows the Default_Ignorable_Code_Point property', () => {
  assert.ok(new RegExp('\\p{Default_Ignorable_Code_Point}', 'u').test('\u200B'));
  assert.ok(HIDDEN_CHARACTERS.flags.includes('u'));
});

test('every listed character is removed: the shared rule, file names, terminal text, names and chat lines', () => {
  const all = [...each()];
  assert.equal(all.length, 4_177);
  // The characters each filter lets through (none), all of them named at once when one fails.
  const survivors = (keeps: (char: string) => boolean) => all.filter(keeps).map(hex);
  assert.deepEqual(
    survivors((char) => withoutHidden(`a${char}b`) !== 'ab'),
    [],
    'the shared rule',
  );
  assert.deepEqual(
    survivors((char) => safeFileName(`in${char}voice.pdf`) !== 'invoice.pdf'),
    [],
    'file names',
  );
  assert.deepEqual(
    survivors((char) => terminalSafe(`An${char}n`) !== 'Ann'),
    [],
    'terminal names and file names',
  );
  assert.deepEqual(
    survivors((char) => terminalMessage('[12:00] Bob: ', `hi${char}!\nnext${char}`) !== '[12:00] Bob: hi!\n    | next'),
    [],
    'terminal chat lines',
  );
});

test('every bidi control is gone from terminal output and from file names', () => {
  for (const code of BIDI) {
    const char = String.fromCodePoint(code);
    assert.equal(terminalSafe(`invoice${char}fdp.exe`), 'invoicefdp.exe', hex(char));
    assert.equal(safeFileName(`invoice${char}fdp.exe`), 'invoicefdp.exe', hex(char));
  }
  const hostile = `\u202EAnn\u2066 said\u2069 \u200Fhi\u061C \u202Bx\u202C \u202Dy\u2067z\u2068`;
  assert.equal(terminalSafe(hostile), 'Ann said hi x yz');
});

test('more format characters go by the Unicode properties, not only the list', () => {
  // Arabic number sign, Syriac abbreviation mark, Egyptian hieroglyph format controls, tag characters.
  for (const char of ['\u0600', '\u070F', '\u{13430}', '\u{E0041}', '\u{E0100}']) assert.equal(withoutHidden(`a${char}b`), 'ab', hex(char));
});

test('real text of every script stays as it is', () => {
  for (const text of [
    'Ann',
    '\u05E9\u05DC\u05D5\u05DD', // Hebrew
    '\u0645\u0631\u062D\u0628\u0627', // Arabic
    '\uC0AC\uC9C4 2026-11-27', // Korean
    '\u0928\u092E\u0938\u094D\u0924\u0947', // Devanagari with a virama
    'Zoe\u0301', // a combining accent
    '\u1100\u1161', // Hangul jamo (not fillers)
    '\u{1F600} \u2764', // emoji
    'tab\there',
  ]) {
    assert.equal(withoutHidden(text), text, text);
    assert.equal(terminalSafe(text), text, text);
  }
  assert.equal(safeFileName('\uC0AC\uC9C4 \u05E9\u05DC\u05D5\u05DD.jpg'), '\uC0AC\uC9C4 \u05E9\u05DC\u05D5\u05DD.jpg');
});

test('terminal: C0 and C1 controls, newlines and escape sequences are shown, never obeyed', () => {
  for (let code = 0; code <= 0x9f; code++) {
    if (code === 0x09 || (code >= 0x20 && code < 0x7f)) continue;
    const out = terminalSafe(`a${String.fromCharCode(code)}b`);
    assert.equal(out, `a\\u${code.toString(16).padStart(4, '0')}b`, `U+${code.toString(16)}`);
  }
  const out = terminalSafe('\u001b[2J\u001b]0;pwned\u0007\u009b31m\u2028x\u2029');
  // eslint-disable-next-line no-control-regex -- control characters are what this is about
  assert.doesNotMatch(out, /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/);
  assert.equal(out, '\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\u2028x\\u2029');
  // A name or an error message with a newline cannot start a line of its own.
  assert.equal(terminalSafe('Ann\n[12:01] Bob: hi'), 'Ann\\u000a[12:01] Bob: hi');
});
