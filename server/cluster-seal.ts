/**
 * Sealing the frames one signaling process relays to another through Redis
 * (`clusterSecret`): offers, answers, candidates and relayed chat. Redis is shared state,
 * and whoever can read its channels would read them, whoever can publish on them could
 * hand a process a frame "from" anyone. Sealed, a frame is AES-256-GCM under a key
 * derived (HKDF-SHA-256) from the service's shared secret and the sending process's name,
 * with a fresh random 96-bit nonce; the channel it was published on and its header are
 * the additional data, so it cannot be moved to another process either. Each process
 * numbers its frames: a frame published again (a replay) is refused. A process's key
 * lives as long as the process (its name is random for each start), so a key seals far
 * fewer frames than random nonces allow (2^32).
 *
 * On the channel: `s<node>\n<seq>\n` + nonce (12 bytes) + ciphertext + tag (16 bytes); the
 * plaintext is the clear form, `<to>\n<from>\n<room>\n<frame>`.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/** A secret shorter than this is refused: HKDF does not make a guessable secret strong. */
export const MIN_CLUSTER_SECRET_LENGTH = 16;

/** The first byte of a sealed frame (`s`); a clear frame starts with `f`, an event with `{`. */
export const SEALED = 0x73;

const SALT = Buffer.from('p2p-chat cluster frames v1');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Processes remembered (their keys and last sequence numbers): each start is a new one. */
const REMEMBERED_NODES = 1000;

export type OpenResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: 'forged' | 'replayed' | 'malformed' };

export class ClusterSeal {
  readonly #secret: Buffer;
  readonly #node: string;
  readonly #key: KeyObject;
  #seq = 0;
  readonly #keys = new Map<string, KeyObject>();
  /** The highest sequence number accepted from each process. */
  readonly #lastSeq = new Map<string, number>();

  constructor(secret: string, node: string) {
    if (secret.length < MIN_CLUSTER_SECRET_LENGTH)
      throw new RangeError(`cluster-secret: at least ${MIN_CLUSTER_SECRET_LENGTH} characters (openssl rand -hex 32 makes a good one).`);
    this.#secret = Buffer.from(secret, 'utf8');
    this.#node = node;
    this.#key = this.#keyOf(node);
    this.#keys.set(node, this.#key);
  }

  #keyOf(node: string): KeyObject {
    return this.#keys.get(node) ?? createSecretKey(Buffer.from(hkdfSync('sha256', this.#secret, SALT, `node ${node}`, 32)));
  }

  /** Kept only once a frame sealed with it was genuine: forged names do not push real ones out. */
  #remember<V>(map: Map<string, V>, node: string, value: V): void {
    if (!map.has(node) && map.size >= REMEMBERED_NODES) map.delete(map.keys().next().value!);
    map.set(node, value);
  }

  /** The sealed form of `body` for publishing on `channel`. */
  seal(channel: string, body: string): Buffer {
    const header = Buffer.from(`s${this.#node}\n${++this.#seq}\n`, 'latin1');
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.concat([Buffer.from(`${channel}\n`, 'latin1'), header]));
    const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
    return Buffer.concat([header, nonce, sealed, cipher.getAuthTag()]);
  }

  /** The body of a sealed frame that arrived on `channel`, if it is genuine and new. */
  open(channel: string, data: Buffer): OpenResult {
    const a = data.indexOf(10);
    const b = a < 0 ? -1 : data.indexOf(10, a + 1);
    if (data[0] !== SEALED || a < 2 || a > 65 || b < 0 || b - a > 17 || data.length < b + 1 + NONCE_BYTES + TAG_BYTES)
      return { ok: false, reason: 'malformed' };
    const node = data.toString('latin1', 1, a);
    const seq = Number(data.toString('latin1', a + 1, b));
    if (!Number.isSafeInteger(seq) || seq < 1) return { ok: false, reason: 'malformed' };
    const nonce = data.subarray(b + 1, b + 1 + NONCE_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const key = this.#keyOf(node);
    let body: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(Buffer.concat([Buffer.from(`${channel}\n`, 'latin1'), data.subarray(0, b + 1)]));
      decipher.setAuthTag(tag);
      body = Buffer.concat([decipher.update(data.subarray(b + 1 + NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      return { ok: false, reason: 'forged' };
    }
    // Only a genuine frame moves the count on: a forged one cannot make later ones look replayed.
    const last = this.#lastSeq.get(node) ?? 0;
    if (seq <= last) return { ok: false, reason: 'replayed' };
    this.#remember(this.#keys, node, key);
    this.#remember(this.#lastSeq, node, seq);
    return { ok: true, body };
  }
}
