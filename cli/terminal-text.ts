/**
 * Text from other peers is printed to a terminal: control characters (ANSI escape
 * sequences that could move the cursor, rewrite earlier lines or change the title) are
 * shown as visible escapes instead of being obeyed.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this is about
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
