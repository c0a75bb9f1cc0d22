/**
 * How a direct connection really runs, read from the selected ICE candidate pair in
 * getStats(): between host addresses (`host`: same machine or LAN), through a NAT
 * (`nat`: a server-reflexive or peer-reflexive candidate on either side, found with
 * STUN), or through a TURN server (`turn`: a relay candidate on either side; still
 * encrypted end to end, the TURN server forwards packets it cannot read).
 */
export type ConnectionPath = 'host' | 'nat' | 'turn';

export type StatsReport = Record<string, unknown> & { id: string; type: string };

/** All of a connection's stats, by id. */
export async function statsById(pc: RTCPeerConnection): Promise<Map<string, StatsReport>> {
  const reports = new Map<string, StatsReport>();
  (await pc.getStats()).forEach((report: StatsReport) => reports.set(report.id, report));
  return reports;
}

/** The candidate pair in use: named by the transport (Chromium), or marked selected (Firefox). */
export function selectedPair(reports: ReadonlyMap<string, StatsReport>): StatsReport | undefined {
  for (const report of reports.values()) {
    if (report.type === 'transport' && typeof report['selectedCandidatePairId'] === 'string') {
      const pair = reports.get(report['selectedCandidatePairId']);
      if (pair) return pair;
    }
  }
  return [...reports.values()].find((r) => r.type === 'candidate-pair' && (r['selected'] === true || (r['nominated'] === true && r['state'] === 'succeeded')));
}

export function pathOf(localType: unknown, remoteType: unknown): ConnectionPath {
  const types = [localType, remoteType];
  if (types.includes('relay')) return 'turn';
  if (types.includes('srflx') || types.includes('prflx')) return 'nat';
  return 'host';
}

/**
 * The connection's ICE transport, only where RTCIceTransport is a global (browsers):
 * @roamhq/wrtc (the terminal peer) hands out transport objects that fail when asked and
 * whose listeners crash the process on exit (SIGSEGV, seen here).
 */
export function browserIceTransport(pc: RTCPeerConnection): RTCIceTransport | null {
  if (typeof (globalThis as { RTCIceTransport?: unknown }).RTCIceTransport !== 'function') return null;
  try {
    return pc.sctp?.transport?.iceTransport ?? null;
  } catch {
    return null;
  }
}

/**
 * The selected pair as the ICE transport gives it (Chromium), without gathering stats;
 * null where it does not, or where it cannot tell: a peer-reflexive remote candidate stays
 * peer-reflexive there, with its address redacted, even once the peer's signalled host
 * candidate shows it is that one (measured in Chromium; its stats say `host` by then).
 */
function transportPair(pc: RTCPeerConnection): { local: RTCIceCandidate; remote: RTCIceCandidate } | null {
  try {
    const ice = browserIceTransport(pc) as (RTCIceTransport & { getSelectedCandidatePair?: () => RTCIceCandidatePair | null }) | null;
    const pair = ice?.getSelectedCandidatePair?.();
    if (!pair?.local?.type || !pair.remote?.type || pair.remote.type === 'prflx') return null;
    return { local: pair.local, remote: pair.remote };
  } catch {
    return null;
  }
}

/**
 * The path of a connection now, or null while no pair is selected. `remoteHosts`: the
 * addresses of the host candidates the peer signalled. A peer-reflexive candidate is what
 * a browser calls an address it heard a check from before that peer's candidate arrived:
 * at one of those host addresses it is no NAT (Firefox reports this between two pages of
 * one machine). Read from the ICE transport where it names its pair (no stats gathered:
 * each getStats() cost a page of a forming mesh ~1 ms of main thread, profile in
 * bench/README), else from the stats.
 */
export async function readConnectionPath(
  pc: RTCPeerConnection,
  remoteHosts: ReadonlySet<string> = new Set(),
  ownAddresses: ReadonlySet<string> = new Set(),
): Promise<ConnectionPath | null> {
  const direct = transportPair(pc);
  if (direct) return pathWithHosts(direct.local.type, direct.remote.type, direct.remote.address, remoteHosts, withLocal(ownAddresses, direct.local.address));
  const reports = await statsById(pc);
  const pair = selectedPair(reports);
  if (!pair) return null;
  const candidate = (id: unknown) => (typeof id === 'string' ? reports.get(id) : undefined);
  const local = candidate(pair['localCandidateId']);
  const remote = candidate(pair['remoteCandidateId']);
  return pathWithHosts(
    local?.['candidateType'],
    remote?.['candidateType'],
    remote?.['address'] ?? remote?.['ip'],
    remoteHosts,
    withLocal(ownAddresses, local?.['address'] ?? local?.['ip']),
  );
}

/**
 * Our addresses with the selected pair's own local one: a browser signals its host
 * candidates as mDNS names, so only the stats know the address a peer on this machine
 * shows up at (a peer-reflexive candidate there is the same machine, not a NAT).
 */
function withLocal(ownAddresses: ReadonlySet<string>, local: unknown): ReadonlySet<string> {
  return typeof local === 'string' && local !== '' && !ownAddresses.has(local) ? new Set([...ownAddresses, local]) : ownAddresses;
}

/**
 * A reflexive remote candidate at one of the peer's own host addresses, at one of ours
 * (the same machine: a browser hides its host addresses behind mDNS names, so a terminal
 * peer beside it first hears its checks as peer-reflexive), or at our own public address
 * (both behind the same NAT: the same local network) is no NAT between the two.
 */
export function pathWithHosts(
  localType: unknown,
  remoteType: unknown,
  remoteAddress: unknown,
  remoteHosts: ReadonlySet<string>,
  ownAddresses: ReadonlySet<string> = new Set(),
): ConnectionPath {
  const reflexive = remoteType === 'prflx' || remoteType === 'srflx';
  const near = typeof remoteAddress === 'string' && (remoteHosts.has(remoteAddress) || ownAddresses.has(remoteAddress));
  return pathOf(localType === 'srflx' && reflexive && near ? 'host' : localType, reflexive && near ? 'host' : remoteType);
}

/** The address of a candidate of ours that the peer's may show up at: host or server-reflexive (`candidate:… <address> <port> typ srflx …`). */
export function ownAddressOf(candidate: string): string | null {
  const fields = candidate.split(' ');
  return fields[6] === 'typ' && (fields[7] === 'host' || fields[7] === 'srflx') && fields[4] ? fields[4] : null;
}

/** The address of a signalled candidate if it is a host candidate (`candidate:… <address> <port> typ host …`). */
export function hostAddressOf(candidate: string): string | null {
  const fields = candidate.split(' ');
  return fields[6] === 'typ' && fields[7] === 'host' && fields[4] ? fields[4] : null;
}
