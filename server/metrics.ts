/**
 * `/metrics`: the server's counters and gauges in the Prometheus text format (version
 * 0.0.4), for operators. Counters only grow for the life of the process.
 */

export interface MetricsSnapshot {
  readonly joins: number;
  readonly leaves: number;
  readonly relayedFrames: number;
  readonly refusedFrames: ReadonlyMap<string, number>;
  readonly clients: number;
  readonly rooms: number;
  /** null: not part of a cluster; otherwise whether Redis is reachable. */
  readonly redisUp: boolean | null;
  /** In a cluster: frames from Redis dropped, by reason (every reason is listed, 0 or not). */
  readonly clusterRejectedFrames?: ReadonlyMap<string, number>;
}

/** The reasons a frame from Redis is dropped (cluster-link.ts), listed even at 0 so an alert sees the first one. */
const CLUSTER_REJECT_REASONS = ['forged', 'malformed', 'no-secret', 'replayed', 'unsealed'];

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function metric(lines: string[], name: string, type: 'counter' | 'gauge', help: string, samples: readonly (readonly [string, number])[]): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
}

export function renderMetrics(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  metric(lines, 'p2p_chat_joins_total', 'counter', 'Joins welcomed by this process.', [['', snapshot.joins]]);
  metric(lines, 'p2p_chat_leaves_total', 'counter', 'Peers of this process that left their room.', [['', snapshot.leaves]]);
  metric(lines, 'p2p_chat_relayed_frames_total', 'counter', 'Frames relayed from one peer to another (offers, answers, candidates, relayed chat).', [
    ['', snapshot.relayedFrames],
  ]);
  // Codes are the protocol's own (a fixed list of [a-z-]), safe as label values.
  const refused = [...snapshot.refusedFrames].sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => [`{code="${code}"}`, n] as const);
  metric(lines, 'p2p_chat_refused_frames_total', 'counter', 'Frames answered with an error, by error code.', refused);
  metric(lines, 'p2p_chat_clients', 'gauge', 'WebSocket connections open on this process.', [['', snapshot.clients]]);
  metric(lines, 'p2p_chat_rooms', 'gauge', 'Rooms with at least one peer on this process.', [['', snapshot.rooms]]);
  if (snapshot.redisUp !== null) metric(lines, 'p2p_chat_redis_up', 'gauge', '1 while this process reaches Redis.', [['', snapshot.redisUp ? 1 : 0]]);
  const rejected = snapshot.clusterRejectedFrames;
  if (rejected) {
    metric(
      lines,
      'p2p_chat_cluster_rejected_frames_total',
      'counter',
      "Frames from other processes (through Redis) dropped: not sealed with this service's --cluster-secret, forged, replayed or malformed.",
      CLUSTER_REJECT_REASONS.map((reason) => [`{reason="${reason}"}`, rejected.get(reason) ?? 0] as const),
    );
  }
  return `${lines.join('\n')}\n`;
}
