/**
 * The element's attribute values, checked before use: a value the chat cannot use is
 * said (a `p2p-error` `bad-value` naming the attribute) rather than taken as a default in
 * silence, or sent to a server that refuses it and leaves the chat waiting. Empty means
 * the default everywhere.
 */
import { LIMITS, NAME_FORBIDDEN, ROOM_PATTERN } from '../protocol/index.js';
import { hasChatLanguage } from './chat-strings.js';

export type CheckedAttribute = 'server' | 'room' | 'name' | 'ice-transport-policy' | 'max-file-size' | 'auto-accept-images' | 'history' | 'lang';

const bytes = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? null : 'a whole number of bytes, 0 or more');

/** Why `value` cannot be used for `attribute` (what it should be), or null if it can. */
export function attributeProblem(attribute: CheckedAttribute, value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value).trim();
  switch (attribute) {
    case 'server':
      return text.split(/\s+/).every((url) => /^wss?:\/\/[^\s/]+/i.test(url) && URL.canParse?.(url) !== false)
        ? null
        : 'a ws:// or wss:// URL (or several, separated by spaces)';
    case 'room':
      return text.length <= LIMITS.maxRoomLength && ROOM_PATTERN.test(text) ? null : `up to ${LIMITS.maxRoomLength} letters, digits, “_”, “.” or “-”`;
    case 'name':
      return text.length <= LIMITS.maxNameLength && !NAME_FORBIDDEN.test(text) ? null : `at most ${LIMITS.maxNameLength} characters, no control characters`;
    case 'ice-transport-policy':
      return text === 'all' || text === 'relay' ? null : '“all” or “relay”';
    case 'max-file-size':
    case 'auto-accept-images':
      return bytes(value);
    case 'history': {
      const limit = Number(text);
      return /^(off|false)$/i.test(text) || (Number.isInteger(limit) && limit >= 1 && limit <= 500) ? null : '“off” or a number of messages from 1 to 500';
    }
    case 'lang':
      return hasChatLanguage(text) ? null : '“en”, “ko”, or a language added with P2pChat.addLanguage (English is used meanwhile)';
  }
}
