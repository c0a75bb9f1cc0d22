import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseCli } from './cli-options.js';
import { SERVER_BIN as BIN, TestClient, startCliServer } from './test-client.js';

test('parseCli: defaults are the reference design (port 8080, room cap 10)', () => {
  const command = parseCli([]);
  assert.equal(command.kind, 'run');
  if (command.kind !== 'run') return;
  assert.equal(command.options.port, 8080);
  assert.equal(command.options.host, 'localhost');
  assert.equal(command.options.maxRoomSize, 10);
  assert.deepEqual(command.options.iceServers, []);
});

test('parseCli: every flag, and ICE servers as a URL list or JSON', () => {
  const command = parseCli([
    '--port',
    '9000',
    '--host',
    '0.0.0.0',
    '--max-room-size',
    '4',
    '--heartbeat',
    '5000',
    '--ice-servers',
    'stun:127.0.0.1:3478, turn:127.0.0.1:3478',
    '--allowed-origins',
    'http://a,http://b',
    '--log-level',
    'warn',
    '--rate',
    '20',
    '--burst',
    '40',
    '--max-clients',
    '500',
    '--max-connections-per-ip',
    '5',
    '--max-name-length',
    '20',
    '--max-room-length',
    '16',
  ]);
  assert.equal(command.kind, 'run');
  if (command.kind !== 'run') return;
  assert.equal(command.options.port, 9000);
  assert.equal(command.options.host, '0.0.0.0');
  assert.equal(command.options.maxRoomSize, 4);
  assert.equal(command.options.heartbeatMs, 5000);
  assert.deepEqual(command.options.iceServers, [{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478' }]);
  assert.deepEqual(command.options.allowedOrigins, ['http://a', 'http://b']);
  assert.equal(command.logLevel, 'warn');
  assert.equal(command.options.messagesPerSecond, 20);
  assert.equal(command.options.messageBurst, 40);
  assert.equal(command.options.maxClients, 500);
  assert.equal(command.options.maxConnectionsPerIp, 5);
  assert.equal(command.options.maxNameLength, 20);
  assert.equal(command.options.maxRoomLength, 16);
  assert.equal(command.options.relay, true);
  const noRelay = parseCli(['--no-relay']);
  assert.ok(noRelay.kind === 'run' && noRelay.options.relay === false);
  const json = parseCli(['--ice-servers', '[{"urls":["turn:h:3478"],"username":"u","credential":"c"}]']);
  assert.ok(json.kind === 'run');
  assert.deepEqual(json.options.iceServers, [{ urls: ['turn:h:3478'], username: 'u', credential: 'c' }]);
  assert.equal(parseCli([], { PORT: '1234' }).kind === 'run' && (parseCli([], { PORT: '1234' }) as { options: { port: number } }).options.port, 1234);
});

test('parseCli: --redis (or P2P_REDIS_URL) with its grace and prefix', () => {
  const command = parseCli(['--redis', 'redis://:pw@127.0.0.1:6380/2', '--redis-grace', '4', '--redis-prefix', 'chat:']);
  assert.equal(command.kind, 'run');
  assert.deepEqual(command.kind === 'run' && command.options.redis, { url: 'redis://:pw@127.0.0.1:6380/2', graceMs: 4000, prefix: 'chat:' });
  const fromEnv = parseCli([], { P2P_REDIS_URL: 'rediss://cache.example:6380' });
  assert.deepEqual(fromEnv.kind === 'run' && fromEnv.options.redis, { url: 'rediss://cache.example:6380' });
  const single = parseCli([]);
  assert.equal(single.kind === 'run' && single.options.redis, undefined);
});

test('parseCli: --cluster-secret, its file or P2P_CLUSTER_SECRET, only with --redis', () => {
  const secret = '0123456789abcdef0123';
  const flag = parseCli(['--redis', 'redis://127.0.0.1:6380', '--cluster-secret', secret]);
  assert.deepEqual(flag.kind === 'run' && flag.options.redis, { url: 'redis://127.0.0.1:6380', clusterSecret: secret });
  const fromEnv = parseCli(['--redis', 'redis://127.0.0.1:6380'], { P2P_CLUSTER_SECRET: secret });
  assert.deepEqual(fromEnv.kind === 'run' && fromEnv.options.redis, { url: 'redis://127.0.0.1:6380', clusterSecret: secret });
  // The file is read by the CLI itself (parsing stays pure); it wins over the variable.
  const file = parseCli(['--redis', 'redis://127.0.0.1:6380', '--cluster-secret-file', '/etc/p2p-chat/cluster-secret'], { P2P_CLUSTER_SECRET: secret });
  assert.ok(file.kind === 'run');
  assert.deepEqual(file.options.redis, { url: 'redis://127.0.0.1:6380' });
  assert.equal(file.files.clusterSecretFile, '/etc/p2p-chat/cluster-secret');
  // The variable alone, without Redis, is ignored; a flag without Redis is a mistake.
  assert.equal(parseCli([], { P2P_CLUSTER_SECRET: secret }).kind, 'run');
  for (const args of [
    ['--cluster-secret', secret],
    ['--cluster-secret-file', '/x'],
    ['--redis', 'redis://h:6379', '--cluster-secret', 'short'],
    ['--redis', 'redis://h:6379', '--cluster-secret', ''],
    ['--redis', 'redis://h:6379', '--cluster-secret', secret, '--cluster-secret-file', '/x'],
  ]) {
    assert.equal(parseCli(args).kind, 'error', args.join(' '));
  }
});

test('parseCli: --metrics off, --metrics-token (file, P2P_METRICS_TOKEN) and --metrics-listen', () => {
  const options = (args: string[], env: Record<string, string> = {}) => {
    const command = parseCli(args, env);
    assert.equal(command.kind, 'run', args.join(' '));
    return command.kind === 'run' ? command : undefined;
  };
  assert.equal(options([])!.options.metrics, undefined, 'served to anyone by default, as before');
  assert.equal(options(['--metrics', 'on'])!.options.metrics, undefined);
  assert.equal(options(['--metrics', 'off'])!.options.metrics, false);
  assert.equal(options(['--metrics', 'off'], { P2P_METRICS_TOKEN: 't' })!.options.metrics, false);
  assert.deepEqual(options(['--metrics-token', 'abc'])!.options.metrics, { token: 'abc' });
  assert.deepEqual(options([], { P2P_METRICS_TOKEN: 'abc' })!.options.metrics, { token: 'abc' });
  const file = options(['--metrics-token-file', '/etc/p2p-chat/metrics-token'])!;
  assert.deepEqual(file.options.metrics, {});
  assert.equal(file.files.metricsTokenFile, '/etc/p2p-chat/metrics-token');
  assert.deepEqual(options(['--metrics-listen', '127.0.0.1:9090'])!.options.metrics, { listen: { port: 9090, host: '127.0.0.1' } });
  assert.deepEqual(options(['--metrics-listen', '[::1]:9090'])!.options.metrics, { listen: { port: 9090, host: '::1' } });
  assert.deepEqual(options(['--metrics-listen', '9090'])!.options.metrics, { listen: { port: 9090 } });
  for (const args of [
    ['--metrics', 'maybe'],
    ['--metrics', 'off', '--metrics-token', 'abc'],
    ['--metrics', 'off', '--metrics-listen', '9090'],
    ['--metrics-token', 'a b'],
    ['--metrics-token', ''],
    ['--metrics-listen', 'host:port'],
    ['--metrics-listen', '127.0.0.1:70000'],
  ]) {
    assert.equal(parseCli(args).kind, 'error', args.join(' '));
  }
});

test('parseCli: bad flags are clear errors, --help is help', () => {
  assert.deepEqual(parseCli(['--help']), { kind: 'help' });
  assert.deepEqual(parseCli(['-h']), { kind: 'help' });
  for (const args of [
    ['--port', 'x'],
    ['--port', '70000'],
    ['--max-room-size', '1'],
    ['--ice-servers', 'http://x'],
    ['--ice-servers', '[{'],
    ['--log-level', 'loud'],
    ['--nope'],
    ['--rate', '0'],
    ['--max-name-length', '41'],
    ['--redis', 'localhost:6379'],
    ['--redis', 'http://localhost:6379'],
    ['--redis-grace', '5'],
    ['--redis', 'redis://h:6379', '--redis-grace', '0'],
    ['--redis', 'redis://h:6379', '--redis-prefix', 'a b'],
  ]) {
    const command = parseCli(args);
    assert.equal(command.kind, 'error', args.join(' '));
    assert.ok(command.kind === 'error' && command.message.length > 0);
  }
});

test('the real CLI: --help, a bad flag exits 2, and a server that serves and stops cleanly on SIGTERM', async () => {
  const help = spawn(process.execPath, [BIN, '--help']);
  let helpText = '';
  help.stdout.on('data', (chunk) => (helpText += chunk));
  assert.equal((await once(help, 'exit'))[0], 0);
  assert.match(helpText, /--max-room-size/);

  const bad = spawn(process.execPath, [BIN, '--port', 'nope']);
  assert.equal((await once(bad, 'exit'))[0], 2);

  const server = await startCliServer(['--port', '0', '--host', '127.0.0.1', '--log-level', 'debug', '--ice-servers', 'stun:127.0.0.1:3478']);
  const { child, url } = server;
  const a = await TestClient.join(url, 'cli', 'a');
  assert.deepEqual(a.welcome.iceServers, [{ urls: 'stun:127.0.0.1:3478' }]);
  const b = await TestClient.join(url, 'cli', 'b');
  const secretSdp = 'v=0\r\na=ice-pwd:do-not-log-this-sdp\r\n';
  a.client.send({ type: 'offer', to: b.welcome.id, sdp: secretSdp });
  await b.client.next('offer');
  a.client.send({ type: 'offer', to: 'nobody', sdp: secretSdp });
  await a.client.next('error');
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.equal((await a.client.waitClosed()).code, 1001);
  // Structured logs: JSON lines with the join, and no SDP anywhere.
  const stderr = server.stderr();
  const lines = stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string });
  assert.ok(lines.some((line) => line.event === 'join'));
  assert.ok(lines.some((line) => line.event === 'shutdown'));
  assert.ok(lines.some((line) => line.event === 'error' && (line as { code?: string }).code === 'unknown-peer'));
  assert.ok(!stderr.includes('do-not-log-this-sdp'), 'SDP never reaches the logs');
});
