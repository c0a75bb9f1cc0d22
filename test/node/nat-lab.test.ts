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
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createSignalingServer } from '../../server/index.js';
import { has, startCoturn } from './harness.js';

type Profile = 'cone' | 'symmetric' | 'udp-blocked' | 'turn-down';
const PROFILES: readonly Profile[] = ['cone', 'symmetric', 'udp-blocked', 'turn-down'];
const inside = process.env['P2P_NAT_LAB'] as Profile | undefined;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const PUBLIC_IP = '198.19.0.1';

interface PeerReport {
  ok: boolean;
  error?: string;
  transport?: string;
  path?: string | null;
  pair?: { local?: string; remote?: string; relayProtocol?: string | null; protocol?: string } | null;
  received: string[];
}

if (!inside) {
  const why =
    process.getuid?.() !== 0
      ? 'needs root (CI runs the tests as root)'
      : ['unshare', 'ip', 'nft', 'turnserver'].filter((c) => !has(c)).map((c) => `needs ${c}`)[0];
  for (const profile of PROFILES) {
    test(`NAT lab, ${profile}`, (t) => {
      if (why) return t.skip(`${why} (apt-get install coturn nftables; CI does)`);
      const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
      void _context;
      const lab = profile === 'turn-down' ? 'symmetric' : profile;
      const child = spawnSync(
        'unshare',
        [
          '-n',
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          `sh "${root}scripts/nat-lab.sh" ${lab} && exec "${process.execPath}" --test --test-reporter=tap "${fileURLToPath(import.meta.url)}"`,
        ],
        { env: { ...env, P2P_NAT_LAB: profile }, encoding: 'utf8', timeout: 180_000 },
      );
      const output = `${child.stdout}${child.stderr}`;
      console.log(output.trim());
      assert.equal(child.status, 0, `the ${profile} profile failed (output above)`);
      assert.match(output, /^# pass 1$/m, 'the profile ran and passed');
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
    } finally {
      for (const child of children) child.kill('SIGTERM');
      await server?.close();
    }
  });
}
