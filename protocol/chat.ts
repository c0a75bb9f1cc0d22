/**
 * Data-channel messages (phase 5 of the reference: text flows peer-to-peer over the
 * `chat` channel, the server is not involved). Parsed with the same rules as signaling.
 */
import type { Result } from './errors.js';
import { number, optionalBoolean, parseObject, reject, string, type JsonObject } from './fields.js';
import { LIMITS, NAME_FORBIDDEN } from './limits.js';
import { readFileMessage, type FileMessage } from './file.js';
import { readHistoryMessage, type HistoryMessage } from './history.js';
import { readPresenceMessage, type PresenceMessage, type ReceiptMessage, type TypingMessage } from './presence.js';

/** The label of the one data channel the offerer creates, as in the reference. */
export const CHAT_CHANNEL_LABEL = 'chat';

export interface ChatMessage {
  readonly type: 'chat';
  /** Unique per sender: lets a receiver drop a duplicate. */
  readonly id: string;
  readonly text: string;
  /** Sender's clock, ms since the epoch. */
  readonly at: number;
  /** Sender's display name as it says it; receivers prefer the name the server vouched for. */
  readonly name: string;
  /** Sent to this one peer only (`sendTo`), and shown as private on both sides. Older receivers ignore the field. */
  readonly private?: true;
}

/**
 * Sent once by the side that received the channel (in `ondatachannel`) as soon as it
 * listens: the side that created the channel sends chat only after it. Without it,
 * messages sent the instant the channel opens can reach a browser before its
 * `ondatachannel` handler has attached a listener, and are lost.
 */
export interface ReadyMessage {
  readonly type: 'ready';
}

/**
 * A liveness probe (protocol version 2): the receiver answers `pong` with the same `n`.
 * Used before trusting news that the direct path is dead (`bye` comes through the
 * server, which could forge it): a peer that still answers on the channel is there.
 */
export interface PingMessage {
  readonly type: 'ping';
  readonly n: number;
}
export interface PongMessage {
  readonly type: 'pong';
  readonly n: number;
}

/**
 * Comparing safety codes (protocol version 4), commit then reveal: each side first sends
 * the SHA-256 of a random nonce (`verify-commit`), and reveals the nonce
 * (`verify-reveal`) only once it holds the other side's commitment. The code mixes both
 * nonces with both DTLS fingerprints, so nobody in the middle can pick nonces that make
 * the two sides' codes agree: each commits before it can see what the other chose.
 */
/** The protocol version that brought safety codes and identities: sent only to peers that speak it. */
export const VERIFY_VERSION = 4;

export interface VerifyCommitMessage {
  readonly type: 'verify-commit';
  /** SHA-256 of the nonce, base64url (43 characters). */
  readonly commit: string;
}
export interface VerifyRevealMessage {
  readonly type: 'verify-reveal';
  /** The 32-byte nonce, base64url (43 characters). */
  readonly nonce: string;
}

/**
 * A peer's long-lived identity (protocol version 4), sent once the channel is open: its
 * ECDSA P-256 public key and a signature over both peer ids and both DTLS fingerprints of
 * this connection, which binds the key to this connection: a server in the middle can
 * neither reuse the signature (its fingerprints differ) nor sign with the real key.
 */
export interface IdentityMessage {
  readonly type: 'identity';
  /** The public key, raw uncompressed P-256 point, base64url (87 characters). */
  readonly key: string;
  /** ECDSA-SHA-256 signature (IEEE P1363, 64 bytes), base64url (86 characters). */
  readonly sig: string;
}

export type ChannelMessage =
  | ChatMessage
  | ReadyMessage
  | TypingMessage
  | PingMessage
  | PongMessage
  | VerifyCommitMessage
  | VerifyRevealMessage
  | IdentityMessage
  | FileMessage
  | HistoryMessage
  | ReceiptMessage
  | PresenceMessage;

/** 32 bytes in base64url without padding. */
const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Longest JSON text of one ChatMessage: fields at their limits plus escaping headroom. */
export const MAX_CHANNEL_MESSAGE_LENGTH = 6 * (LIMITS.maxChatTextLength + LIMITS.maxNameLength + LIMITS.maxChatIdLength) + 256;

/** Reads a chat message (also used for chat relayed through the signaling server). */
export function readChatMessage(obj: JsonObject): ChatMessage {
  const type = string(obj, 'type', { max: 32 });
  if (type !== 'chat') return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  return {
    type,
    id: string(obj, 'id', { min: 1, max: LIMITS.maxChatIdLength }),
    text: string(obj, 'text', { min: 1, max: LIMITS.maxChatTextLength }),
    at: number(obj, 'at', { min: 0, max: 8.64e15 }),
    name: string(obj, 'name', { min: 1, max: LIMITS.maxNameLength, forbidden: NAME_FORBIDDEN }),
    ...(optionalBoolean(obj, 'private') === true ? { private: true as const } : {}),
  };
}

function readChannelMessage(obj: JsonObject): ChannelMessage {
  const type = string(obj, 'type', { max: 32 });
  switch (type) {
    case 'ready':
      return { type };
    case 'typing':
    case 'presence':
    case 'receipt':
      return readPresenceMessage(obj);
    case 'ping':
    case 'pong':
      return { type, n: number(obj, 'n', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }) };
    case 'verify-commit':
      return { type, commit: string(obj, 'commit', { min: 43, max: 43, pattern: BASE64URL_32 }) };
    case 'verify-reveal':
      return { type, nonce: string(obj, 'nonce', { min: 43, max: 43, pattern: BASE64URL_32 }) };
    case 'identity':
      return {
        type,
        key: string(obj, 'key', { min: 87, max: 87, pattern: BASE64URL }),
        sig: string(obj, 'sig', { min: 86, max: 86, pattern: BASE64URL }),
      };
    default:
      if (type.startsWith('file-')) return readFileMessage(obj);
      return type.startsWith('history') ? readHistoryMessage(obj) : readChatMessage(obj);
  }
}

/** Parses one data-channel message. Never throws. */
export function parseChannelMessage(raw: unknown): Result<ChannelMessage> {
  return parseObject(raw, MAX_CHANNEL_MESSAGE_LENGTH, readChannelMessage);
}

export function encodeChannelMessage(message: ChannelMessage): string {
  return JSON.stringify(message);
}
