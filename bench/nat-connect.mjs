// Connect time across the NAT lab, for `npm run bench`: run inside a private network and
// mount namespace with the lab built (`unshare -n -m … sh scripts/nat-lab.sh PROFILE &&
// node bench/nat-connect.mjs CASES RUNS`; bench/run.mjs does this). A coturn and the
// signaling server on the public segment, one Chromium per home (Playwright over a pipe,
// through an `ip netns exec` wrapper); each run opens a fresh page in each browser in a
// new room and measures navigation start -> chat channel open on both (the later of the
// two, epoch ms, one machine's clock). CASES: comma list of name:homeA:homeB[:floor]
// ("direct:hA:hA" puts both browsers in one home: host candidates, the baseline; ":floor"
// loads the library-free page bench/pages/floor.html instead of the drop-in build, to
// tell the platform's time from ours). Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumLaunchOptions } from '../scripts/browsers.mjs';
import { serveLabPages } from '../scripts/lab-pages.mjs';
import { createSignalingServer } from '../build/server/index.js';
import { startCoturn } from '../build/test/node/harness.js';

const PUBLIC_IP = '198.19.0.1';
const [casesArg, runsArg] = process.argv.slice(2);
const cases = casesArg.split(',').map((c) => {
  const [name, homeA, homeB, page = 'p2p'] = c.split(':');
  return { name, homes: [homeA, homeB], page };
});
const runs = Number(runsArg);

const pages = await serveLabPages(PUBLIC_IP);
const secret = randomBytes(16).toString('hex');
const coturn = await startCoturn(PUBLIC_IP, 3478, secret);
const server = await createSignalingServer({
  port: 0,
  host: PUBLIC_IP,
  iceServers: [{ urls: `stun:${PUBLIC_IP}:3478` }],
  turn: { secret, urls: [`turn:${PUBLIC_IP}:3478?transport=udp`, `turn:${PUBLIC_IP}:3478?transport=tcp`], ttlSeconds: 600 },
});
const origin = `http://${PUBLIC_IP}:${pages.address().port}`;
const { executablePath = '/usr/bin/chromium' } = chromiumLaunchOptions();
const browsers = new Map();
const wrappers = [];
async function browserIn(home) {
  if (!browsers.has(home)) {
    const wrapper = join(tmpdir(), `nat-bench-${home}-${process.pid}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${home} ${executablePath} "$@"\n`, { mode: 0o755 });
    wrappers.push(wrapper);
    browsers.set(home, await chromium.launch({ executablePath: wrapper, args: CHROMIUM_ARGS }));
  }
  return browsers.get(home);
}

const out = {};
let room = 0;
try {
  for (const { name, homes, page } of cases) {
    const times = [];
    const paths = new Set();
    // Run 0 warms the browsers up and is not counted.
    for (let run = 0; run <= runs; run++) {
      const id = `bench-${name}-${++room}`;
      const contexts = await Promise.all(homes.map(async (home) => (await browserIn(home)).newContext()));
      const tabs = await Promise.all(contexts.map((context) => context.newPage()));
      await Promise.all(tabs.map((tab, i) => tab.goto(`${origin}/test/fixtures/drop-in.html?server=${encodeURIComponent(server.url)}&room=${id}&name=p${i}`)));
      const deadline = Date.now() + 30_000;
      let opened;
      for (;;) {
        opened = await Promise.all(
          tabs.map((tab) =>
            tab.evaluate(() => ({ nav: performance.timeOrigin, at: (window.p2pTest ? window.p2pTest.openedAt[0] : window.bench.opened[0]?.at) ?? null })),
          ),
        );
        if (opened.every((o) => o.at !== null)) break;
        if (Date.now() > deadline) throw new Error(`${name}: the channel did not open in 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (run > 0) times.push(Math.max(...opened.map((o) => o.at)) - Math.min(...opened.map((o) => o.nav)));
      if (process.env.NAT_BENCH_TIMELINE && run === runs && page !== 'floor')
        for (const tab of tabs) console.error(`${name}: ${(await tab.evaluate(() => window.p2pTest.timeline)).join(' | ')}`);
      // Which way it went (read from the stats just after connecting), to show the case is what it says.
      const pathNow = () => window.p2pTest.chat.mesh.pathTo(window.p2pTest.chat.peers[0]?.id ?? '');
      for (let i = 0; page !== 'floor' && i < 100; i++) {
        const path = await tabs[0].evaluate(pathNow);
        if (path) {
          paths.add(path);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await Promise.all(contexts.map((context) => context.close()));
    }
    times.sort((a, b) => a - b);
    out[name] = { p50: times[Math.floor(times.length / 2)], times: times.map((t) => Math.round(t)), paths: [...paths] };
  }
} finally {
  for (const browser of browsers.values()) await browser.close().catch(() => {});
  for (const wrapper of wrappers) rmSync(wrapper, { force: true });
  await server.close();
  coturn.process.kill('SIGTERM');
  pages.close();
}
console.log(`NAT-BENCH ${JSON.stringify(out)}`);
process.exit(0);
