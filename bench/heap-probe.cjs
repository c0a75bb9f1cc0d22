// Preloaded into the server processes of the idle-clients scenario (ours and the raw
// relay alike, with --expose-gc): on SIGUSR2 it runs a full GC and prints the live JS
// heap, so the bench can tell live per-connection state from heap growth and garbage
// that RSS also counts. Bench instrumentation only; the servers know nothing of it.
process.on('SIGUSR2', () => {
  global.gc();
  const { heapUsed } = process.memoryUsage();
  process.stderr.write(`heap-probe ${JSON.stringify({ heapUsedKb: Math.round(heapUsed / 1024) })}\n`);
});
