// `npm run bench`: p2p-chat side by side with PeerJS (browser scenarios) and with a raw
// ws relay (server scenarios), in one run, on this machine. Prints a table of ratios and
// writes .bench/results.json. Bounded: it stops by itself in a few minutes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startDevServer } from '@web/dev-server';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../scripts/browsers.mjs';
import { freePort } from '../scripts/free-port.mjs';
import { ON_DEMAND_IMPORT } from '../scripts/on-demand-chunks.mjs';
import { browserCpuMs, cpuSeconds, rssKb, runLoad, startServer } from './processes.mjs';
import { clusterRows, clusterScenarios } from './cluster.mjs';
import { fileScenarios } from './files.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.env.BENCH_QUICK === '1';
/**
 * BENCH_PART=server or browser runs only that half (the table then shows only its rows);
 * BENCH_PART=mesh only the browser part's meshes of 4 and 8 (BENCH_MESH_RUNS rounds).
 */
const part = process.env.BENCH_PART ?? 'all';
/**
 * BENCH_B=<directory under the repository holding another build's p2p-mesh.js and chunks>:
 * the A/A pages load that build instead of dist/, so the A/A column compares two builds in
 * the same rounds (a change against the build before it).
 */
const otherBuild = process.env.BENCH_B?.replace(/^\/+|\/+$/g, '') || null;
const N = {
  connectRuns: quick ? 4 : 20,
  meshRuns: Number(process.env.BENCH_MESH_RUNS) || (quick ? 2 : 8),
  rtt: quick ? 200 : 1000,
  rttBlocks: 10,
  rttRounds: quick ? 2 : 7,
  burst: quick ? 2000 : 10_000,
  idleClients: quick ? 2000 : 10_000,
  idleRounds: quick ? 1 : 5,
  relaySeconds: quick ? 3 : 10,
  natRuns: quick ? 3 : 10,
  joinClients: quick ? 1000 : 3000,
  joinRounds: quick ? 2 : 5,
  clusterRounds: quick ? 1 : 3,
};
const results = { date: new Date().toISOString(), quick, browser: {}, server: {}, nat: {}, cluster: {}, files: {}, bundle: {} };
const log = (...args) => console.log(...args);

const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Where the time of one two-peer connect goes (pages that record `bench.steps`: ours and
 * the floor): each step's first time, in ms from the earlier navigation start, on the
 * side that offers (the peer already there) and on the side that answers.
 */
function phaseSteps(states) {
  const start = Math.min(...states.map((s) => s.nav));
  const offerer = states.find((s) => s.steps['out offer']) ?? states[0];
  const answerer = states.find((s) => s !== offerer) ?? states[1];
  const at = (s, name) => (s.steps[name] === undefined ? null : s.steps[name] - start);
  return {
    'offerer lib fetched': at(offerer, 'lib fetched'),
    'offerer script': at(offerer, 'script'),
    'offerer socket open': at(offerer, 'socket open'),
    'offerer joined': at(offerer, 'joined'),
    'answerer lib fetched': at(answerer, 'lib fetched'),
    'answerer script': at(answerer, 'script'),
    'answerer socket open': at(answerer, 'socket open'),
    'answerer joined': at(answerer, 'joined'),
    'new-peer at offerer': at(offerer, 'in new-peer'),
    'offer out': at(offerer, 'out offer'),
    'offer in': at(answerer, 'in offer'),
    'answer out': at(answerer, 'out answer'),
    'answer in': at(offerer, 'in answer'),
    'ice connected (both)': Math.max(...states.map((s) => at(s, 'ice connected') ?? NaN)),
    'dtls connected (both)': Math.max(...states.map((s) => at(s, 'dtls connected') ?? NaN)),
    'open (both)': Math.max(...states.map((s) => s.opened[0]?.at ?? NaN)) - start,
  };
}

/** A mesh from cold: when the last page ran its script, when the last one was welcomed, when the first and the last channel opened. */
function meshPhases(states) {
  const start = Math.min(...states.map((s) => s.nav));
  const last = (name) => Math.max(...states.map((s) => s.steps[name] ?? NaN)) - start;
  const opens = states.flatMap((s) => s.opened.map((o) => o.at - start));
  return {
    // Each page's wait from its socket's open to its welcome, the longest of the mesh.
    'longest open → welcome': Math.max(...states.map((s) => (s.steps.joined ?? NaN) - (s.steps['socket open'] ?? NaN))),
    'longest script → open': Math.max(...states.map((s) => (s.steps['socket open'] ?? NaN) - (s.steps.script ?? NaN))),
    'last lib fetched': last('lib fetched'),
    'last script': last('script'),
    'last socket open': last('socket open'),
    'last joined': last('joined'),
    'last ice connected': last('ice connected (last)'),
    'last dtls connected': last('dtls connected (last)'),
    'first channel open': Math.min(...opens),
    'last channel open': Math.max(...opens),
  };
}

function medianSteps(runs) {
  const names = Object.keys(runs[0] ?? {});
  return Object.fromEntries(names.map((name) => [name, median(runs.map((r) => r[name]).filter((v) => v !== null && Number.isFinite(v)))]));
}

/**
 * p2p-chat's ratio to each baseline taken round by round (the same round's runs, back to
 * back), as the median of the rounds with the spread between the quartiles; `aa` is
 * p2p-chat against itself: the noise of this machine and this bench, beside every ratio.
 */
function perRound(times) {
  const spread = (base) => {
    const ratios = times.p2p.map((t, i) => t / base[i]).filter(Number.isFinite);
    return { median: median(ratios), p25: quantile(ratios, 0.25), p75: quantile(ratios, 0.75), rounds: ratios.length };
  };
  return { floor: spread(times.floor), peerjs: spread(times.peerjs), aa: spread(times['p2p-aa']) };
}

// ---- browser scenarios ------------------------------------------------------------------

/**
 * Serves the A/A pages (`?b`) with their library from BENCH_B instead of dist/: the page
 * and its static import stay as they are, only the directory in the page changes.
 */
function otherBuildMiddleware(dir) {
  return async (context, next) => {
    await next();
    if (context.path === '/bench/pages/p2p.html' && context.query.b !== undefined) {
      const html = typeof context.body === 'string' ? context.body : await new Response(context.body).text();
      context.body = html.replaceAll("'/dist/", `'/${dir}/`);
    }
  };
}

/**
 * `filesOnly`: the file scenarios alone (BENCH_PART=files); the full browser part runs them
 * after the rest. `meshOnly`: the meshes of 4 and 8 alone (BENCH_PART=mesh).
 */
async function browserScenarios({ filesOnly = false, meshOnly = false } = {}) {
  const web = await startDevServer({
    config: {
      rootDir: root,
      port: await freePort(),
      hostname: '127.0.0.1',
      nodeResolve: false,
      middleware: otherBuild ? [otherBuildMiddleware(otherBuild)] : [],
    },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
    autoExitProcess: false,
  });
  const origin = `http://127.0.0.1:${web.config.port}`;
  // Each server in its own scheduling group (see giveOwnCpuShare): eight pages on two cores
  // must not starve the relay they all wait on.
  const ours = await startServer('p2p', ['--rate', '100000', '--burst', '100000'], { ownCpuShare: true });
  const theirs = await startServer('peerjs', [], { ownCpuShare: true });
  results.browser.serverCpuShare = ours.cpuShare;
  const browser = await chromium.launch(chromiumLaunchOptions());
  let room = 0;

  /**
   * Opens `count` peers of one library in fresh contexts, all navigating at once. `floor`
   * is the hand-written page (bench/pages/floor.html) on our server: no library at all.
   */
  async function peers(lib, count, { beforeNavigation = () => {} } = {}) {
    const contexts = await Promise.all(Array.from({ length: count }, () => browser.newContext()));
    const pages = await Promise.all(contexts.map((c) => c.newPage()));
    const id = ++room;
    // `p2p-aa` is p2p-chat again, as its own baseline: the A/A row shows the bench's noise;
    // `peerjs-raw` is PeerJS with its `raw` serialization (files).
    const page = lib === 'p2p-aa' ? 'p2p' : lib === 'peerjs-raw' ? 'peerjs' : lib;
    const urls = pages.map((_, i) =>
      page === 'peerjs'
        ? `${origin}/bench/pages/peerjs.html?port=${theirs.port}&id=r${id}p${i}&connect=${Array.from({ length: i }, (_, j) => `r${id}p${j}`).join(',')}${lib === 'peerjs-raw' ? '&serialization=raw' : ''}`
        : `${origin}/bench/pages/${page}.html?server=${encodeURIComponent(ours.url)}&room=r${id}&name=p${i}${lib === 'p2p-aa' && otherBuild ? '&b' : ''}`,
    );
    beforeNavigation();
    await Promise.all(pages.map((page, i) => page.goto(urls[i])));
    return { pages, close: () => Promise.all(contexts.map((c) => c.close())) };
  }

  async function untilOpen(pages, perPage, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        pages.map((p) =>
          p.evaluate(() => {
            // The library's file (ours or the floor's) fully fetched, from the page's resource timing.
            const fetched = performance.getEntriesByType('resource').find((e) => /\/(p2p-chat|p2p-mesh|floor)\.js$/.test(e.name));
            const steps = { ...window.benchPlatform, ...window.bench.steps };
            if (fetched) steps['lib fetched'] = performance.timeOrigin + fetched.responseEnd;
            return { opened: window.bench.opened, nav: window.bench.navigationStart, join: window.bench.joinAt, steps };
          }),
        ),
      );
      if (states.every((s) => s.opened.length >= perPage)) return states;
      if (Date.now() > deadline) throw new Error(`channels did not open: ${states.map((s) => s.opened.length)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The file scenarios, then everything closed: the last step of the browser part. */
  const closeAll = async () => {
    await browser.close();
    await ours.stop();
    await theirs.stop();
    await web.stop();
  };
  const filesThenClose = async () => {
    results.files = (await fileScenarios({ peers, untilOpen, quick, median, quantile, round, log })).results;
    await closeAll();
  };
  if (filesOnly) return filesThenClose();
  if (otherBuild) log(`A/A pages on ${otherBuild}/ (BENCH_B): the A/A column is dist/ against that build`);

  // The libraries take turns run by run (the order rotating), so a slow spell of this
  // shared machine hits all of them alike.
  const LIBS = ['p2p', 'peerjs', 'floor', 'p2p-aa'];
  const turns = (run) => LIBS.map((_, i) => LIBS[(run + i) % LIBS.length]);

  /** connect_ms: two peers, navigation start -> open on both, and join -> open. */
  async function connectScenario() {
    const connect = Object.fromEntries(LIBS.map((lib) => [lib, { fromNav: [], fromJoin: [], steps: [] }]));
    for (let run = 0; run <= N.connectRuns; run++) {
      for (const lib of turns(run)) {
        const { pages, close } = await peers(lib, 2);
        const states = await untilOpen(pages, 1);
        const open = Math.max(...states.map((s) => s.opened[0].at));
        if (run > 0) {
          // run 0 is the discarded warm-up
          connect[lib].fromNav.push(open - Math.min(...states.map((s) => s.nav)));
          connect[lib].fromJoin.push(open - Math.min(...states.map((s) => s.join)));
          connect[lib].steps.push(phaseSteps(states));
        }
        await close();
      }
    }
    for (const lib of LIBS) {
      const { fromNav, fromJoin } = connect[lib];
      results.browser[`connect_${lib}`] = {
        fromNavigation: { p50: median(fromNav), p95: quantile(fromNav, 0.95) },
        fromJoin: { p50: median(fromJoin), p95: quantile(fromJoin, 0.95) },
        runs: fromNav.length,
      };
      log(`connect ${lib}: from navigation p50 ${round(median(fromNav))} ms, from join p50 ${round(median(fromJoin))} ms`);
    }
    results.browser.breakdown = Object.fromEntries(['p2p', 'floor'].map((lib) => [lib, medianSteps(connect[lib].steps)]));
    for (const lib of ['p2p', 'floor']) {
      const b = results.browser.breakdown[lib];
      log(
        `connect phases ${lib} (ms from navigation, p50): ${Object.entries(b)
          .map(([k, v]) => `${k} ${round(v)}`)
          .join(', ')}`,
      );
    }
    // Each round ran every library once, back to back: its ratios are taken within the round.
    Object.assign(results.browser.rounds, {
      connectFromNavigation: perRound(Object.fromEntries(LIBS.map((lib) => [lib, connect[lib].fromNav]))),
      connectFromJoin: perRound(Object.fromEntries(LIBS.map((lib) => [lib, connect[lib].fromJoin]))),
    });
  }

  results.browser.rounds = {};
  if (!meshOnly) await connectScenario();

  // mesh_ms: 4 and 8 peers from cold until every channel is open.
  for (const size of [4, 8]) {
    const times = Object.fromEntries(LIBS.map((lib) => [lib, []]));
    // The browser's CPU time over each mesh (all its processes, from the navigations until
    // every channel is open): what the pages cost the two cores, beside how long it took.
    const cpu = Object.fromEntries(LIBS.map((lib) => [lib, []]));
    // With BENCH_B, the other build's phases too.
    const meshSteps = { p2p: [], floor: [], ...(otherBuild ? { 'p2p-aa': [] } : {}) };
    for (let run = 0; run < N.meshRuns; run++) {
      for (const lib of turns(run)) {
        let cpuBefore = 0;
        const { pages, close } = await peers(lib, size, { beforeNavigation: () => (cpuBefore = browserCpuMs()) });
        const states = await untilOpen(pages, size - 1, 60_000);
        cpu[lib].push(browserCpuMs() - cpuBefore);
        times[lib].push(Math.max(...states.flatMap((s) => s.opened.map((o) => o.at))) - Math.min(...states.map((s) => s.nav)));
        meshSteps[lib]?.push(meshPhases(states));
        await close();
      }
    }
    for (const lib of LIBS) {
      results.browser[`mesh${size}_${lib}`] = { p50: median(times[lib]), runs: times[lib].length, times: times[lib].map((t) => round(t)) };
      results.browser[`mesh${size}_${lib}`].cpuMs = { p50: median(cpu[lib]), runs: cpu[lib] };
      log(`mesh of ${size} ${lib}: p50 ${round(median(times[lib]))} ms, browser CPU p50 ${round(median(cpu[lib]))} ms`);
    }
    results.browser.rounds[`mesh${size}`] = perRound(times);
    results.browser.rounds[`mesh${size}Cpu`] = perRound(cpu);
    for (const lib of Object.keys(meshSteps)) {
      const b = (results.browser[`mesh${size}Breakdown_${lib}`] = medianSteps(meshSteps[lib]));
      log(
        `mesh of ${size} phases ${lib} (ms from the first navigation, p50): ${Object.entries(b)
          .map(([k, v]) => `${k} ${round(v)}`)
          .join(', ')}`,
      );
    }
  }

  if (meshOnly) return closeAll();

  // rtt_ms: sequential round trips over one channel. The pairs (p2p-chat, PeerJS, the floor's
  // bare channel and p2p-chat again as A/A) stay open and take turns in blocks (the order
  // rotating), so a slow spell hits every tail alike. The 99th percentile of 1,000 is the
  // tenth slowest, decided by a few stalls of this shared machine: the scenario runs in
  // several rounds, each with fresh pairs made in rotating order (of two identical pairs,
  // the one made first often had the slower tail); the table shows the median of the
  // rounds' p50 and p99, and p2p-chat's p99 against each baseline round by round.
  const rtt = Object.fromEntries(LIBS.map((lib) => [lib, []]));
  for (let turn = 0; turn < N.rttRounds; turn++) {
    const order = turns(turn);
    const rttPairs = {};
    for (const lib of order) {
      const { pages, close } = await peers(lib, 2);
      await untilOpen(pages, 1);
      await pages[1].evaluate(() => window.bench.echo());
      rttPairs[lib] = { pages, close, times: [] };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let block = 0; block < N.rttBlocks; block++) {
      for (const lib of block % 2 ? [...order].reverse() : order) {
        rttPairs[lib].times.push(...(await rttPairs[lib].pages[0].evaluate((n) => window.bench.rtt(n), N.rtt / N.rttBlocks)));
      }
    }
    for (const lib of order) {
      const { times, close } = rttPairs[lib];
      rtt[lib].push({ p50: median(times), p99: quantile(times, 0.99), max: Math.max(...times) });
      await close();
    }
  }
  results.browser.rounds.rttP99 = perRound(Object.fromEntries(LIBS.map((lib) => [lib, rtt[lib].map((r) => r.p99)])));
  for (const lib of LIBS) {
    const rounds = rtt[lib];
    results.browser[`rtt_${lib}`] = { p50: median(rounds.map((r) => r.p50)), p99: median(rounds.map((r) => r.p99)), count: N.rtt, blocks: N.rttBlocks, rounds };
    log(
      `rtt ${lib}: p50 ${round(results.browser[`rtt_${lib}`].p50, 2)} ms, p99 ${round(results.browser[`rtt_${lib}`].p99, 2)} ms (median of ${rounds.length} rounds; p99 by round: ${rounds.map((r) => round(r.p99, 1)).join(', ')})`,
    );
  }

  // burst: one peer sends N messages to three; until all delivered.
  for (const lib of ['p2p', 'peerjs']) {
    const { pages, close } = await peers(lib, 4);
    await untilOpen(pages, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await pages[0].evaluate((n) => {
      for (let i = 0; i < n; i++) window.bench.send(`burst ${i}`);
    }, N.burst);
    const deadline = Date.now() + 120_000;
    let counts;
    for (;;) {
      counts = await Promise.all(pages.slice(1).map((p) => p.evaluate(() => window.bench.received)));
      if (counts.every((c) => c >= N.burst) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ms = Date.now() - started;
    results.browser[`burst_${lib}`] = { ms, delivered: counts, expected: N.burst, lost: counts.map((c) => N.burst - c) };
    log(`burst ${lib}: ${ms} ms, delivered ${counts.join('/')} of ${N.burst}`);
    await close();
  }

  await filesThenClose();
}

// ---- server scenarios -------------------------------------------------------------------

async function idleClients(kind) {
  const server = await startServer(kind, [], { probe: true });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const heapBefore = await server.liveHeapKb();
  const before = rssKb(server.pid);
  let ready;
  await runLoad(['idle', kind, server.url, String(N.idleClients)], (event, child) => {
    if (event.event === 'ready') {
      ready = event;
      setTimeout(async () => {
        ready.rssKb = rssKb(server.pid);
        // After the RSS reading: the full GC behind this one would change it.
        ready.heapKb = await server.liveHeapKb();
        // RSS once that full GC has run and V8 has had time to give freed pages back.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        ready.settledRssKb = rssKb(server.pid);
        child.stdin.write('close\n');
      }, 2000);
    }
  });
  await server.stop();
  const perClient = (kb, base) => (ready.held > 0 ? ((kb - base) * 1024) / ready.held : null);
  return {
    held: ready.held,
    refused: ready.refused,
    rssBeforeKb: before,
    rssAfterKb: ready.rssKb,
    bytesPerClient: perClient(ready.rssKb, before),
    settledBytesPerClient: perClient(ready.settledRssKb, before),
    liveHeapBytesPerClient: perClient(ready.heapKb, heapBefore),
  };
}

async function relayRun(kind) {
  const server = await startServer(kind, kind === 'p2p' ? ['--rate', '100000', '--burst', '100000'] : []);
  let cpuStart = 0;
  let outcome;
  await runLoad(['relay', kind, server.url, '50', String(N.relaySeconds), '4'], (event) => {
    if (event.event === 'window-start') cpuStart = cpuSeconds(server.pid);
    if (event.event === 'window-end') outcome = { ...event, cpu: cpuSeconds(server.pid) - cpuStart };
  });
  await server.stop();
  return {
    messagesPerSecond: outcome.messages / outcome.seconds,
    cpuMicrosPerMessage: (outcome.cpu / outcome.messages) * 1e6,
    messages: outcome.messages,
    cpuSeconds: outcome.cpu,
  };
}

async function serverScenarios() {
  // RSS per client moves by up to 0.5 KiB between identical runs (it counts the garbage
  // since the last major GC, and when that ran is chance): ours and the raw relay each
  // run five times, interleaved, and the median is kept (PeerJS once: it is far off anyway).
  const idle = { p2p: [], raw: [], peerjs: [] };
  for (let round_ = 0; round_ < N.idleRounds; round_++) for (const kind of ['p2p', 'raw']) idle[kind].push(await idleClients(kind));
  idle.peerjs.push(await idleClients('peerjs'));
  for (const kind of ['p2p', 'raw', 'peerjs']) {
    const byRss = [...idle[kind]].sort((a, b) => (a.bytesPerClient ?? Infinity) - (b.bytesPerClient ?? Infinity));
    const r = (results.server[`idle_${kind}`] = { ...byRss[Math.floor((byRss.length - 1) / 2)], runs: idle[kind] });
    const kib = (x) => (x === null ? '?' : round(x / 1024, 2));
    log(
      `idle ${kind}: held ${r.held}/${N.idleClients}, RSS ${kib(r.bytesPerClient)} KiB per client (runs: ${idle[kind].map((x) => kib(x.bytesPerClient)).join(', ')}), live heap ${kib(r.liveHeapBytesPerClient)} KiB, RSS after a full GC ${idle[kind].map((x) => kib(x.settledBytesPerClient)).join(', ')} KiB`,
    );
  }
  const runs = { p2p: [], raw: [] };
  for (let round_ = 0; round_ < 2; round_++) {
    for (const kind of ['p2p', 'raw']) runs[kind].push(await relayRun(kind)); // interleaved
  }
  for (const kind of ['p2p', 'raw']) {
    results.server[`relay_${kind}`] = {
      messagesPerSecond: median(runs[kind].map((r) => r.messagesPerSecond)),
      cpuMicrosPerMessage: median(runs[kind].map((r) => r.cpuMicrosPerMessage)),
      runs: runs[kind],
    };
    log(
      `relay ${kind}: ${Math.round(results.server[`relay_${kind}`].messagesPerSecond)} msg/s, ${round(results.server[`relay_${kind}`].cpuMicrosPerMessage, 2)} µs CPU per message`,
    );
  }
}

/**
 * Server CPU per join (WebSocket upgrade, new-peer, welcome), without and with TURN
 * credentials minted into every welcome (an HMAC-SHA1 each), in interleaved rounds.
 */
async function joinCost(withTurn) {
  const turn = ['--turn-urls', 'turn:turn.example.org:3478?transport=udp,turn:turn.example.org:3478?transport=tcp', '--turn-secret', 'bench-secret'];
  const server = await startServer('p2p', withTurn ? turn : []);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = cpuSeconds(server.pid);
  let outcome;
  await runLoad(['idle', 'p2p', server.url, String(N.joinClients)], (event, child) => {
    if (event.event === 'ready') {
      outcome = { held: event.held, cpu: cpuSeconds(server.pid) - before };
      child.stdin.write('close\n');
    }
  });
  await server.stop();
  return { ...outcome, cpuMicrosPerJoin: (outcome.cpu / outcome.held) * 1e6 };
}

async function joinScenarios() {
  const runs = { plain: [], turn: [] };
  for (let round_ = 0; round_ < N.joinRounds; round_++) {
    for (const kind of round_ % 2 ? ['turn', 'plain'] : ['plain', 'turn']) runs[kind].push(await joinCost(kind === 'turn'));
  }
  for (const kind of ['plain', 'turn']) {
    results.server[`join_${kind}`] = { cpuMicrosPerJoin: median(runs[kind].map((r) => r.cpuMicrosPerJoin)), runs: runs[kind] };
  }
  log(
    `join CPU: ${round(results.server.join_plain.cpuMicrosPerJoin)} µs without TURN, ${round(results.server.join_turn.cpuMicrosPerJoin)} µs with TURN credentials (runs: ${runs.plain.map((r) => round(r.cpuMicrosPerJoin)).join(', ')} / ${runs.turn.map((r) => round(r.cpuMicrosPerJoin)).join(', ')})`,
  );
}

// ---- NAT lab ----------------------------------------------------------------------------

/**
 * Connect time through the NAT lab (scripts/nat-lab.sh; bench/nat-connect.mjs), per way of
 * connecting, as ratios to both browsers in one home (host candidates) in the same run.
 * Needs root, unshare, ip, nft and turnserver; skipped (and said) otherwise.
 */
async function natScenarios() {
  const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  const missing = ['unshare', 'ip', 'nft', 'turnserver'].filter((command) => !has(command));
  if (process.getuid?.() !== 0) missing.unshift('root');
  if (missing.length > 0) {
    results.nat = { skipped: `needs ${missing.join(', ')}` };
    log(`NAT lab: skipped (needs ${missing.join(', ')})`);
    return;
  }
  const labs = [
    ['cone', 'direct:hA:hA,direct-floor:hA:hA:floor,srflx:hA:hB,srflx-floor:hA:hB:floor'],
    ['symmetric', 'turn-udp:hA:hB,turn-udp-floor:hA:hB:floor'],
    ['udp-blocked', 'turn-tcp:hA:hB,turn-tcp-floor:hA:hB:floor'],
  ];
  for (const [profile, cases] of labs) {
    const run = spawnSync(
      'unshare',
      [
        '-n',
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        `sh "${root}scripts/nat-lab.sh" ${profile} && exec "$@"`,
        'nat-lab',
        process.execPath,
        `${root}bench/nat-connect.mjs`,
        cases,
        String(N.natRuns),
      ],
      { encoding: 'utf8', timeout: 180_000 },
    );
    const line = /NAT-BENCH (.*)/.exec(run.stdout)?.[1];
    if (!line) throw new Error(`NAT lab ${profile}: no result (${run.status}): ${run.stdout.slice(-800)}${run.stderr.slice(-800)}`);
    Object.assign(results.nat, JSON.parse(line));
  }
  for (const [name, r] of Object.entries(results.nat))
    log(`NAT lab ${name}: connect p50 ${round(r.p50)} ms (path ${r.paths.join('/')}; runs ${r.times.join(', ')})`);
}

// ---- bundle -----------------------------------------------------------------------------

async function bundle() {
  const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
  // What an app that has Lit already adds through `p2p-chat/elements` (the unbundled
  // modules, minified by the app's bundler): everything but Lit.
  const elements = await build({
    entryPoints: [`${root}dist/lib/components/drop-in.js`],
    bundle: true,
    format: 'esm',
    minify: true,
    external: ['lit', 'lit/*'],
    write: false,
    logLevel: 'silent',
    // What loads on demand stays out, as in the drop-in (bundled, esbuild would inline the dynamic imports).
    plugins: [
      {
        name: 'on-demand-external',
        setup(builder) {
          builder.onResolve({ filter: ON_DEMAND_IMPORT }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  results.bundle = {
    p2pChat: gz(readFileSync(`${root}dist/p2p-chat.js`)),
    peerjs: gz(readFileSync(`${root}node_modules/peerjs/dist/peerjs.min.js`)),
    elementsWithoutLit: gz(elements.outputFiles[0].contents),
    meshAlone: gz(readFileSync(`${root}dist/p2p-mesh.js`)),
  };
  log(
    `bundle: p2p-chat ${round(results.bundle.p2pChat / 1024)} KB (without Lit, in an app that has it: ${round(results.bundle.elementsWithoutLit / 1024)} KB; Mesh alone, dist/p2p-mesh.js: ${round(results.bundle.meshAlone / 1024)} KB), peerjs ${round(results.bundle.peerjs / 1024)} KB (min+gz)`,
  );
}

// ---- report -----------------------------------------------------------------------------

/** Table rows: [measure, ours, baseline, baseline name, target ratio, hand-written floor]. */
function browserRows(b) {
  return [
    [
      'connect from navigation p50 (ms)',
      b.connect_p2p.fromNavigation.p50,
      b.connect_peerjs.fromNavigation.p50,
      'PeerJS',
      null,
      b.connect_floor.fromNavigation.p50,
    ],
    [
      'connect from navigation p95 (ms)',
      b.connect_p2p.fromNavigation.p95,
      b.connect_peerjs.fromNavigation.p95,
      'PeerJS',
      null,
      b.connect_floor.fromNavigation.p95,
    ],
    ['connect from join p50 (ms)', b.connect_p2p.fromJoin.p50, b.connect_peerjs.fromJoin.p50, 'PeerJS', null, b.connect_floor.fromJoin.p50],
    ['connect from join p95 (ms)', b.connect_p2p.fromJoin.p95, b.connect_peerjs.fromJoin.p95, 'PeerJS', null, b.connect_floor.fromJoin.p95],
    ['mesh of 4 from cold p50 (ms)', b.mesh4_p2p.p50, b.mesh4_peerjs.p50, 'PeerJS', null, b.mesh4_floor.p50],
    ['mesh of 8 from cold p50 (ms)', b.mesh8_p2p.p50, b.mesh8_peerjs.p50, 'PeerJS', null, b.mesh8_floor.p50],
    ['rtt p50 (ms)', b.rtt_p2p.p50, b.rtt_peerjs.p50, 'PeerJS', null, b.rtt_floor.p50],
    ['rtt p99 (ms)', b.rtt_p2p.p99, b.rtt_peerjs.p99, 'PeerJS', null, b.rtt_floor.p99],
    [`burst of ${N.burst} to 3 peers (ms)`, b.burst_p2p.ms, b.burst_peerjs.ms, 'PeerJS', null, null],
  ];
}

function serverRows(s) {
  const liveHeap = (kind) => median(s[`idle_${kind}`].runs.map((r) => r.liveHeapBytesPerClient)) / 1024;
  const settledRss = (kind) => median(s[`idle_${kind}`].runs.map((r) => r.settledBytesPerClient)) / 1024;
  return [
    ['server CPU per relayed message (µs)', s.relay_p2p.cpuMicrosPerMessage, s.relay_raw.cpuMicrosPerMessage, 'raw ws', 1.2, null],
    ['relayed messages per second', s.relay_p2p.messagesPerSecond, s.relay_raw.messagesPerSecond, 'raw ws', null, null],
    ['server RSS per idle client (KiB)', s.idle_p2p.bytesPerClient / 1024, s.idle_raw.bytesPerClient / 1024, 'raw ws', 1.1, null],
    ['server RSS per idle client after a full GC (KiB)', settledRss('p2p'), settledRss('raw'), 'raw ws', null, null],
    ['server live JS heap per idle client after a full GC (KiB)', liveHeap('p2p'), liveHeap('raw'), 'raw ws', null, null],
    ['server CPU per join with TURN credentials (µs)', s.join_turn.cpuMicrosPerJoin, s.join_plain.cpuMicrosPerJoin, 'without TURN', 1.05, null],
  ];
}

function natRows(n) {
  // Each way against the same run's pair in one home; the floor column: the library-free
  // page the same way (its ratio to its own one-home time), i.e. what the browsers and the
  // NATs cost whatever the library.
  const row = (label, key, target) => [
    `NAT lab connect p50 (ms): ${label}`,
    n[key].p50,
    n.direct.p50,
    'one home, host',
    target,
    n[`${key}-floor`].p50,
    n[`${key}-floor`].p50 / n['direct-floor'].p50,
  ];
  return [
    row('both in one home (host)', 'direct', null),
    row('through cone NATs (srflx)', 'srflx', null),
    row('symmetric NATs, TURN over UDP', 'turn-udp', 1.3),
    row('UDP blocked, TURN over TCP', 'turn-tcp', null),
  ];
}

function report() {
  const b = results.browser;
  const s = results.server;
  const rows = [
    ...('connect_p2p' in b ? browserRows(b) : []),
    ...('idle_p2p' in s ? serverRows(s) : []),
    ...('direct' in results.nat ? natRows(results.nat) : []),
    ...('relay_single' in results.cluster ? clusterRows(results.cluster) : []),
    ['bundle min+gz (KB)', results.bundle.p2pChat / 1024, results.bundle.peerjs / 1024, 'peerjs.min.js', null, null],
    [
      'the same without Lit, for an app that has it (p2p-chat/elements; KB)',
      results.bundle.elementsWithoutLit / 1024,
      results.bundle.peerjs / 1024,
      'peerjs.min.js',
      null,
      null,
    ],
    ['Mesh alone, no element (dist/p2p-mesh.js; KB)', results.bundle.meshAlone / 1024, results.bundle.peerjs / 1024, 'peerjs.min.js', null, null],
  ];
  const lines = [['measure', 'p2p-chat', 'baseline', 'ratio', 'target', 'met', 'hand-written floor (its ratio)'].join(' | ')];
  results.table = [];
  for (const [name, ours, base, baseName, target, floor, ownFloorRatio] of rows) {
    const ratio = ours / base;
    const floorRatio = floor === null ? null : (ownFloorRatio ?? floor / base);
    // A target below what the library-free page reaches is out of any library's reach.
    const met = target === null ? '' : ratio <= target ? 'yes' : floorRatio !== null && floorRatio > target ? 'NO (floor misses it too)' : 'NO';
    results.table.push({ name, ours, baseline: base, baselineName: baseName, ratio, target, met, floor, floorRatio });
    lines.push(
      [
        name,
        round(ours, 2),
        `${round(base, 2)} (${baseName})`,
        round(ratio, 2),
        target === null ? '' : `≤ ${target}`,
        met,
        floor === null ? '' : `${round(floor, 2)} (${round(floorRatio, 2)})`,
      ].join(' | '),
    );
  }
  if (b.rounds) {
    const cell = (r) => `${round(r.median, 2)} (${round(r.p25, 2)}–${round(r.p75, 2)})`;
    // The near-the-floor issue's targets: connect and meshes against the floor, rtt p99 against PeerJS.
    const targets = {
      connectFromNavigation: ['floor', 1.1],
      connectFromJoin: ['floor', 1.1],
      mesh4: ['floor', 1.1],
      mesh8: ['floor', 1.1],
      rttP99: ['peerjs', 1.0],
    };
    // The CPU rows have no target of their own: they say how much of the time is the pages' work.
    lines.push('', 'per-round ratios of p2p-chat, median (quartiles) | to the floor | to PeerJS | A/A (to itself) | target | met');
    results.roundsTable = [];
    for (const [name, r] of Object.entries(b.rounds)) {
      const [against, target] = targets[name] ?? [];
      const met = target === undefined ? '' : r[against].median <= target ? 'yes' : 'NO';
      results.roundsTable.push({ name, ...r, ...(target === undefined ? {} : { against, target, met }) });
      const label = name.endsWith('Cpu') ? `${name.slice(0, -3)}: browser CPU` : name;
      const goal = target === undefined ? '' : `≤ ${target} (${against === 'floor' ? 'floor' : 'PeerJS'})`;
      lines.push([label, cell(r.floor), cell(r.peerjs), cell(r.aa), goal, met].join(' | '));
    }
  }
  if ('idle_p2p' in s)
    lines.push(`idle clients held with default settings: p2p-chat ${s.idle_p2p.held}/${N.idleClients}, raw ${s.idle_raw.held}, PeerJS ${s.idle_peerjs.held}`);
  lines.push(`bundle target: ≤ 22 KB min+gz: ${round(results.bundle.p2pChat / 1024)} KB ${results.bundle.p2pChat / 1024 <= 22 ? 'yes' : 'NO'}`);
  log(`\n${lines.join('\n')}`);
  mkdirSync(`${root}.bench`, { recursive: true });
  writeFileSync(`${root}.bench/results.json`, JSON.stringify(results, null, 2));
  log(`\nwritten: .bench/results.json`);
}

const started = Date.now();
/**
 * Each part has its own time budget, against a scenario that hangs: every scenario is
 * bounded in count, so a part over its budget means something is stuck (or the machine
 * is far slower than this 2-core one, where the browser part took 22 minutes, and over
 * 25 at its slowest). It stops the bench and still reports what was measured before it.
 */
async function inBudget(name, minutes, run) {
  const timer = setTimeout(() => {
    console.error(`bench: the ${name} part ran over ${minutes} minutes, stopping; what was measured before it follows`);
    try {
      report();
    } catch (error) {
      console.error(`bench: no report of the parts before (${error.message})`);
    }
    process.exit(1);
  }, minutes * 60_000);
  try {
    await run();
  } finally {
    clearTimeout(timer);
  }
}
await bundle();
if (part === 'all' || part === 'server') await inBudget('server', 20, () => serverScenarios());
if (part === 'all' || part === 'server') await inBudget('server join', 10, () => joinScenarios());
if (part === 'all' || part === 'browser') await inBudget('browser', 50, () => browserScenarios());
if (part === 'files') await inBudget('files', 25, () => browserScenarios({ filesOnly: true }));
if (part === 'mesh') await inBudget('mesh', 30, () => browserScenarios({ meshOnly: true }));
if (part === 'all' || part === 'nat') await inBudget('nat', 15, () => natScenarios());
if (part === 'all' || part === 'cluster')
  await inBudget('cluster', 20, async () => {
    const cluster = await clusterScenarios({ rounds: N.clusterRounds, seconds: N.relaySeconds, idleClients: N.idleClients, median, round });
    results.cluster = cluster.results;
    for (const line of cluster.lines) log(line);
  });
report();
log(`bench finished in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(0);
