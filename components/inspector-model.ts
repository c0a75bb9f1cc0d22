/**
 * What <p2p-inspector> knows about each remote peer, built from `p2p-*` events and the
 * peer connection's own state events. Plain data and plain methods: no DOM.
 */
import type { IceCandidate } from '../protocol/index.js';
import type { SignalDetail } from '../client/mesh-events.js';

export type StateKind = 'signalingState' | 'iceGatheringState' | 'iceConnectionState' | 'connectionState' | 'channelState';
export const STATE_KINDS: readonly StateKind[] = ['signalingState', 'iceGatheringState', 'iceConnectionState', 'connectionState', 'channelState'];

export interface SequenceEntry {
  readonly at: number;
  readonly direction: 'in' | 'out';
  readonly type: string;
  /** For candidates: host / srflx / relay / prflx, or `end`. */
  readonly candidateType?: string;
}

export interface StateChange {
  readonly state: string;
  readonly at: number;
}

export type CandidateStatus = 'sent' | 'applied' | 'queued' | 'released';

export interface CandidateRow {
  readonly side: 'local' | 'remote';
  readonly type: string;
  readonly address: string;
  readonly port: string;
  readonly protocol: string;
  readonly end: boolean;
  status: CandidateStatus;
  readonly at: number;
}

export interface PairStats {
  readonly local: { address: string; port: number | string; type: string; protocol: string };
  readonly remote: { address: string; port: number | string; type: string; protocol: string };
  readonly rttMs: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export type Pitfall = 'collision-polite' | 'collision-impolite' | 'candidates-queued' | 'ice-restart';

export interface PeerRecord {
  readonly id: string;
  name: string;
  readonly sequence: SequenceEntry[];
  readonly states: Record<StateKind, StateChange[]>;
  localSdp: string | null;
  remoteSdp: string | null;
  readonly candidates: CandidateRow[];
  readonly pitfalls: Set<Pitfall>;
  stats: PairStats | null;
  left: boolean;
  /** Both DTLS fingerprints, read from the connection (refreshed with the stats). */
  fingerprints: { readonly local: string; readonly remote: string; readonly source: 'certificate' | 'description' | 'relay-key' } | null;
  /** The last safety code compared with this peer. */
  verify: { readonly code: string; readonly startedByPeer: boolean; readonly at: number } | null;
  /** The peer's identity key and its status. */
  identity: { readonly key: string; readonly status: 'new' | 'verified' | 'changed' | 'missing' } | null;
}

/** Splits an ICE candidate line into what a learner looks at. */
export function describeCandidate(candidate: IceCandidate | null): Omit<CandidateRow, 'side' | 'status' | 'at'> {
  if (!candidate || candidate.candidate === '') return { type: 'end', address: '', port: '', protocol: '', end: true };
  const parts = candidate.candidate.replace(/^candidate:/, '').split(' ');
  const typIndex = parts.indexOf('typ');
  return {
    type: typIndex >= 0 ? (parts[typIndex + 1] ?? '?') : '?',
    protocol: (parts[2] ?? '').toLowerCase(),
    address: parts[4] ?? '',
    port: parts[5] ?? '',
    end: false,
  };
}

export class InspectorModel {
  readonly peers = new Map<string, PeerRecord>();
  /** Our own join steps (new-peer, welcome), shown at the top of every diagram. */
  readonly joinSteps: SequenceEntry[] = [];

  peer(id: string, name?: string): PeerRecord {
    let record = this.peers.get(id);
    if (!record) {
      record = {
        id,
        name: name ?? id.slice(0, 6),
        sequence: [],
        states: { signalingState: [], iceGatheringState: [], iceConnectionState: [], connectionState: [], channelState: [] },
        localSdp: null,
        remoteSdp: null,
        candidates: [],
        pitfalls: new Set(),
        stats: null,
        left: false,
        fingerprints: null,
        verify: null,
        identity: null,
      };
      this.peers.set(id, record);
    }
    if (name) record.name = name;
    return record;
  }

  signal(detail: SignalDetail): void {
    if (detail.direction === 'note') {
      this.#note(detail.peer, detail.message.code);
      return;
    }
    const message = detail.message;
    if (!detail.peer) {
      const step: SequenceEntry = { at: detail.at, direction: detail.direction, type: message.type };
      // A rename (protocol 8) is about the connections that stay: it goes in each of their diagrams.
      if (message.type === 'rename') for (const record of this.peers.values()) if (!record.left) record.sequence.push(step);
      if (message.type !== 'rename') this.joinSteps.push(step);
      return;
    }
    const record = this.peer(detail.peer, message.type === 'new-peer' && 'name' in message ? message.name : undefined);
    const entry: SequenceEntry =
      message.type === 'candidate'
        ? { at: detail.at, direction: detail.direction, type: message.type, candidateType: describeCandidate(message.candidate).type }
        : { at: detail.at, direction: detail.direction, type: message.type };
    record.sequence.push(entry);
    if (message.type === 'offer' || message.type === 'answer') {
      if (detail.direction === 'out') record.localSdp = message.sdp;
      else record.remoteSdp = message.sdp;
    }
    if (message.type === 'candidate') {
      const side = detail.direction === 'out' ? 'local' : 'remote';
      record.candidates.push({ ...describeCandidate(message.candidate), side, status: side === 'local' ? 'sent' : 'applied', at: detail.at });
    }
    if (message.type === 'peer-disconnected') record.left = true;
  }

  #note(peerId: string, code: string): void {
    const record = this.peer(peerId);
    switch (code) {
      case 'candidate-queued': {
        // The note follows the candidate it is about.
        const last = [...record.candidates].reverse().find((c) => c.side === 'remote');
        if (last) last.status = 'queued';
        record.pitfalls.add('candidates-queued');
        return;
      }
      case 'candidates-released':
        for (const row of record.candidates) if (row.status === 'queued') row.status = 'released';
        return;
      case 'offer-collision-rollback':
        record.pitfalls.add('collision-polite');
        return;
      case 'offer-collision-ignored':
        record.pitfalls.add('collision-impolite');
        return;
      case 'ice-restart':
        record.pitfalls.add('ice-restart');
        return;
      default:
        return;
    }
  }

  state(peerId: string, kind: StateKind, state: string, at: number): void {
    const history = this.peer(peerId).states[kind];
    if (history.at(-1)?.state === state) return;
    history.push({ state, at });
  }

  left(peerId: string): void {
    const record = this.peers.get(peerId);
    if (record) record.left = true;
  }
}
