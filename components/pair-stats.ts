/** Reads the selected ICE candidate pair of a connection from getStats(). */
import type { PairStats } from './inspector-model.js';

type Report = Record<string, unknown> & { id: string; type: string };

export async function readPairStats(pc: RTCPeerConnection): Promise<PairStats | null> {
  const reports = new Map<string, Report>();
  (await pc.getStats()).forEach((report: Report) => reports.set(report.id, report));
  let pair: Report | undefined;
  for (const report of reports.values()) {
    if (report.type === 'transport' && typeof report['selectedCandidatePairId'] === 'string') {
      pair = reports.get(report['selectedCandidatePairId']);
    }
  }
  // Firefox marks the pair instead of naming it on the transport.
  pair ??= [...reports.values()].find(
    (r) => r.type === 'candidate-pair' && (r['selected'] === true || (r['nominated'] === true && r['state'] === 'succeeded')),
  );
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
