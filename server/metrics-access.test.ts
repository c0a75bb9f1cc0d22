/**
 * Who may read `/metrics`: anyone by default (as always), nobody (`metrics: false`), only
 * with a bearer token, or only on a listener of its own. Real HTTP requests to real
 * servers on 127.0.0.1, and the real CLI with its flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSignalingServer, type SignalingServerOptions } from './signaling-server.js';
import { startCliServer, TEST_SERVER_ARGS } from './test-client.js';

const TOKEN = 'scrape-me-3f9a1c';

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

async function withServer(options: SignalingServerOptions, body: (server: Awaited<ReturnType<typeof createSignalingServer>>) => Promise<void>) {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', ...options });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

const http = (url: string) => url.replace(/^ws/, 'http');

test('by default /metrics answers anyone on the signaling port, as before', async () => {
  await withServer({}, async (server) => {
    assert.equal(server.metricsUrl, `${http(server.url)}/metrics`);
    const { status, body } = await get(server.metricsUrl);
    assert.equal(status, 200);
    assert.match(body, /^p2p_chat_clients 0$/m);
  });
});

test('metrics: false answers 404; /healthz stays', async () => {
  await withServer({ metrics: false }, async (server) => {
    assert.equal(server.metricsUrl, '');
    const { status, body } = await get(`${http(server.url)}/metrics`);
    assert.equal(status, 404);
    assert.doesNotMatch(body, /p2p_chat/);
    assert.equal((await get(`${http(server.url)}/healthz`)).status, 200);
  });
});

test('a metrics token: 401 without it or with another, 200 with it', async () => {
  await withServer({ metrics: { token: TOKEN } }, async (server) => {
    const url = server.metricsUrl;
    const none = await get(url);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="metrics"');
    assert.doesNotMatch(none.body, /p2p_chat/);
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, 'Bearer ', TOKEN]) {
      assert.equal((await get(url, { authorization })).status, 401, authorization);
    }
    const ok = await get(url, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^p2p_chat_joins_total 0$/m);
    assert.equal((await get(url, { authorization: `bearer ${TOKEN}` })).status, 200, 'the scheme is case-insensitive');
  });
  await assert.rejects(createSignalingServer({ port: 0, host: '127.0.0.1', metrics: { token: 'has space' } }), /printable ASCII/);
});

test('a metrics listener of its own: /metrics there (with the token if one is set), 404 on the signaling port', async () => {
  await withServer({ metrics: { listen: { port: 0 } } }, async (server) => {
    assert.match(server.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.notEqual(new URL(server.metricsUrl).port, String(server.port));
    assert.equal((await get(server.metricsUrl)).status, 200);
    assert.equal((await get(`${http(server.url)}/metrics`)).status, 404);
    assert.equal((await get(server.metricsUrl.replace('/metrics', '/healthz'))).status, 404, 'only /metrics there');
  });
  await withServer({ metrics: { listen: { port: 0, host: '127.0.0.1' }, token: TOKEN } }, async (server) => {
    assert.equal((await get(server.metricsUrl)).status, 401);
    assert.equal((await get(server.metricsUrl, { authorization: `Bearer ${TOKEN}` })).status, 200);
  });
});

test('the CLI: --metrics off, --metrics-token-file and --metrics-listen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-metrics-'));
  const servers = [];
  try {
    const off = await startCliServer([...TEST_SERVER_ARGS, '--metrics', 'off']);
    servers.push(off);
    assert.equal((await get(`${http(off.url)}/metrics`)).status, 404);

    const tokenFile = join(dir, 'metrics-token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const guarded = await startCliServer([...TEST_SERVER_ARGS, '--log-level', 'info', '--metrics-token-file', tokenFile, '--metrics-listen', '127.0.0.1:0']);
    servers.push(guarded);
    // Where /metrics is comes in the "listening" log entry (never the token).
    const listening = guarded
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string; metrics?: string; metricsToken?: boolean })
      .find((entry) => entry.event === 'listening');
    const metricsUrl = listening?.metrics ?? '';
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal(listening?.metricsToken, true);
    assert.ok(!guarded.stderr().includes(TOKEN), 'the token is never logged');
    assert.equal((await get(metricsUrl)).status, 401);
    assert.equal((await get(metricsUrl, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await get(`${http(guarded.url)}/metrics`)).status, 404);
  } finally {
    for (const server of servers) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
