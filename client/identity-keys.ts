/**
 * Long-lived identities: an ECDSA P-256 key pair per browser profile (WebCrypto; the
 * private key is not extractable) kept in IndexedDB, and the keys of peers this profile
 * verified (trust on first use, like SSH). Where there is no IndexedDB (Node, a private
 * window that refuses it) or with `identity="ephemeral"`, both live for the page only.
 *
 * Several identities can share one origin (an app with several accounts, or tests): each
 * has a name (`default` unless the `identity` attribute names another).
 */

export interface IdentityKeys {
  readonly name: string;
  readonly privateKey: CryptoKey;
  /** The public key, raw uncompressed point, base64url. */
  readonly publicKey: string;
  /** Short fingerprint of the public key, for people: 8 groups of 4 hex digits. */
  readonly fingerprint: string;
}

import { fromBase64url, toBase64url } from './base64url.js';

const DB = 'p2p-chat-identity';
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The first 16 bytes of the SHA-256 of a raw public key (base64url), as upper-case hex pairs: what key fingerprints are made of. */
export async function keyDigestHex(publicKey: string): Promise<string[]> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', fromBase64url(publicKey)));
  return [...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0').toUpperCase());
}

/** `AB12 CD34 …`: SHA-256 of the raw public key, first 16 bytes. */
export async function keyFingerprint(publicKey: string): Promise<string> {
  return (await keyDigestHex(publicKey)).join('').match(/.{4}/g)!.join(' ');
}

function openDb(): Promise<IDBDatabase | null> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(null);
  return new Promise((resolve) => {
    try {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore('keys');
        request.result.createObjectStore('peers');
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null);
      request.onblocked = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
}

function run<T>(db: IDBDatabase, store: string, mode: IDBTransactionMode, act: (s: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  return new Promise((resolve) => {
    try {
      const request = act(db.transaction(store, mode).objectStore(store));
      request.onsuccess = () => resolve(request.result);
      request.onerror = (event) => {
        // Told to the caller (undefined), so not an error of the page (e.g. `add` of a taken name).
        event.preventDefault();
        resolve(undefined);
      };
    } catch {
      resolve(undefined);
    }
  });
}

async function describe(name: string, pair: CryptoKeyPair): Promise<IdentityKeys> {
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const publicKey = toBase64url(raw);
  return { name, privateKey: pair.privateKey, publicKey, fingerprint: await keyFingerprint(publicKey) };
}

/** This profile's identity `name`, made on first use; `ephemeral`: a new one for this page only. */
export async function loadIdentity(name: string): Promise<{ keys: IdentityKeys; known: KnownPeers }> {
  const ephemeral = name === 'ephemeral';
  const db = ephemeral ? null : await openDb();
  const stored = async (db: IDBDatabase) => {
    const pair = await run<CryptoKeyPair>(db, 'keys', 'readonly', (s) => s.get(name));
    return pair?.privateKey && pair.publicKey ? { keys: await describe(name, pair), known: new KnownPeers(name, db) } : null;
  };
  const existing = db && (await stored(db));
  if (existing) return existing;
  const pair = (await crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])) as CryptoKeyPair;
  // Two chats (or tabs) of one profile loading it for the first time at once both get
  // here: the first key stored is the profile's, the other side takes it instead of
  // overwriting it (else each would sign with its own key and a peer that verified one
  // would later see "key changed"; seen in the browser tests, 2026-11-28).
  if (db && (await run(db, 'keys', 'readwrite', (s) => s.add(pair, name))) === undefined) {
    const first = await stored(db);
    if (first) return first;
  }
  return { keys: await describe(name, pair), known: new KnownPeers(name, db) };
}

/** The text an identity signs: both peers' ids and DTLS fingerprints, in id order. */
export function bindingText(a: { id: string; fingerprint: string }, b: { id: string; fingerprint: string }): string {
  const [first, second] = a.id < b.id ? [a, b] : [b, a];
  return `p2p-chat identity 1\n${first.id}\n${first.fingerprint}\n${second.id}\n${second.fingerprint}`;
}

export async function signBinding(keys: IdentityKeys, binding: string): Promise<string> {
  return toBase64url(new Uint8Array(await crypto.subtle.sign(SIGNING, keys.privateKey, new TextEncoder().encode(binding))));
}

/** Whether `sig` is `key`'s signature of `binding` (false for a key that does not import). */
export async function verifyBinding(key: string, sig: string, binding: string): Promise<boolean> {
  try {
    const publicKey = await crypto.subtle.importKey('raw', fromBase64url(key), ALGORITHM, false, ['verify']);
    return await crypto.subtle.verify(SIGNING, publicKey, fromBase64url(sig), new TextEncoder().encode(binding));
  } catch {
    return false;
  }
}

/** The keys this identity verified, by peer name (per origin; in memory without IndexedDB). */
export class KnownPeers {
  readonly #memory = new Map<string, string>();

  constructor(
    readonly identity: string,
    readonly db: IDBDatabase | null,
  ) {}

  async keyOf(peerName: string): Promise<string | null> {
    const key = `${this.identity}\n${peerName}`;
    if (this.#memory.has(key)) return this.#memory.get(key)!;
    if (!this.db) return null;
    return (await run<string>(this.db, 'peers', 'readonly', (s) => s.get(key))) ?? null;
  }

  /** Every name this identity verified, with its key fingerprint (read afresh: another chat of the profile may have added one). */
  async all(): Promise<Map<string, string>> {
    const prefix = `${this.identity}\n`;
    const found = new Map<string, string>();
    if (this.db && typeof IDBKeyRange !== 'undefined') {
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const [names, keys] = await Promise.all([
        run<IDBValidKey[]>(this.db, 'peers', 'readonly', (s) => s.getAllKeys(range)),
        run<string[]>(this.db, 'peers', 'readonly', (s) => s.getAll(range)),
      ]);
      names?.forEach((name, at) => typeof keys?.[at] === 'string' && found.set(String(name).slice(prefix.length), keys[at]));
    }
    for (const [name, key] of this.#memory) found.set(name.slice(prefix.length), key);
    return found;
  }

  async remember(peerName: string, fingerprint: string): Promise<void> {
    const key = `${this.identity}\n${peerName}`;
    this.#memory.set(key, fingerprint);
    if (this.db) await run(this.db, 'peers', 'readwrite', (s) => s.put(fingerprint, key));
  }
}
