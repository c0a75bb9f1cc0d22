/**
 * Display names are chosen by their owners, so they are shown with care: characters that
 * are invisible or reorder text (zero-width spaces, bidirectional overrides and isolates)
 * are removed, so "Ann\u202Egnp.exe" cannot show as something else and a name cannot hide
 * a second, invisible copy of another; and names that look alike once case, width,
 * accents and common cross-script twins (Cyrillic "а" for Latin "a") are set aside are
 * flagged, so the element can show who is who (a short id beside each of them).
 *
 * Zero-width joiners (U+200C, U+200D) are kept: scripts such as Persian and Devanagari,
 * and emoji sequences, need them; they are ignored only when comparing names.
 */

/**
 * Invisible or text-reordering characters shown nowhere: every default-ignorable and
 * format character (bidi controls, zero-width spaces, BOM, tags, variation selectors,
 * the soft hyphen…), as in client/hidden-characters.ts, but the two joiners.
 */
const HIDDEN = /(?![\u200c\u200d])[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;
const JOINERS = /[\u200c\u200d]/g;
const MARKS = /\p{M}/gu;

/** Latin look-alikes from other scripts (the usual impersonation set, not all of Unicode's confusables). */
const TWINS: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ӏ: 'l',
  ү: 'y',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ı: 'i',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ħ: 'h',
  '0': 'o',
  '1': 'l',
  '|': 'l',
  '5': 's',
};

/** The name as it may be shown: hidden and reordering characters removed, spaces collapsed. */
export function safeName(name: string): string {
  const shown = name.replace(HIDDEN, '').replace(/\s+/g, ' ').trim();
  return shown === '' ? '?' : shown;
}

/** What a name looks like, for comparing: two names with the same skeleton are easy to mistake. */
export function nameSkeleton(name: string): string {
  // Uppercase I reads as lowercase l in sans-serif fonts ("AI" and "Al"): folded before case is.
  const folded = safeName(name).replace(JOINERS, '').normalize('NFKD').replace(MARKS, '').replace(/I/g, 'l').toLowerCase();
  let skeleton = '';
  for (const char of folded) skeleton += TWINS[char] ?? char;
  // "rn" reads as "m", "vv" as "w".
  return skeleton.replace(/rn/g, 'm').replace(/vv/g, 'w').replace(/\s+/g, '');
}

/** The ids whose names look like someone else's (another peer's, or ours: `selfName`). */
export function lookAlikes(peers: Iterable<{ readonly id: string; readonly name: string }>, selfName?: string | null): Set<string> {
  const byShape = new Map<string, string[]>();
  for (const peer of peers) {
    const shape = nameSkeleton(peer.name);
    byShape.set(shape, [...(byShape.get(shape) ?? []), peer.id]);
  }
  const flagged = new Set<string>();
  const own = selfName ? nameSkeleton(selfName) : null;
  for (const [shape, ids] of byShape) if (ids.length > 1 || shape === own) for (const id of ids) flagged.add(id);
  return flagged;
}
