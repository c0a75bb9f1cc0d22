/**
 * History for late joiners (protocol version 7), on the `chat` channel, never through the
 * server: a newcomer asks each peer that was in the room before it (`history-request`),
 * and each answers from its own transcript with the room's recent public messages, one
 * `history` line per frame, then `history-end`. A supplier can only vouch for what it
 * received: the newcomer shows every line as passed on by that peer.
 */
import { array, isObject, number, optionalString, reject, string, type JsonObject } from './fields.js';
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
  /** Version 8: the author's signature of the line (see `lineSigningText`), when the supplier has it. */
  readonly sig?: string;
}

/**
 * Version 8: the author's signatures of its recent public messages, sent on the channel a
 * moment after the messages (signing is asynchronous and batched; no message waits for
 * it). Peers keep each with its line and pass it on in `history`, so a newcomer can check
 * that whoever passed a line on did not change it.
 */
export interface HistorySignatureMessage {
  readonly type: 'history-sig';
  readonly sigs: readonly { readonly id: string; readonly sig: string }[];
}

/** The most signatures in one `history-sig`. */
export const MAX_LINE_SIGNATURES = 100;

/** The supplier has sent every line it will. */
export interface HistoryEndMessage {
  readonly type: 'history-end';
}

export type HistoryMessage = HistoryRequestMessage | HistoryLineMessage | HistoryEndMessage | HistorySignatureMessage;

/** The protocol version whose lines are signed (`history-sig`, `sig` on `history`). */
export const SIGNED_LINES_VERSION = 8;

/** An ECDSA P-256 signature (64 bytes) in base64url. */
const SIGNATURE = { min: 86, max: 86, pattern: /^[A-Za-z0-9_-]+$/ };

/**
 * What an author signs for a public message: the room, its own id, the message's id, time
 * and text. Not the name: names are the server's to give (and may change), and a line's
 * name is shown as its supplier says it.
 */
export function lineSigningText(room: string, line: { readonly from: string; readonly id: string; readonly at: number; readonly text: string }): string {
  return `p2p-chat line 1\n${room}\n${line.from}\n${line.id}\n${line.at}\n${line.text}`;
}

/** A line's `sig`, when it has one. */
function withSignature(obj: JsonObject): { sig?: string } {
  const sig = optionalString(obj, 'sig', SIGNATURE);
  return sig === undefined ? {} : { sig };
}

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
        ...withSignature(obj),
      };
    case 'history-sig': {
      const sigs = array(obj, 'sigs', MAX_LINE_SIGNATURES);
      if (sigs.length === 0) reject('bad-value', 'A history-sig carries at least one signature.', 'sigs');
      return {
        type,
        sigs: sigs.map((item) => {
          if (!isObject(item)) return reject('wrong-type', 'Each signature is an object.', 'sigs');
          return { id: string(item, 'id', { min: 1, max: LIMITS.maxChatIdLength }), sig: string(item, 'sig', SIGNATURE) };
        }),
      };
    }
    case 'history-end':
      return { type };
    default:
      return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  }
}
