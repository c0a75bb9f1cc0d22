/**
 * The deployment guide's files are the tested ones: the systemd unit
 * (deploy/p2p-chat-server.service) passes `systemd-analyze verify`, and its ExecStart
 * flags, with only the paths and port changed, start the real CLI: wss with its own
 * certificate, TURN credentials in every welcome, only the allowed Origin admitted.
 * (deploy/turnserver.conf is the config the TURN tests and the NAT lab start coturn with.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { SERVER_BIN, selfSigned, startCliServer } from './test-client.js';

const UNIT = fileURLToPath(new URL('../../deploy/p2p-chat-server.service', import.meta.url));
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** The unit's ExecStart, continuation lines joined, split into the program and its arguments. */
function execStart(unit: string): string[] {
  const line = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit)?.[1];
  assert.ok(line, 'the unit has an ExecStart');
  return line.replace(/\\\n/g, ' ').trim().split(/\s+/);
}

test('the systemd unit passes systemd-analyze verify', (t) => {
  if (!has('systemd-analyze')) return t.skip('needs systemd-analyze (apt-get install systemd)');
  const dir = mkdtempSync(join(tmpdir(), 'p2p-unit-'));
  try {
    // The same unit, with the command where it is here instead of /usr/local/bin.
    const [program] = execStart(readFileSync(UNIT, 'utf8'));
    const unit = join(dir, 'p2p-chat-server.service');
    writeFileSync(unit, readFileSync(UNIT, 'utf8').replace(program!, SERVER_BIN));
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no warning');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the unit's ExecStart flags start a TLS server that mints TURN credentials and admits only the allowed Origin", async (t) => {
  if (!has('openssl')) return t.skip('needs openssl');
  const dir = mkdtempSync(join(tmpdir(), 'p2p-deploy-'));
  try {
    const { cert, key } = selfSigned(dir, 'chat');
    const secret = join(dir, 'turn-secret');
    writeFileSync(secret, execFileSync('openssl', ['rand', '-hex', '32']));
    const paths: Record<string, string> = {
      '/etc/p2p-chat/tls/fullchain.pem': cert,
      '/etc/p2p-chat/tls/privkey.pem': key,
      '/etc/p2p-chat/turn-secret': secret,
    };
    const args = execStart(readFileSync(UNIT, 'utf8'))
      .slice(1)
      .map((arg) => paths[arg] ?? arg);
    // Here: loopback and a free port instead of 0.0.0.0:443.
    args[args.indexOf('--host') + 1] = '127.0.0.1';
    args[args.indexOf('--port') + 1] = '0';
    const cli = await startCliServer(args);
    try {
      assert.match(cli.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
      const ca = readFileSync(cert);
      const welcome = await new Promise<{ type: string; iceServers?: { urls: string | string[]; username?: string }[] }>((resolve, reject) => {
        const socket = new WebSocket(cli.url, { ca, origin: 'https://chat.example.org' });
        socket.once('open', () => socket.send(JSON.stringify({ type: 'new-peer', room: 'lobby', name: 'Ann' })));
        socket.once('message', (data) => {
          socket.close();
          resolve(JSON.parse(String(data)));
        });
        socket.once('error', reject);
      });
      assert.equal(welcome.type, 'welcome');
      const turn = welcome.iceServers?.find((server) => String(server.urls).includes('turn:turn.example.org:3478'));
      assert.match(turn?.username ?? '', /^\d+:/, 'a minted TURN username <expiry>:<id>');
      // Another site's page may not use this server: it is told so by a close code.
      const refused = await new Promise<string>((resolve) => {
        const socket = new WebSocket(cli.url, { ca, origin: 'https://elsewhere.example' });
        socket.once('unexpected-response', (_request, response) => resolve(`HTTP ${response.statusCode}`));
        socket.once('close', (code, reason) => resolve(`${code} ${reason.toString()}`));
        socket.once('error', () => resolve('error'));
      });
      assert.equal(refused, '4403 origin-refused');
    } finally {
      cli.child.kill('SIGTERM');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
