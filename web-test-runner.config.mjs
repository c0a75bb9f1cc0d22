// Real-browser tests: the component tests run in real Chromium against a real signaling
// server that this config starts on a free port of 127.0.0.1 (see README, "Tests").
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { defaultReporter, summaryReporter } from '@web/test-runner';
import { chromiumLaunchOptions } from './scripts/browsers.mjs';
import { createSignalingServer } from './build/server/index.js';
import { SignalingProcess } from './scripts/signaling-process.mjs';

// The test pages learn the server's URL from this global (test/helpers.ts).
const signaling = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000 });
// The same with chat relaying switched off (--no-relay), for the relay tests.
const noRelay = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000, relay: false });
process.once('exit', () => {
  void signaling.close();
  void noRelay.close();
});

const chromiumOptions = chromiumLaunchOptions();

// A second signaling server as a separate process, which tests stop and start through
// server commands (the outage test in components/resilience.test.ts).
const outage = new SignalingProcess();
await outage.start();
process.once('exit', () => outage.kill());

/** Lets browser tests drive the outage server: `executeServerCommand('signaling-process', { action })`. */
const signalingProcessPlugin = {
  name: 'signaling-process',
  async executeCommand({ command, payload }) {
    if (command !== 'signaling-process') return undefined;
    if (payload?.action === 'stop') await outage.stop();
    else if (payload?.action === 'start') await outage.start();
    return { url: outage.url, running: outage.running };
  },
};

export default {
  files: ['components/**/*.test.ts', 'test/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  reporters: [defaultReporter(), summaryReporter({ flatten: false })],
  testsFinishTimeout: 5 * 60_000,
  plugins: [signalingProcessPlugin, esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) })],
  testFramework: { config: { timeout: 60_000 } },
  testRunnerHtml: (testFramework) => `<!doctype html>
<html><head><meta charset="utf-8"><script>window.P2P_SIGNALING_URL = ${JSON.stringify(signaling.url)}; window.P2P_NO_RELAY_URL = ${JSON.stringify(noRelay.url)};</script></head>
<body><script type="module" src="${testFramework}"></script></body></html>`,
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: chromiumOptions,
    }),
  ],
};
