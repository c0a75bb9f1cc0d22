/**
 * The cryptography of the sealed relay (protocol/relay-payload.ts), WebCrypto only:
 * ECDH P-256 between one key pair per page (the private key not extractable) and the
 * peer's public key, HKDF-SHA-256 over the result with both ids and both public keys, and
 * AES-GCM-256 with a random 96-bit nonce per message. The additional data names sender
 * and receiver, so the server can neither send a message back to its author nor pass one
 * to a third peer: it fails the tag check there.
 */
import { fromBase64url, toBase64url } from './base64url.js';
import { keyDigestHex } from './identity-keys.js';

export interface RelayKeyPair {
  readonly privateKey: CryptoKey;
  /** Raw uncompressed public point, base64url (87 characters). */
  readonly publicKey: string;
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;
const encoder = new TextEncoder();

export async function newRelayKeyPair(): Promise<RelayKeyPair> {
  const pair = (await crypto.subtle.generateKey(ECDH, false, ['deriveBits'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: toBase64url(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))) };
}

/**
 * The pair's AES-GCM key. Both sides get the same one: the HKDF info lists both parties
 * sorted by id. Rejects (like importKey) if `peerKey` is not a point on the curve.
 */
export async function deriveRelayKey(own: RelayKeyPair, selfId: string, peerKey: string, peerId: string): Promise<CryptoKey> {
  const peerPublic = await crypto.subtle.importKey('raw', fromBase64url(peerKey), ECDH, false, []);
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peerPublic }, own.privateKey, 256);
  const material = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const [first, second] =
    selfId < peerId
      ? [
          [selfId, own.publicKey],
          [peerId, peerKey],
        ]
      : [
          [peerId, peerKey],
          [selfId, own.publicKey],
        ];
  const info = encoder.encode(`p2p-chat relay 1\n${first.join('\n')}\n${second.join('\n')}`);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info }, material, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

/** What the tag covers besides the text: sender, receiver and (version 9) the message's number in the sender's sequence. */
const associated = (from: string, to: string, n?: number) => encoder.encode(n === undefined ? `${from}\n${to}` : `${from}\n${to}\n${n}`);

export async function seal(key: CryptoKey, text: string, from: string, to: string, n?: number): Promise<{ iv: string; data: string }> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: associated(from, to, n) }, key, encoder.encode(text));
  return { iv: toBase64url(iv), data: toBase64url(new Uint8Array(data)) };
}

/**
 * The text, or null if the tag does not check out (altered, not sealed from `from` to
 * `to` under this key, or given another number `n` than it was sealed with).
 */
export async function unseal(key: CryptoKey, sealed: { iv: string; data: string; n?: number }, from: string, to: string): Promise<string | null> {
  try {
    const iv = fromBase64url(sealed.iv);
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: associated(from, to, sealed.n) }, key, fromBase64url(sealed.data));
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    return null;
  }
}

/** `p-256 AB12…`: how a relay key shows where a DTLS fingerprint would (SHA-256 of the key, first 16 bytes). */
export async function relayKeyFingerprint(publicKey: string): Promise<string> {
  return `p-256 ${(await keyDigestHex(publicKey)).join(':')}`;
}
