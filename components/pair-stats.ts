/** Reads the selected ICE candidate pair of a connection from getStats(). */
import type { PairStats } from './inspector-model.js';
import { selectedPair, type StatsReport } from '../client/connection-path.js';

/** The selected pair in a connection's stats (read once by the caller: `statsById`). */
export function readPairStats(reports: ReadonlyMap<string, StatsReport>): PairStats | null {
  const pair = selectedPair(reports);
  if (!pair) return null;
  const side = (id: unknown) => {
    const candidate = typeof id === 'string' ? reports.get(id) : undefined;
    return {
      address: String(candidate?.['address'] || candidate?.['ip'] || '—'),
      port: (candidate?.['port'] as number | undefined) ?? '?',
      type: String(candidate?.['candidateType'] ?? '?'),
      protocol: String(candidate?.['protocol'] ?? '?'),
    };
  };
  const rtt = pair['currentRoundTripTime'];
  return {
    local: side(pair['localCandidateId']),
    remote: side(pair['remoteCandidateId']),
    rttMs: typeof rtt === 'number' ? rtt * 1000 : null,
    bytesSent: Number(pair['bytesSent'] ?? 0),
    bytesReceived: Number(pair['bytesReceived'] ?? 0),
  };
}
