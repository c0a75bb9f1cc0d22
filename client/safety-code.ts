/**
 * Safety codes: what two people read to each other to know that nobody sits between
 * their browsers. WebRTC encrypts each connection with DTLS, but each browser learns the
 * other's certificate fingerprint from the signaling server, which could hand each side
 * a certificate of its own and read everything. The code is a hash of both DTLS
 * fingerprints as each side sees them (its own, and the one the other side actually
 * presented) with both peer ids and two nonces exchanged commit-then-reveal: in the
 * middle, the two sides see different fingerprints, so their codes differ, and the
 * commitments stop the one in the middle from trying nonces until they agree.
 *
 * The code: 12 digits in three groups of four (about 40 bits). A short code is enough
 * because of the commitments: the one in the middle gets one guess per comparison.
 */

/** One side of a connection: its peer id, its DTLS fingerprint, its revealed nonce. */
export interface SafetyParty {
  readonly id: string;
  readonly fingerprint: string;
  readonly nonce: string;
}

export interface ConnectionFingerprints {
  /** Ours, e.g. `sha-256 AB:CD:…`. */
  readonly local: string;
  /** The other side's, as its certificate was presented to DTLS (or, failing that, as its description says). */
  readonly remote: string;
  /**
   * Where the remote one was read: the connection's stats (the certificate presented) or
   * the remote description; `relay-key` for a sealed relay pair, whose fingerprints are
   * the two sides' ECDH keys.
   */
  readonly source: 'certificate' | 'description' | 'relay-key';
}

import { toBase64url } from './base64url.js';
import { statsById, type StatsReport } from './connection-path.js';

const encoder = new TextEncoder();

/** 32 random bytes, base64url: a nonce for one comparison. */
export function newNonce(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** The commitment to a nonce: its SHA-256, base64url. */
export async function commitmentTo(nonce: string): Promise<string> {
  return toBase64url(await sha256(`p2p-chat verify commit\n${nonce}`));
}

/** `sha-256 AB:CD:…`: the algorithm in lower case, the hex in upper case with colons. */
export function normalizeFingerprint(algorithm: string, value: string): string {
  return `${algorithm.trim().toLowerCase()} ${value.trim().toUpperCase()}`;
}

/** The `a=fingerprint` of a description (session or first media level), normalized. */
export function fingerprintInSdp(sdp: string | undefined): string | null {
  const match = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp ?? '');
  return match ? normalizeFingerprint(match[1]!, match[2]!) : null;
}

/** WebCrypto's name for a fingerprint algorithm of a description (`sha-256` → `SHA-256`), or null. */
function digestName(algorithm: string): string | null {
  return /^sha-(1|256|384|512)$/.test(algorithm) ? algorithm.toUpperCase() : null;
}

/**
 * The certificate the peer presented to DTLS, hashed with the algorithm of its
 * description's fingerprint (what it should match): the DTLS transport hands out the
 * certificate itself (Chromium, Firefox), one read with no stats to gather. Null where it
 * does not (Node's WebRTC) or before DTLS is done.
 */
async function presentedFingerprint(pc: RTCPeerConnection, algorithm: string): Promise<string | null> {
  // Browsers only (see browserIceTransport in connection-path.ts): Node's WebRTC has its stats.
  if (typeof (globalThis as { RTCDtlsTransport?: unknown }).RTCDtlsTransport !== 'function') return null;
  try {
    const transport = pc.sctp?.transport as (RTCDtlsTransport & { getRemoteCertificates?: () => ArrayBuffer[] }) | undefined;
    const certificate = transport?.getRemoteCertificates?.()[0];
    const digest = digestName(algorithm);
    if (!certificate || !digest || typeof crypto === 'undefined' || !crypto.subtle) return null;
    const bytes = new Uint8Array(await crypto.subtle.digest(digest, certificate));
    return normalizeFingerprint(algorithm, Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':'));
  } catch {
    return null;
  }
}

/**
 * The two fingerprints of a connection: ours from our description, the other side's from
 * the certificate it presented (from the DTLS transport, or the transport's
 * `remoteCertificateId` in the stats) when the browser gives it, else from its description
 * (which DTLS checked it against). `reports`: the connection's stats when the caller has
 * read them already.
 */
export async function connectionFingerprints(pc: RTCPeerConnection, reports?: ReadonlyMap<string, StatsReport>): Promise<ConnectionFingerprints | null> {
  let local: string | null;
  let described: string | null;
  try {
    // Firefox throws reading the descriptions of a closed connection.
    local = fingerprintInSdp(pc.localDescription?.sdp);
    described = fingerprintInSdp(pc.remoteDescription?.sdp);
  } catch {
    return null;
  }
  if (!local || !described) return null;
  try {
    const presented = reports ? null : await presentedFingerprint(pc, described.slice(0, described.indexOf(' ')));
    if (presented) return { local, remote: presented, source: 'certificate' };
    const stats = reports ?? (await statsById(pc));
    let certificateId: unknown;
    for (const report of stats.values()) if (report.type === 'transport' && report['remoteCertificateId']) certificateId = report['remoteCertificateId'];
    const certificate = typeof certificateId === 'string' ? stats.get(certificateId) : undefined;
    const [algorithm, fingerprint] = [certificate?.['fingerprintAlgorithm'], certificate?.['fingerprint']];
    if (typeof algorithm === 'string' && typeof fingerprint === 'string') {
      return { local, remote: normalizeFingerprint(algorithm, fingerprint), source: 'certificate' };
    }
  } catch {
    // No certificate and no stats (a closed connection): the description's fingerprint.
  }
  return { local, remote: described, source: 'description' };
}

/**
 * The code both sides compute: SHA-256 over both parties sorted by id (so each side puts
 * them in the same order), then 12 decimal digits from the first 8 bytes.
 */
export async function safetyCode(a: SafetyParty, b: SafetyParty): Promise<string> {
  const [first, second] = a.id < b.id ? [a, b] : [b, a];
  const line = (p: SafetyParty) => `${p.id}\n${p.fingerprint}\n${p.nonce}`;
  const digest = await sha256(`p2p-chat safety code 1\n${line(first)}\n${line(second)}`);
  let value = 0n;
  for (const byte of digest.subarray(0, 8)) value = (value << 8n) | BigInt(byte);
  const digits = (value % 10n ** 12n).toString().padStart(12, '0');
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}
