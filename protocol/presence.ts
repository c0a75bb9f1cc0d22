/**
 * Who is there and who got what, around the chat on the `chat` channel, never stored:
 * `typing` (sent to any peer: one that does not know it ignores it), and, from protocol
 * version 7, `presence` (away while the page is hidden) and `receipt` (the messages of
 * yours that reached me), sent only to peers that announced version 7.
 */
import { array, checkString, reject, string, type JsonObject } from './fields.js';
import { LIMITS } from './limits.js';

/**
 * "I am typing": sent now and then while someone types (at most every 2 s), never stored;
 * the receiver shows it for a few seconds, or until a message from that peer arrives.
 * Older receivers do not know the type and ignore it.
 */
export interface TypingMessage {
  readonly type: 'typing';
}

/**
 * "These messages of yours reached me" (protocol version 7): a receiver confirms the chat
 * messages that arrived on its data channel, a batch at a time; the sender shows
 * "delivered to k of n". Sent only to peers that announced version 7.
 */
export interface ReceiptMessage {
  readonly type: 'receipt';
  /** Message ids, 1 to 100. */
  readonly ids: readonly string[];
}

/**
 * "I am away" / "I am back" (protocol version 7): from the page's visibility; never
 * stored. Sent when it changes, and once to a new peer when away.
 */
export interface PresenceMessage {
  readonly type: 'presence';
  readonly state: 'active' | 'away';
}

/** The protocol version that brought receipts. */
export const RECEIPT_VERSION = 7;
/** The most ids in one receipt. */
export const MAX_RECEIPT_IDS = 100;

export type PresenceFamilyMessage = TypingMessage | PresenceMessage | ReceiptMessage;

/** Reads a `typing`, `presence` or `receipt` message (its `type` already known to be one of them). */
export function readPresenceMessage(obj: JsonObject): PresenceFamilyMessage {
  const type = string(obj, 'type', { max: 32 });
  switch (type) {
    case 'typing':
      return { type };
    case 'presence': {
      const state = string(obj, 'state', { max: 16 });
      if (state !== 'active' && state !== 'away') reject('bad-value', 'Presence is "active" or "away".', 'state');
      return { type, state };
    }
    case 'receipt': {
      const ids = array(obj, 'ids', MAX_RECEIPT_IDS);
      if (ids.length === 0) reject('bad-value', 'A receipt names at least one message.', 'ids');
      return { type, ids: ids.map((id) => checkString(id, 'ids', { min: 1, max: LIMITS.maxChatIdLength })) };
    }
    default:
      return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  }
}
