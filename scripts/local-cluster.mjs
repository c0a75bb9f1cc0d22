// A signaling service on this machine: a redis-server and several signaling processes
// sharing rooms through it (`--redis`), for the tests and the bench. Each process can be
// killed (SIGKILL) or stopped, as a crash or an operator would.
import { RedisProcess } from './redis-process.mjs';
import { SignalingProcess } from './signaling-process.mjs';

// Sealed, as a service should run (README, "Running more than one server"); a flag is fine
// for a test's own processes, a service keeps it in --cluster-secret-file.
export const CLUSTER_SECRET = 'local-cluster-secret-0123456789abcdef';
export const CLUSTER_ARGS = [
  '--heartbeat',
  '2000',
  '--log-level',
  'warn',
  '--join-rate',
  '1000/1000',
  '--room-join-rate',
  '1000/1000',
  '--cluster-secret',
  CLUSTER_SECRET,
];

export class LocalCluster {
  redis = new RedisProcess();
  /** @type {SignalingProcess[]} */
  processes = [];

  /** Starts Redis and `count` processes; `extra`: more flags for each (e.g. --redis-grace). */
  async start(count = 3, extra = []) {
    await this.redis.start();
    this.processes = Array.from({ length: count }, () => new SignalingProcess([...CLUSTER_ARGS, '--redis', this.redis.url, ...extra]));
    await Promise.all(this.processes.map((p) => p.start()));
    return this.urls;
  }

  get urls() {
    return this.processes.map((p) => p.url);
  }

  kill(index) {
    this.processes[index]?.kill();
  }

  async stop() {
    for (const p of this.processes) p.kill();
    this.processes = [];
    await this.redis.stop();
  }
}
