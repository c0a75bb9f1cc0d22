/**
 * The NAT lab: two homes behind NAT routers (nftables) and a public segment with the
 * signaling server and a real coturn (random secret, REST credentials minted by our
 * server), all inside a private network namespace of the test's own
 * (scripts/nat-lab.sh). A Node peer (@roamhq/wrtc, the same Mesh as the browser) runs in
 * each home. Each profile checks the way the pair connects, from the selected candidate
 * pair both sides report, and that chat flows both ways:
 * - cone NAT on both routers: direct through the NATs (srflx, learned with STUN);
 * - symmetric NAT on both: through TURN (UDP);
 * - UDP blocked at one router (an office firewall): through TURN over TCP;
 * - symmetric NAT and no TURN server: the signaling server's relay, labelled as such.
 * Needs root, unshare, ip, nft and turnserver (coturn); skipped elsewhere, saying why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSignalingServer } from '../../server/index.js';
import { runInPrivateNetns, startCoturn } from './harness.js';

type Profile = 'cone' | 'symmetric' | 'udp-blocked' | 'turn-down';
const PROFILES: readonly Profile[] = ['cone', 'symmetric', 'udp-blocked', 'turn-down'];
const inside = process.env['P2P_NAT_LAB'] as Profile | undefined;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const PUBLIC_IP = '198.19.0.1';

const EXPECTED_PATH: Record<Profile, string> = { cone: 'nat', symmetric: 'turn', 'udp-blocked': 'turn', 'turn-down': 'server' };
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Serves the drop-in build and its test page from the public segment. */
function servePages(): Promise<HttpServer> {
  const files: Record<string, string> = {
    '/test/fixtures/drop-in.html': 'text/html',
    '/test/fixtures/chat-from-params.js': 'text/javascript',
    '/dist/p2p-chat.js': 'text/javascript',
  };
  const http = createHttpServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const type = files[path];
    if (!type) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': type }).end(readFileSync(`${root}${path.slice(1)}`));
  });
  return new Promise((resolve) => http.listen(0, PUBLIC_IP, () => resolve(http)));
}

/**
 * Two Chromiums, one per home: Playwright drives each over a pipe, through a wrapper that
 * starts it inside its home's namespace (`ip netns exec`).
 */
async function browserPair(signalingUrl: string, room: string): Promise<[BrowserReport, BrowserReport]> {
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = (await import(`${root}scripts/browsers.mjs`)) as { CHROMIUM_ARGS: string[] };
  const pages = await servePages();
  const browsers: { close(): Promise<void> }[] = [];
  try {
    const origin = `http://${PUBLIC_IP}:${(pages.address() as AddressInfo).port}`;
    const open = async (home: string, name: string) => {
      const wrapper = join(tmpdir(), `nat-lab-${home}-${process.pid}.sh`);
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${home} ${SYSTEM_CHROMIUM} "$@"\n`, { mode: 0o755 });
      const browser = await chromium.launch({ executablePath: wrapper, args: CHROMIUM_ARGS });
      browsers.push(browser);
      const page = await browser.newPage();
      await page.goto(`${origin}/test/fixtures/drop-in.html?server=${encodeURIComponent(signalingUrl)}&room=${room}&name=${name}`);
      return page;
    };
    const [a, b] = await Promise.all([open('hA', 'A'), open('hB', 'B')]);
    const connected = "window.p2pTest.chat.peers.some((p) => p.state === 'connected')";
    await Promise.all([a, b].map((page) => page.waitForFunction(connected, undefined, { timeout: 60_000 })));
    await a.evaluate("window.p2pTest.chat.send('hello from A')");
    await b.evaluate("window.p2pTest.chat.send('hello from B')");
    const report = async (page: typeof a): Promise<BrowserReport> => {
      await page.waitForFunction('window.p2pTest.received.length >= 1', undefined, { timeout: 20_000 });
      await page.waitForFunction(
        '(() => { const c = window.p2pTest.chat; const p = c.peers.find((x) => x.state === "connected"); return p && c.mesh.pathTo(p.id); })()',
        undefined,
        { timeout: 15_000 },
      );
      return (await page.evaluate(
        '(() => { const c = window.p2pTest.chat; const p = c.peers.find((x) => x.state === "connected"); return { path: c.mesh.pathTo(p.id), received: window.p2pTest.received.map((m) => m.text) }; })()',
      )) as BrowserReport;
    };
    return [await report(a), await report(b)];
  } finally {
    for (const browser of browsers) await browser.close().catch(() => {});
    await new Promise((resolve) => pages.close(resolve));
  }
}

interface BrowserReport {
  path: string | null;
  received: string[];
}

interface PeerReport {
  ok: boolean;
  error?: string;
  transport?: string;
  path?: string | null;
  pair?: { local?: string; remote?: string; relayProtocol?: string | null; protocol?: string } | null;
  received: string[];
}

if (!inside) {
  for (const profile of PROFILES) {
    test(`NAT lab, ${profile}`, (t) => {
      const run = runInPrivateNetns(fileURLToPath(import.meta.url), {
        needs: ['nft', 'turnserver'],
        natLab: profile === 'turn-down' ? 'symmetric' : profile,
        env: { P2P_NAT_LAB: profile },
        timeoutMs: 180_000,
      });
      if ('skipped' in run) return t.skip(`${run.skipped} (apt-get install coturn nftables; CI does)`);
      console.log(run.output.trim());
      assert.equal(run.status, 0, `the ${profile} profile failed (output above)`);
      assert.match(run.output, /^# pass 1$/m, 'the profile ran and passed');
    });
  }
} else {
  test(`profile ${inside}`, { timeout: 150_000 }, async () => {
    const secret = randomBytes(16).toString('hex');
    const children: ChildProcess[] = [];
    let server: Awaited<ReturnType<typeof createSignalingServer>> | null = null;
    try {
      if (inside !== 'turn-down') children.push((await startCoturn(PUBLIC_IP, 3478, secret)).process);
      server = await createSignalingServer({
        port: 0,
        host: PUBLIC_IP,
        iceServers: [{ urls: `stun:${PUBLIC_IP}:3478` }],
        turn: { secret, urls: [`turn:${PUBLIC_IP}:3478?transport=udp`, `turn:${PUBLIC_IP}:3478?transport=tcp`], ttlSeconds: 600 },
      });
      const url = server.url;
      const room = `nat-${inside}`;
      const peerScript = fileURLToPath(new URL('./nat-peer.js', import.meta.url));
      const run = (home: string, name: string, expect: string) =>
        new Promise<PeerReport>((resolve, reject) => {
          const child = spawn('ip', ['netns', 'exec', home, process.execPath, peerScript], {
            env: { ...process.env, P2P_NAT_PEER: JSON.stringify({ server: url, room, name, expect }) },
          });
          children.push(child);
          let out = '';
          child.stdout.on('data', (chunk) => (out += chunk));
          child.stderr.on('data', (chunk) => (out += chunk));
          child.once('exit', () => {
            const line = /NAT-PEER (.*)/.exec(out)?.[1];
            if (line) resolve(JSON.parse(line) as PeerReport);
            else reject(new Error(`${name} printed no report: ${out}`));
          });
        });
      const [a, b] = await Promise.all([run('hA', 'A', 'hello from B'), run('hB', 'B', 'hello from A')]);
      console.log(`${inside}: A ${JSON.stringify(a)}\n${inside}: B ${JSON.stringify(b)}`);
      assert.ok(a.ok && b.ok, `both peers chatted: ${a.error ?? ''} ${b.error ?? ''}`);
      assert.deepEqual(a.received, ['hello from B']);
      assert.deepEqual(b.received, ['hello from A']);
      switch (inside) {
        case 'cone':
          // Each side sees the other at its router's public address, learned with STUN.
          assert.deepEqual([a.transport, a.path, b.transport, b.path], ['direct', 'nat', 'direct', 'nat']);
          assert.ok([a.pair?.local, a.pair?.remote].includes('srflx') || [a.pair?.local, a.pair?.remote].includes('prflx'));
          break;
        case 'symmetric':
          assert.deepEqual([a.transport, a.path, b.transport, b.path], ['direct', 'turn', 'direct', 'turn']);
          break;
        case 'udp-blocked':
          assert.deepEqual([a.transport, a.path, b.transport, b.path], ['direct', 'turn', 'direct', 'turn']);
          // A's router forwards no UDP: its relay was allocated over TCP.
          assert.equal(a.pair?.local, 'relay');
          assert.equal(a.pair?.relayProtocol, 'tcp');
          break;
        case 'turn-down':
          // No TURN and symmetric NATs: no direct path; chat goes through the server, and says so.
          assert.deepEqual([a.transport, a.path, b.transport, b.path], ['relayed', 'server', 'relayed', 'server']);
          break;
      }
      // The same between two real Chromiums, one in each home.
      if (existsSync(SYSTEM_CHROMIUM)) {
        const [pa, pb] = await browserPair(url, `${room}-browsers`);
        console.log(`${inside} (Chromium): A ${JSON.stringify(pa)}\n${inside} (Chromium): B ${JSON.stringify(pb)}`);
        assert.deepEqual([pa.received, pb.received], [['hello from B'], ['hello from A']]);
        assert.deepEqual([pa.path, pb.path], [EXPECTED_PATH[inside], EXPECTED_PATH[inside]]);
      }
    } finally {
      for (const child of children) child.kill('SIGTERM');
      await server?.close();
    }
  });
}
