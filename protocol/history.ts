/**
 * History for late joiners (protocol version 7), on the `chat` channel, never through the
 * server: a newcomer asks each peer that was in the room before it (`history-request`),
 * and each answers from its own transcript with the room's recent public messages, one
 * `history` line per frame, then `history-end`. A supplier can only vouch for what it
 * received: the newcomer shows every line as passed on by that peer.
 */
import { number, reject, string, type JsonObject } from './fields.js';
import { LIMITS, NAME_FORBIDDEN, PEER_ID_PATTERN } from './limits.js';

/** The protocol version that brought history: asked of, and answered to, peers that speak it. */
export const HISTORY_VERSION = 7;

export const HISTORY_LIMITS = {
  /** The most lines a newcomer may ask for, and a supplier sends. */
  maxLines: 500,
} as const;

/** "Send me the room's messages since `since` (ms since the epoch), the last `limit` of them." */
export interface HistoryRequestMessage {
  readonly type: 'history-request';
  readonly limit: number;
  readonly since: number;
}

/** One earlier public message of the room, as the supplier received (or sent) it. */
export interface HistoryLineMessage {
  readonly type: 'history';
  /** The message's id, as its author sent it. */
  readonly id: string;
  /** Its author's peer id (who may have left). */
  readonly from: string;
  readonly name: string;
  readonly text: string;
  readonly at: number;
}

/** The supplier has sent every line it will. */
export interface HistoryEndMessage {
  readonly type: 'history-end';
}

export type HistoryMessage = HistoryRequestMessage | HistoryLineMessage | HistoryEndMessage;

/** Reads a `history*` message (its `type` already known to start with `history`). */
export function readHistoryMessage(obj: JsonObject): HistoryMessage {
  const type = string(obj, 'type', { max: 32 });
  switch (type) {
    case 'history-request':
      return {
        type,
        limit: number(obj, 'limit', { min: 1, max: HISTORY_LIMITS.maxLines, integer: true }),
        since: number(obj, 'since', { min: 0, max: 8.64e15 }),
      };
    case 'history':
      return {
        type,
        id: string(obj, 'id', { min: 1, max: LIMITS.maxChatIdLength }),
        from: string(obj, 'from', { min: 1, max: LIMITS.maxPeerIdLength, pattern: PEER_ID_PATTERN }),
        name: string(obj, 'name', { min: 1, max: LIMITS.maxNameLength, forbidden: NAME_FORBIDDEN }),
        text: string(obj, 'text', { min: 1, max: LIMITS.maxChatTextLength }),
        at: number(obj, 'at', { min: 0, max: 8.64e15 }),
      };
    case 'history-end':
      return { type };
    default:
      return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  }
}
