/**
 * Files peer to peer (protocol version 6). The offer and the answer to it travel on the
 * `chat` channel; the bytes on a data channel of their own per transfer (label
 * `file-<id>`, ordered and reliable, so chat lines interleave with a big file): once the
 * receiver listens on it, it says `ready` (as on `chat`); then binary chunks in order, and after each block of `blockSize` bytes (the last may be
 * shorter) a `file-block` text message with that block's SHA-256, so the receiver checks
 * the file block by block without holding it whole. The receiver answers `file-done`
 * once every block matched (then both sides show "verified"). Either side may
 * `file-cancel` at any time; a receiver never trusts the announced size: more bytes, a
 * block hash out of order or a wrong one ends the transfer with an error.
 */
import { number, optionalString, reject, string, type JsonObject } from './fields.js';

/** The protocol version that brought files: offered only to peers that speak it. */
export const FILE_VERSION = 6;

/** The label of a transfer's data channel: this prefix and the transfer id. */
export const FILE_CHANNEL_PREFIX = 'file-';

export const FILE_LIMITS = {
  /** Names longer than this are refused (a name is shown shortened anyway). */
  maxNameLength: 1024,
  maxTypeLength: 255,
  /** Blocks are hashed one by one: between 64 KiB and 16 MiB, a power of two. */
  minBlockSize: 64 * 1024,
  maxBlockSize: 16 * 1024 * 1024,
  /** The largest binary chunk a receiver takes (the most any browser sends in one message reliably). */
  maxChunkSize: 256 * 1024,
  maxReasonLength: 200,
} as const;

export interface FileOfferMessage {
  readonly type: 'file-offer';
  /** Random, unique per sender (16 to 64 characters, base64url alphabet). */
  readonly id: string;
  /** As the sender's system named it: untrusted, shown and saved only after cleaning (client/file-name.ts). */
  readonly name: string;
  /** Bytes. The receiver holds the sender to it. */
  readonly size: number;
  /** MIME type as the sender's browser gave it (may be empty); untrusted. */
  readonly mime: string;
  readonly blockSize: number;
}
export interface FileAcceptMessage {
  readonly type: 'file-accept';
  readonly id: string;
}
export interface FileDeclineMessage {
  readonly type: 'file-decline';
  readonly id: string;
}
export interface FileCancelMessage {
  readonly type: 'file-cancel';
  readonly id: string;
  readonly reason?: string;
}
/** On the transfer's channel, after block `index`: its SHA-256 (base64url, 43 characters). */
export interface FileBlockMessage {
  readonly type: 'file-block';
  readonly id: string;
  readonly index: number;
  readonly hash: string;
}
/** Receiver to sender: every block arrived and matched. */
export interface FileDoneMessage {
  readonly type: 'file-done';
  readonly id: string;
}

export type FileMessage = FileOfferMessage | FileAcceptMessage | FileDeclineMessage | FileCancelMessage | FileBlockMessage | FileDoneMessage;

const TRANSFER_ID = { min: 16, max: 64, pattern: /^[A-Za-z0-9_-]+$/ };
const HASH = { min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ };
// eslint-disable-next-line no-control-regex
const MIME_FORBIDDEN = /[\u0000-\u001f\u007f]/;

/** Reads a `file-*` message (its `type` already known to start with `file-`). */
export function readFileMessage(obj: JsonObject): FileMessage {
  const type = string(obj, 'type', { max: 32 });
  const id = string(obj, 'id', TRANSFER_ID);
  switch (type) {
    case 'file-offer': {
      const blockSize = number(obj, 'blockSize', { min: FILE_LIMITS.minBlockSize, max: FILE_LIMITS.maxBlockSize, integer: true });
      if ((blockSize & (blockSize - 1)) !== 0) reject('bad-value', 'The block size must be a power of two.', 'blockSize');
      return {
        type,
        id,
        name: string(obj, 'name', { min: 1, max: FILE_LIMITS.maxNameLength }),
        size: number(obj, 'size', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }),
        mime: string(obj, 'mime', { max: FILE_LIMITS.maxTypeLength, forbidden: MIME_FORBIDDEN }),
        blockSize,
      };
    }
    case 'file-accept':
    case 'file-decline':
    case 'file-done':
      return { type, id };
    case 'file-cancel': {
      const reason = optionalString(obj, 'reason', { max: FILE_LIMITS.maxReasonLength });
      return reason === undefined ? { type, id } : { type, id, reason };
    }
    case 'file-block':
      return { type, id, index: number(obj, 'index', { min: 0, max: 2 ** 32, integer: true }), hash: string(obj, 'hash', HASH) };
    default:
      return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  }
}

/** Blocks of a file of `size` bytes: at least one (an empty file has one empty block). */
export function blockCount(size: number, blockSize: number): number {
  return Math.max(1, Math.ceil(size / blockSize));
}
