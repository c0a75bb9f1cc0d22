/**
 * Time-limited TURN credentials (the scheme coturn checks) and TLS on the server itself.
 * The HMAC is checked against openssl's, not against our own code; coturn itself checks
 * the credentials in test/node/turn.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { WebSocket } from 'ws';
import { mintTurnCredential, parseTurnUrls, turnIceServer } from './turn-credentials.js';
import { parseCli } from './cli-options.js';
import { createSignalingServer } from './signaling-server.js';
import { TestClient, selfSigned, withServer, startCliServer } from './test-client.js';

const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;

test('a minted credential is <expiry>:<id> and base64(HMAC-SHA1(secret, username)), as openssl computes it', (t) => {
  if (!hasOpenssl) return t.skip('needs openssl');
  const { username, credential } = mintTurnCredential('s3cret', 'peerid123', 1_800_000_000);
  assert.equal(username, '1800000000:peerid123');
  const expected = execFileSync('sh', ['-c', `printf %s '${username}' | openssl dgst -sha1 -hmac 's3cret' -binary | base64`])
    .toString()
    .trim();
  assert.equal(credential, expected);
  const server = turnIceServer({ secret: 's3cret', urls: ['turn:198.18.0.9:3478?transport=udp'], ttlSeconds: 3600 }, 'abc', 1_000_000_000_000);
  assert.deepEqual(server.urls, ['turn:198.18.0.9:3478?transport=udp']);
  assert.equal(server.username, `${1_000_000_000 + 3600}:abc`);
});

test('--turn-urls, --turn-secret, --turn-ttl, --tls-*: good values and clear errors', () => {
  assert.deepEqual(parseTurnUrls('turn:turn.example.org:3478?transport=udp, turns:turn.example.org:443?transport=tcp,turn:[2001:2::1]'), [
    'turn:turn.example.org:3478?transport=udp',
    'turns:turn.example.org:443?transport=tcp',
    'turn:[2001:2::1]',
  ]);
  const run = parseCli(['--turn-urls', 'turn:198.18.0.9:3478', '--turn-ttl', '600'], { P2P_TURN_SECRET: 'from-env' });
  assert.equal(run.kind, 'run');
  if (run.kind === 'run') assert.deepEqual(run.options.turn, { urls: ['turn:198.18.0.9:3478'], secret: 'from-env', ttlSeconds: 600 });
  const error = (argv: string[], env = {}) => {
    const result = parseCli(argv, env);
    return result.kind === 'error' ? result.message : `not an error: ${result.kind}`;
  };
  assert.match(error(['--turn-urls', 'http://x']), /turn-urls: "http:\/\/x" is not a TURN URL/);
  assert.match(error(['--turn-urls', 'turn:198.18.0.9']), /needs the secret/);
  assert.match(error(['--turn-secret', 'x']), /needs --turn-urls/);
  assert.match(error(['--turn-urls', 'turn:198.18.0.9', '--turn-secret', 'x', '--turn-ttl', '5']), /--turn-ttl must be between 10/);
  assert.match(error(['--tls-cert', 'a.pem']), /--tls-cert and --tls-key go together/);
});

test('each joiner gets its own TURN credentials in welcome, renewed before they expire; the secret is never sent', async () => {
  const turn = { secret: 'never-on-the-wire', urls: ['turn:198.18.0.9:3478?transport=udp'], ttlSeconds: 2 };
  await withServer({ turn, iceServers: [{ urls: 'stun:198.18.0.9:3478' }] }, async (url) => {
    const started = Math.floor(Date.now() / 1000);
    const a = await TestClient.join(url, 'turn', 'a');
    const [stun, minted] = a.welcome.iceServers;
    assert.deepEqual(stun, { urls: 'stun:198.18.0.9:3478' });
    const [expiry, id] = String(minted?.username).split(':');
    assert.equal(id, a.welcome.id);
    assert.ok(Number(expiry) >= started + 2 && Number(expiry) <= started + 3, `expiry ${expiry}`);
    assert.equal(minted?.credential, mintTurnCredential(turn.secret, a.welcome.id, Number(expiry)).credential);
    // Half the lifetime later: fresh ones.
    const renewed = await a.client.next('ice-servers', 3000);
    const fresh = renewed.iceServers[1]!;
    assert.ok(Number(String(fresh.username).split(':')[0]) >= Number(expiry), 'a later expiry');
    assert.doesNotMatch(JSON.stringify([a.welcome, renewed]), /never-on-the-wire/);
    a.client.close();
  });
});

function peerCertificateOf(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { ca });
    socket.once('open', () => {
      const raw = (socket as unknown as { _socket: { getPeerCertificate(): { subject: { CN: string } } } })._socket.getPeerCertificate();
      socket.close();
      resolve(raw.subject.CN);
    });
    socket.once('error', reject);
  });
}

test('TLS on the server itself: wss on the port, and SIGHUP takes a renewed certificate', async (t) => {
  if (!hasOpenssl) return t.skip('needs openssl');
  const dir = mkdtempSync(join(tmpdir(), 'p2p-tls-'));
  try {
    const first = selfSigned(dir, 'first');
    const second = selfSigned(dir, 'second');
    // In-process: the API.
    const server = await createSignalingServer({ port: 0, host: '127.0.0.1', tls: { cert: readFileSync(first.cert), key: readFileSync(first.key) } });
    try {
      assert.match(server.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await peerCertificateOf(server.url, readFileSync(first.cert)), 'first');
      server.reloadTls({ cert: readFileSync(second.cert), key: readFileSync(second.key) });
      assert.equal(await peerCertificateOf(server.url, readFileSync(second.cert)), 'second');
    } finally {
      await server.close();
    }
    // The CLI: files named by flags, SIGHUP re-reads them.
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    writeFileSync(live.cert, readFileSync(first.cert));
    writeFileSync(live.key, readFileSync(first.key));
    const cli = await startCliServer(['--port', '0', '--host', '127.0.0.1', '--tls-cert', live.cert, '--tls-key', live.key, '--log-level', 'info']);
    try {
      assert.match(cli.url, /^wss:/);
      assert.equal(await peerCertificateOf(cli.url, readFileSync(first.cert)), 'first');
      writeFileSync(live.cert, readFileSync(second.cert));
      writeFileSync(live.key, readFileSync(second.key));
      cli.child.kill('SIGHUP');
      for (let i = 0; i < 100 && !cli.stderr().includes('tls-reloaded'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await peerCertificateOf(cli.url, readFileSync(second.cert)), 'second');
      assert.ok(new X509Certificate(readFileSync(second.cert)).subject.includes('second'));
    } finally {
      cli.child.kill('SIGTERM');
    }
    // A missing file is named with its flag.
    const missing = spawnSync(
      process.execPath,
      [new URL('../../bin/p2p-chat-server.js', import.meta.url).pathname, '--tls-cert', join(dir, 'nope.crt'), '--tls-key', live.key],
      { encoding: 'utf8' },
    );
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--tls-cert: cannot read ".*nope\.crt": ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
