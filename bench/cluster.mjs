// The cluster scenarios of `npm run bench` (BENCH_PART=cluster, or part of the whole run):
// one signaling process against three sharing rooms through a real redis-server, with the
// load generator in its own process (bench/load.mjs), interleaved round by round.
//  - relay: 50 pairs relaying offer/candidate-sized frames, 4 in flight, each pair's two
//    clients on different processes; CPU per relayed frame of all server processes (and,
//    apart, of Redis);
//  - idle: N clients on one process against 3N spread over three (10 to a room, so every
//    room spans the processes): RSS per client, and join latency p50/p99 while they join.
import { RedisProcess } from '../scripts/redis-process.mjs';
import { cpuSeconds, rssKb, runLoad, startServer } from './processes.mjs';

const RELAY_FLAGS = ['--rate', '100000', '--burst', '100000'];

/**
 * The servers of a run. A cluster's run starts from an empty Redis: the processes of the
 * run before were killed, and their peers stay listed until reaped after the grace
 * (10 s), which filled the next run's rooms (a run held 21,020 of 30,000).
 */
async function servers(count, redis, extra = []) {
  if (count > 1) {
    await redis.stop();
    await redis.start();
  }
  const redisUrl = count > 1 ? redis.url : null;
  const flags = redisUrl ? ['--redis', redisUrl, ...extra] : extra;
  return Promise.all(Array.from({ length: count }, () => startServer('p2p', flags)));
}

async function relayRun(count, redis, seconds) {
  const list = await servers(count, redis, RELAY_FLAGS);
  const cpu = () => list.reduce((sum, s) => sum + cpuSeconds(s.pid), 0);
  let start = 0;
  let redisStart = 0;
  let outcome;
  await runLoad(['relay', 'p2p', list.map((s) => s.url).join(','), '50', String(seconds), '4'], (event) => {
    if (event.event === 'window-start') {
      start = cpu();
      redisStart = count > 1 ? cpuSeconds(redis.pid) : 0;
    }
    if (event.event === 'window-end') outcome = { ...event, cpu: cpu() - start, redisCpu: count > 1 ? cpuSeconds(redis.pid) - redisStart : 0 };
  });
  await Promise.all(list.map((s) => s.stop()));
  return {
    messagesPerSecond: outcome.messages / outcome.seconds,
    cpuMicrosPerMessage: (outcome.cpu / outcome.messages) * 1e6,
    redisCpuMicrosPerMessage: (outcome.redisCpu / outcome.messages) * 1e6,
  };
}

/** Clients per load generator: a process holds at most `ulimit -n` sockets (20,000 here). */
const PER_GENERATOR = 10_000;

async function idleRun(count, redis, clients) {
  const list = await servers(count, redis);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = list.map((s) => rssKb(s.pid));
  const urls = list.map((s) => s.url).join(',');
  const generators = Math.ceil(clients / PER_GENERATOR);
  const ready = [];
  let release;
  const allReady = new Promise((resolve) => (release = resolve));
  // Every generator joins its clients at the same time; RSS is read once all are in.
  const runs = Array.from({ length: generators }, (_, g) =>
    runLoad(['idle', 'p2p', urls, String(Math.min(PER_GENERATOR, clients - g * PER_GENERATOR)), String(g * PER_GENERATOR)], (event, child) => {
      if (event.event !== 'ready') return;
      ready.push(event);
      if (ready.length === generators) release();
      void allReady.then(() => setTimeout(() => child.stdin.write('close\n'), 2500));
    }),
  );
  await allReady;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rssKbNow = list.map((s) => rssKb(s.pid));
  await Promise.all(runs);
  await Promise.all(list.map((s) => s.stop()));
  const held = ready.reduce((sum, r) => sum + r.held, 0);
  const grown = rssKbNow.reduce((sum, kb, k) => sum + kb - before[k], 0);
  const joinMs = ready.flatMap((r) => r.joinMs).sort((a, b) => a - b);
  const at = (q) => joinMs[Math.min(joinMs.length - 1, Math.floor(q * joinMs.length))] ?? null;
  return { held, bytesPerClient: (grown * 1024) / Math.max(1, held), joinP50Ms: at(0.5), joinP99Ms: at(0.99) };
}

/** Runs both scenarios; returns the results and lines to print. */
export async function clusterScenarios({ rounds, seconds, idleClients, median, round }) {
  const redis = new RedisProcess();
  await redis.start();
  const relay = { single: [], cluster: [] };
  const idle = { single: [], cluster: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 ? ['cluster', 'single'] : ['single', 'cluster']) relay[kind].push(await relayRun(kind === 'single' ? 1 : 3, redis, seconds));
      for (const kind of r % 2 ? ['cluster', 'single'] : ['single', 'cluster'])
        idle[kind].push(await idleRun(kind === 'single' ? 1 : 3, redis, kind === 'single' ? idleClients : 3 * idleClients));
    }
  } finally {
    await redis.stop();
  }
  const pick = (runs, key) => median(runs.map((x) => x[key]));
  const out = {};
  for (const kind of ['single', 'cluster']) {
    out[`relay_${kind}`] = {
      messagesPerSecond: pick(relay[kind], 'messagesPerSecond'),
      cpuMicrosPerMessage: pick(relay[kind], 'cpuMicrosPerMessage'),
      redisCpuMicrosPerMessage: pick(relay[kind], 'redisCpuMicrosPerMessage'),
      runs: relay[kind],
    };
    out[`idle_${kind}`] = {
      held: pick(idle[kind], 'held'),
      bytesPerClient: pick(idle[kind], 'bytesPerClient'),
      joinP50Ms: pick(idle[kind], 'joinP50Ms'),
      joinP99Ms: pick(idle[kind], 'joinP99Ms'),
      runs: idle[kind],
    };
  }
  const lines = [
    `cluster relay: single ${Math.round(out.relay_single.messagesPerSecond)} msg/s at ${round(out.relay_single.cpuMicrosPerMessage, 2)} µs CPU each; three processes + Redis ${Math.round(out.relay_cluster.messagesPerSecond)} msg/s at ${round(out.relay_cluster.cpuMicrosPerMessage, 2)} µs (servers) + ${round(out.relay_cluster.redisCpuMicrosPerMessage, 2)} µs (Redis)`,
    `cluster idle: single ${out.idle_single.held} held, ${round(out.idle_single.bytesPerClient / 1024, 2)} KiB each; three processes ${out.idle_cluster.held} held, ${round(out.idle_cluster.bytesPerClient / 1024, 2)} KiB each`,
    `cluster join latency p50/p99: single ${round(out.idle_single.joinP50Ms, 1)}/${round(out.idle_single.joinP99Ms, 1)} ms, cluster ${round(out.idle_cluster.joinP50Ms, 1)}/${round(out.idle_cluster.joinP99Ms, 1)} ms`,
  ];
  return { results: out, lines };
}

/** The table's rows: [measure, ours, baseline, baseline name, target, floor]. */
export function clusterRows(c) {
  return [
    [
      'cluster: server CPU per relayed frame, 3 processes + Redis (µs)',
      c.relay_cluster.cpuMicrosPerMessage,
      c.relay_single.cpuMicrosPerMessage,
      'one process',
      2,
      null,
    ],
    [
      'cluster: the same with Redis’s own CPU counted (µs)',
      c.relay_cluster.cpuMicrosPerMessage + c.relay_cluster.redisCpuMicrosPerMessage,
      c.relay_single.cpuMicrosPerMessage,
      'one process',
      null,
      null,
    ],
    ['cluster: relayed frames per second (higher is better)', c.relay_cluster.messagesPerSecond, c.relay_single.messagesPerSecond, 'one process', null, null],
    ['cluster: memory per idle client (KiB)', c.idle_cluster.bytesPerClient / 1024, c.idle_single.bytesPerClient / 1024, 'one process', 1.2, null],
    ['cluster: join latency p50 (ms)', c.idle_cluster.joinP50Ms, c.idle_single.joinP50Ms, 'one process', null, null],
    ['cluster: join latency p99 (ms)', c.idle_cluster.joinP99Ms, c.idle_single.joinP99Ms, 'one process', null, null],
  ];
}
