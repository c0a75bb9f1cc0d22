/**
 * Time-limited TURN credentials, the "TURN REST API" scheme coturn implements
 * (`use-auth-secret` + `static-auth-secret`): the signaling server and the TURN server
 * share a secret; for each peer the signaling server mints a username
 * `<expiry unix time>:<peer id>` and its password base64(HMAC-SHA1(secret, username)).
 * The TURN server checks the HMAC and the expiry by itself: no user database, and a
 * credential that leaks stops working at its expiry.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/index.js';

export interface TurnSettings {
  /** The secret shared with the TURN server (`static-auth-secret` in coturn). Never logged, never sent. */
  readonly secret: string;
  /** `turn:` / `turns:` URLs handed out with the credentials. */
  readonly urls: readonly string[];
  /** How long a credential is valid, in seconds. */
  readonly ttlSeconds: number;
}

export const DEFAULT_TURN_TTL_SECONDS = 24 * 60 * 60;

export function mintTurnCredential(secret: string, id: string, expiresAtUnix: number): { username: string; credential: string } {
  const username = `${expiresAtUnix}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The ICE server entry for one peer, valid for `ttlSeconds` from `nowMs`. */
export function turnIceServer(settings: TurnSettings, id: string, nowMs: number = Date.now()): IceServer {
  const expires = Math.floor(nowMs / 1000) + settings.ttlSeconds;
  return { urls: [...settings.urls], ...mintTurnCredential(settings.secret, id, expires) };
}

const TURN_URL = /^turns?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/;

/** Reads `--turn-urls`: a comma-separated list of turn:/turns: URLs. Throws a RangeError naming the bad one. */
export function parseTurnUrls(raw: string): string[] {
  const urls = raw
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new RangeError('turn-urls: give at least one turn: or turns: URL.');
  for (const url of urls) {
    const match = TURN_URL.exec(url);
    const port = match?.[2] ? Number(match[2].slice(1)) : 3478;
    if (!match || port < 1 || port > 65535) {
      throw new RangeError(`turn-urls: "${url}" is not a TURN URL (turn:host[:port][?transport=udp|tcp] or turns:...).`);
    }
  }
  return urls;
}
