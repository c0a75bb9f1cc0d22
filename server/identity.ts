/**
 * Peer ids and resume tokens. A joiner gets a random secret token; its id is derived
 * from the token by a hash, so whoever shows the token again gets the same id back
 * (after a signaling outage, even from a restarted server) and nobody can claim an id
 * without its token. The server keeps no table of tokens.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Identity {
  readonly id: string;
  readonly resume: string;
}

export function idFromToken(token: string): string {
  return createHash('sha256').update(`p2p-chat peer id:${token}`).digest('base64url').slice(0, 12);
}

export function newIdentity(): Identity {
  const resume = randomBytes(18).toString('base64url');
  return { id: idFromToken(resume), resume };
}

export function resumedIdentity(token: string): Identity {
  return { id: idFromToken(token), resume: token };
}
