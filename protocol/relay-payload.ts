/**
 * What a `relay` message carries (the server's chat relay, for pairs that cannot connect
 * directly). Up to protocol version 4, a chat message in clear text: the server can read
 * it. From version 5, a pair where both sides speak it first swaps keys (`relay-key`)
 * and then relays only sealed messages (`sealed`): channel messages encrypted with
 * AES-GCM under a key only the two browsers can derive (ECDH), so the server carries
 * ciphertext it can neither read nor alter unnoticed.
 */
import { readChatMessage, MAX_CHANNEL_MESSAGE_LENGTH, type ChatMessage } from './chat.js';
import { optionalNumber, optionalString, string, type JsonObject } from './fields.js';

/** The protocol version that brought end-to-end encryption of relayed chat. */
export const SEALED_RELAY_VERSION = 5;

/**
 * The protocol version that numbers sealed payloads (`n`): each side counts its sealed
 * payloads to the other from 1 under each pair key, and the number is part of what the
 * seal authenticates, so the server can neither replay a message nor drop or reorder
 * messages unseen.
 */
export const SEALED_SEQUENCE_VERSION = 9;

/**
 * One side's key for the pair's sealed relay: an ECDH P-256 public key made for this
 * page. Sealed messages follow once both keys are in; the first is each side's
 * `identity` (as on a data channel), whose signature covers both ids and both of these
 * keys, so a server that swapped keys cannot pass for either person's identity. A
 * `relay-key` without `key` says: this side cannot encrypt (no WebCrypto on its page), so
 * the pair relays clear text, and both sides' UI says so.
 */
export interface RelayKeyMessage {
  readonly type: 'relay-key';
  /** ECDH P-256 public key, raw uncompressed point, base64url (87 characters). */
  readonly key?: string;
}

/** A channel message encrypted for one peer (AES-GCM, 96-bit random nonce, 128-bit tag). */
export interface SealedMessage {
  readonly type: 'sealed';
  /** The nonce: 12 bytes, base64url (16 characters). */
  readonly iv: string;
  /** Ciphertext with its tag, base64url. */
  readonly data: string;
  /**
   * Version 9: its number in the sender's sequence to this peer under this pair key (1,
   * 2, …), authenticated with the message. Absent from older senders.
   */
  readonly n?: number;
}

export type RelayPayload = ChatMessage | RelayKeyMessage | SealedMessage;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** The longest channel message, sealed: 16 bytes of tag, then base64url (4 characters per 3 bytes). */
export const MAX_SEALED_DATA_LENGTH = Math.ceil(((MAX_CHANNEL_MESSAGE_LENGTH + 16) * 4) / 3);

/** Reads what a `relay` message carries (on the server, and on the receiving client). */
export function readRelayPayload(obj: JsonObject): RelayPayload {
  const type = string(obj, 'type', { max: 32 });
  switch (type) {
    case 'relay-key': {
      const key = optionalString(obj, 'key', { min: 87, max: 87, pattern: BASE64URL });
      return key === undefined ? { type } : { type, key };
    }
    case 'sealed': {
      const sealed = {
        type,
        iv: string(obj, 'iv', { min: 16, max: 16, pattern: BASE64URL }),
        data: string(obj, 'data', { min: 22, max: MAX_SEALED_DATA_LENGTH, pattern: BASE64URL }),
      };
      const n = optionalNumber(obj, 'n', { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });
      return n === undefined ? sealed : { ...sealed, n };
    }
    default:
      return readChatMessage(obj);
  }
}
