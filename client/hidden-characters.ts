/**
 * Characters that show nothing yet change what a text says or how it reads, for every
 * text from a peer that is printed or saved (file names, the terminal client's output):
 * bidirectional controls (embeddings and overrides U+202A–U+202E, isolates
 * U+2066–U+2069, marks U+200E, U+200F and U+061C), zero-width spaces and joiners, the
 * soft hyphen, the combining grapheme joiner, word joiners and invisible operators,
 * Hangul and Khmer fillers, variation selectors (Mongolian, U+FE00–U+FE0F, the
 * supplement), the BOM, interlinear annotations, tags (U+E0000–U+E0FFF) and the rest:
 * every code point Unicode calls default-ignorable (Default_Ignorable_Code_Point, which
 * also covers the ones not yet assigned) and every format character (Cf).
 *
 * Zero-width joiners go too: a file name or a terminal line loses an emoji sequence's
 * glue or a Persian word's non-joiner, and gains nothing a reader cannot see.
 */
export const HIDDEN_CHARACTERS = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;

/** `text` without the characters of HIDDEN_CHARACTERS. */
export function withoutHidden(text: string): string {
  return text.replace(HIDDEN_CHARACTERS, '');
}
