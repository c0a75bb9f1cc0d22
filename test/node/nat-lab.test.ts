/**
 * The NAT lab: two homes behind NAT routers (nftables) and a public segment with the
 * signaling server and a real coturn (random secret, REST credentials minted by our
 * server), all inside a private network namespace of the test's own
 * (scripts/nat-lab.sh). A Node peer (@roamhq/wrtc, the same Mesh as the browser) runs in
 * each home, then a real browser in each (Chromium in one, Firefox in the other, driven
 * from inside the home by scripts/nat-browser-peer.mjs). Each profile checks the way the pair connects, from the selected candidate
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
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createSignalingServer } from '../../server/index.js';
import { runInPrivateNetns, startCoturn } from './harness.js';

type Profile = 'cone' | 'symmetric' | 'udp-blocked' | 'turn-down';
const PROFILES: readonly Profile[] = ['cone', 'symmetric', 'udp-blocked', 'turn-down'];
const inside = process.env['P2P_NAT_LAB'] as Profile | undefined;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const PUBLIC_IP = '198.19.0.1';

const EXPECTED_PATH: Record<Profile, string> = { cone: 'nat', symmetric: 'turn', 'udp-blocked': 'turn', 'turn-down': 'server' };

/** Serves the drop-in build and its test page from the public segment (scripts/lab-pages.mjs). */
async function servePages(): Promise<HttpServer> {
  const { serveLabPages } = (await import(`${root}scripts/lab-pages.mjs`)) as { serveLabPages(host: string): Promise<HttpServer> };
  return serveLabPages(PUBLIC_IP);
}

/** Runs a peer script inside a home's namespace; resolves with the report it prints (`NAT-PEER {json}`). */
function runInHome<Report>(home: string, script: string, env: Record<string, string>, children: ChildProcess[]): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', home, process.execPath, script], { env: { ...process.env, ...env } });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('exit', () => {
      const line = /NAT-PEER (.*)/.exec(out)?.[1];
      if (line) resolve(JSON.parse(line) as Report);
      else reject(new Error(`the peer in ${home} printed no report: ${out}`));
    });
  });
}

/** The browsers this machine has, for the pair in the homes (Chromium first). */
async function browsersHere(): Promise<string[]> {
  const { chromiumLaunchOptions, firefoxChoice } = (await import(`${root}scripts/browsers.mjs`)) as {
    chromiumLaunchOptions(): unknown;
    firefoxChoice(): unknown;
  };
  const kinds: string[] = [];
  try {
    chromiumLaunchOptions();
    kinds.push('chromium');
  } catch {
    // None: the pair is two Firefoxes, or skipped.
  }
  if (firefoxChoice()) kinds.push('firefox');
  return kinds;
}

interface BrowserReport {
  browser: string;
  error?: string;
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
      // CI shows the failure, not always the output above it: say what the peers reported.
      const peers = run.output.split('\n').filter((line) => / [AB] \{/.test(line));
      const failure = run.output.indexOf('not ok');
      const why = failure >= 0 ? run.output.slice(failure, failure + 1500) : run.output.slice(-1500);
      assert.equal(run.status, 0, `the ${profile} profile failed:\n${[...peers, why].join('\n')}`);
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
      const nodePeer = fileURLToPath(new URL('./nat-peer.js', import.meta.url));
      const expected = EXPECTED_PATH[inside];
      const [a, b] = await Promise.all([
        runInHome<PeerReport>(
          'hA',
          nodePeer,
          { P2P_NAT_PEER: JSON.stringify({ server: url, room, name: 'A', expect: 'hello from B', path: expected }) },
          children,
        ),
        runInHome<PeerReport>(
          'hB',
          nodePeer,
          { P2P_NAT_PEER: JSON.stringify({ server: url, room, name: 'B', expect: 'hello from A', path: expected }) },
          children,
        ),
      ]);
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
      // The same between real browsers, one in each home: Chromium and Firefox where both
      // are installed (so the pair is also an interoperability check), else two of one.
      const kinds = await browsersHere();
      if (kinds.length === 0) console.log(`${inside}: no Chromium or Firefox here, browser pair skipped`);
      else {
        const pages = await servePages();
        try {
          const page = (name: string) =>
            `http://${PUBLIC_IP}:${(pages.address() as AddressInfo).port}/test/fixtures/drop-in.html?server=${encodeURIComponent(url)}&room=${room}-browsers&name=${name}`;
          const browserPeer = `${root}scripts/nat-browser-peer.mjs`;
          const settings = (browser: string, name: string, expect: string) => ({
            P2P_NAT_BROWSER: JSON.stringify({ browser, url: page(name), name, expect, path: expected }),
          });
          const [pa, pb] = await Promise.all([
            runInHome<BrowserReport>('hA', browserPeer, settings(kinds[0]!, 'A', 'hello from B'), children),
            runInHome<BrowserReport>('hB', browserPeer, settings(kinds.at(-1)!, 'B', 'hello from A'), children),
          ]);
          console.log(`${inside} (${pa.browser}): A ${JSON.stringify(pa)}\n${inside} (${pb.browser}): B ${JSON.stringify(pb)}`);
          assert.deepEqual([pa.received, pb.received], [['hello from B'], ['hello from A']], `browsers chatted: ${pa.error ?? ''} ${pb.error ?? ''}`);
          assert.deepEqual([pa.path, pb.path], [expected, expected]);
        } finally {
          await new Promise((resolve) => pages.close(resolve));
        }
      }
    } finally {
      for (const child of children) child.kill('SIGTERM');
      await server?.close();
    }
  });
}
