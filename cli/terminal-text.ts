/**
 * Text from other peers is printed to a terminal: control characters (C0 but the tab,
 * so a newline and the ANSI escape sequences that could move the cursor, rewrite earlier
 * lines or change the title; C1; U+2028, U+2029) are shown as visible escapes instead of
 * being obeyed; characters that show nothing but hide or reorder text (bidirectional
 * controls, which terminals with bidi support obey, zero-width and other
 * default-ignorable or format characters: client/hidden-characters.ts) are removed.
 */
import { withoutHidden } from '../client/hidden-characters.js';

export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this is about
  return withoutHidden(text).replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A peer's message as terminal lines: every line of a multi-line message after the first
 * is indented under it with a bar, so a newline in someone's text can never forge a line
 * that looks like it came from someone else (or from this program).
 */
export function terminalMessage(prefix: string, text: string): string {
  const [first = '', ...rest] = text.split(/\r\n|\n|\r/);
  return [`${prefix}${terminalSafe(first)}`, ...rest.map((line) => `    | ${terminalSafe(line)}`)].join('\n');
}
