// Files (issue 16): throughput of one file between two pages, and to three receivers at
// once, for p2p-chat (offer, accept, a channel per transfer, SHA-256 per block on both
// sides), the library-free floor (a channel per file, 64 KiB chunks, the same water
// marks, no hashing) and PeerJS (`binary` and `raw` serialization, gated on its queue);
// chat round trips during a transfer; and the JS heap of sender and receiver while a
// large file moves. Libraries take turns round by round.

const MB = 1_000_000;

/** Sends a file of `size` from pages[0] to every other page; ms until the last receiver has it. */
async function timeFile(pages, size, timeoutMs) {
  const start = await pages[0].evaluate((n) => window.bench.sendFile(n), size);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = await Promise.all(pages.slice(1).map((p) => p.evaluate(() => window.bench.files.at(-1)?.at ?? null)));
    if (done.every((at) => at !== null)) return Math.max(...done) - start;
    if (Date.now() > deadline) throw new Error(`file not received in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function fileScenarios({ peers, untilOpen, quick, median, quantile, round, log }) {
  const size = quick ? 50 * MB : 200 * MB;
  const rounds = quick ? 1 : 3;
  // Three receivers share the sender's upload: half the size keeps the run in minutes.
  const sizeFor = (receivers) => (receivers === 1 ? size : size / 2);
  const LIBS = ['p2p', 'floor', 'peerjs', 'peerjs-raw'];
  const results = { size, rounds };
  const lines = [];

  for (const receivers of [1, 3]) {
    const times = Object.fromEntries(LIBS.map((lib) => [lib, []]));
    for (let r = 0; r < rounds; r++) {
      for (const lib of LIBS.map((_, i) => LIBS[(r + i) % LIBS.length])) {
        const { pages, close } = await peers(lib, receivers + 1);
        await untilOpen(pages, receivers);
        // Only pages[0] sends; PeerJS pages connect to the earlier ones, so all of them reach page 0.
        times[lib].push(await timeFile(pages, sizeFor(receivers), 240_000));
        await close();
      }
    }
    for (const lib of LIBS) {
      const ms = median(times[lib]);
      results[`throughput${receivers}_${lib}`] = {
        size: sizeFor(receivers),
        ms,
        mbPerSecond: (sizeFor(receivers) / MB / ms) * 1000,
        times: times[lib].map((t) => round(t)),
      };
    }
    const mbps = (lib) => results[`throughput${receivers}_${lib}`].mbPerSecond;
    lines.push(
      `file ${sizeFor(receivers) / MB} MB to ${receivers} receiver(s), MB/s (per receiver) (median of ${rounds}): ${LIBS.map((lib) => `${lib} ${round(mbps(lib))}`).join(', ')}; p2p-chat ${round(mbps('p2p') / mbps('floor'), 2)}× the floor, ${round(mbps('p2p') / mbps('peerjs'), 2)}× PeerJS binary, ${round(mbps('p2p') / mbps('peerjs-raw'), 2)}× PeerJS raw`,
    );
    log(lines.at(-1));
  }

  // Chat round trips while a file moves on the same connection (its own channel), for
  // p2p-chat and for the floor (the same file by hand, pings on its chat channel): the
  // floor's figure says what the platform itself allows. In rounds, the two taking turns,
  // because one round's p99 (its second-slowest of 200 pings) moved 4-5x between runs for
  // both: the median of the rounds' p99s, each round's beside it, and the per-round ratio.
  const rttRounds = quick ? 2 : 5;
  const pings = quick ? 100 : 200;
  const rtt = { p2p: [], floor: [] };
  for (let r = 0; r < rttRounds; r++) {
    for (const lib of r % 2 === 0 ? ['p2p', 'floor'] : ['floor', 'p2p']) {
      const { pages, close } = await peers(lib, 2);
      await untilOpen(pages, 1);
      await pages[1].evaluate(() => window.bench.echo());
      const idle = await pages[0].evaluate((n) => window.bench.rtt(n), 100);
      await pages[0].evaluate((n) => window.bench.sendFile(n), size);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const busy = await pages[0].evaluate((n) => window.bench.rtt(n), pings);
      const stillMoving = await pages[1].evaluate(() => window.bench.files.length === 0);
      rtt[lib].push({ idleP99: quantile(idle, 0.99), p50: median(busy), p99: quantile(busy, 0.99), stillMoving });
      await close();
    }
  }
  for (const lib of ['p2p', 'floor']) {
    const rounds = rtt[lib];
    results[`rttDuringFile_${lib}`] = {
      rounds,
      p50: median(rounds.map((x) => x.p50)),
      p99: median(rounds.map((x) => x.p99)),
      idleP99: median(rounds.map((x) => x.idleP99)),
      fileStillMoving: rounds.every((x) => x.stillMoving),
    };
  }
  const perRound = rtt.p2p.map((x, i) => x.p99 / rtt.floor[i].p99);
  results.rttDuringFileP99Ratio = { median: median(perRound), rounds: perRound };
  for (const lib of ['p2p', 'floor']) {
    const r = results[`rttDuringFile_${lib}`];
    lines.push(
      `chat rtt during a ${size / MB} MB file, ${lib} (${rttRounds} rounds of ${pings} pings): p50 ${round(r.p50, 2)} ms, p99 ${round(r.p99, 2)} ms (rounds' p99: ${r.rounds.map((x) => round(x.p99, 1)).join(', ')}; idle p99 ${round(r.idleP99, 2)} ms; ${r.fileStillMoving ? 'the file was still moving at the end of every round' : 'a file had finished before the end of its round'})`,
    );
    log(lines.at(-1));
  }
  lines.push(
    `chat rtt p99 during a file, p2p-chat / floor per round: median ${round(results.rttDuringFileP99Ratio.median, 2)} (${perRound.map((x) => round(x, 2)).join(', ')})`,
  );
  log(lines.at(-1));

  // The JS heap of sender and receiver while a large file moves (Chromium's CDP).
  {
    const big = quick ? 200 * MB : 1000 * MB;
    const { pages, close } = await peers('p2p', 2);
    await untilOpen(pages, 1);
    const sessions = await Promise.all(pages.map((p) => p.context().newCDPSession(p)));
    const heap = async () => Promise.all(sessions.map(async (s) => (await s.send('Runtime.getHeapUsage')).usedSize));
    await Promise.all(sessions.map((s) => s.send('HeapProfiler.collectGarbage')));
    const idle = await heap();
    const peak = [...idle];
    let moving = true;
    const watch = (async () => {
      while (moving) {
        (await heap()).forEach((used, i) => (peak[i] = Math.max(peak[i], used)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const ms = await timeFile(pages, big, 600_000);
    moving = false;
    await watch;
    results.heap = {
      size: big,
      ms,
      idleMB: idle.map((b) => round(b / MB)),
      peakMB: peak.map((b) => round(b / MB)),
      aboveIdleMB: peak.map((b, i) => round((b - idle[i]) / MB)),
    };
    lines.push(
      `JS heap during a ${big / MB} MB file (${round(ms / 1000)} s): sender peak ${results.heap.aboveIdleMB[0]} MB above idle, receiver ${results.heap.aboveIdleMB[1]} MB above idle (target ≤ 64 MB each)`,
    );
    log(lines.at(-1));
    await close();
  }
  return { results, lines };
}
