/**
 * Everyone in the room as the server introduced them, and how chat reaches each: over a
 * direct data channel (`direct`, with its PeerLink), through the server's relay
 * (`relayed`), or not at all (`none`: the pair cannot connect directly and the server
 * does not relay). The directory is the only place that decides a peer's transport, so
 * a peer is never listed twice nor reached two ways at once.
 */
import type { PeerLink } from './peer-link.js';
import type { PeerInfo, PeerPath } from './mesh-events.js';

export type Transport = 'direct' | 'relayed' | 'none';

export interface PeerEntry {
  readonly id: string;
  name: string;
  /** The protocol version the peer speaks (1 when it did not say). */
  version: number;
  /** false: the peer has no WebRTC. */
  webrtc: boolean;
  readonly transport: Transport;
  /** The direct connection, while the transport is `direct`. */
  readonly link: PeerLink | null;
}

interface MutableEntry extends PeerEntry {
  transport: Transport;
  link: PeerLink | null;
}

export class PeerDirectory {
  readonly #peers = new Map<string, MutableEntry>();

  get(id: string): PeerEntry | undefined {
    return this.#peers.get(id);
  }

  has(id: string): boolean {
    return this.#peers.has(id);
  }

  get size(): number {
    return this.#peers.size;
  }

  entries(): IterableIterator<PeerEntry> {
    return this.#peers.values();
  }

  /** The direct connections held. */
  *links(): Iterable<PeerLink> {
    for (const entry of this.#peers.values()) if (entry.link) yield entry.link;
  }

  /** The link to `id`, if chat to it goes direct. */
  link(id: string): PeerLink | undefined {
    return this.#peers.get(id)?.link ?? undefined;
  }

  /** Adds a peer (or updates its name and version); `added` is true the first time. */
  introduce(id: string, name: string, version: number, webrtc: boolean): { entry: PeerEntry; added: boolean } {
    const known = this.#peers.get(id);
    if (known) {
      known.name = name;
      known.version = version;
      known.webrtc = webrtc;
      return { entry: known, added: false };
    }
    const entry: MutableEntry = { id, name, version, webrtc, transport: 'none', link: null };
    this.#peers.set(id, entry);
    return { entry, added: true };
  }

  /** Chat to `id` goes over `link` from now on; returns the link it replaces, if any. */
  setDirect(id: string, link: PeerLink): PeerLink | null {
    const entry = this.#peers.get(id);
    if (!entry) return null;
    const old = entry.link === link ? null : entry.link;
    entry.link = link;
    entry.transport = 'direct';
    return old;
  }

  /**
   * Chat to `id` goes through the server's relay (or nowhere, if the server does not
   * relay); returns the direct link it leaves, for the caller to close and drain.
   */
  setRelayed(id: string, relayAllowed: boolean): PeerLink | null {
    const entry = this.#peers.get(id);
    if (!entry) return null;
    const old = entry.link;
    entry.link = null;
    entry.transport = relayAllowed ? 'relayed' : 'none';
    return old;
  }

  /** The peer left; returns what it was, with its link for the caller to close. */
  remove(id: string): PeerEntry | undefined {
    const entry = this.#peers.get(id);
    this.#peers.delete(id);
    return entry;
  }

  clear(): PeerEntry[] {
    const all = [...this.#peers.values()];
    this.#peers.clear();
    return all;
  }

  /** Which way chat to `id` runs now, when known. */
  path(id: string, relayAllowed: boolean): PeerPath | null {
    const entry = this.#peers.get(id);
    if (!entry) return null;
    if (entry.link) return entry.link.path;
    return entry.transport === 'relayed' && relayAllowed ? 'server' : null;
  }

  /** What the element shows: one line per peer, however it is reached. */
  list(relayAllowed: boolean): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const entry of this.#peers.values()) {
      if (entry.link) out.push({ id: entry.id, name: entry.name, state: entry.link.peerState, transport: 'direct' });
      else if (entry.transport === 'relayed' && relayAllowed) out.push({ id: entry.id, name: entry.name, state: 'connected', transport: 'relayed' });
      else if (entry.transport !== 'direct') out.push({ id: entry.id, name: entry.name, state: 'failed', transport: 'none' });
    }
    return out;
  }
}
