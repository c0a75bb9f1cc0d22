// Real-browser tests: the component tests run in real Chromium against a real signaling
// server that this config starts on a free port of 127.0.0.1 (see README, "Tests").
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { defaultReporter, summaryReporter } from '@web/test-runner';
import { puppeteerLauncher } from '@web/test-runner-puppeteer';
import { FIREFOX_PREFS, chromiumLaunchOptions, firefoxChoice } from './scripts/browsers.mjs';
import { createSignalingServer } from './build/server/index.js';
import { SignalingProcess } from './scripts/signaling-process.mjs';
import { closeRemoteBrowsers, remotePeerCommand } from './scripts/remote-peers.mjs';

// The test pages learn the server's URL from this global (test/helpers.ts).
const signaling = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000 });
// The same with chat relaying switched off (--no-relay), for the relay tests.
const noRelay = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000, relay: false });
process.once('exit', () => {
  void signaling.close();
  void noRelay.close();
});

/**
 * The browsers of the run: Chromium, Firefox and WebKit. A browser that cannot be found
 * fails the run; P2P_BROWSERS (e.g. "chromium,firefox") is the documented opt-out.
 */
const wanted = (process.env.P2P_BROWSERS ?? 'chromium,firefox').split(',').map((b) => b.trim().toLowerCase()).filter(Boolean);

function browserLaunchers() {
  const launchers = [];
  if (wanted.includes('chromium')) launchers.push(playwrightLauncher({ product: 'chromium', launchOptions: chromiumLaunchOptions() }));
  if (wanted.includes('firefox')) {
    const choice = firefoxChoice();
    if (!choice) throw new Error("No Firefox found: install Playwright's (npx playwright install firefox) or the system's (apt-get install firefox-esr), set FIREFOX_PATH, or leave it out with P2P_BROWSERS=chromium.");
    launchers.push(
      choice.kind === 'playwright'
        ? playwrightLauncher({ product: 'firefox', launchOptions: { firefoxUserPrefs: FIREFOX_PREFS } })
        : puppeteerLauncher({ launchOptions: { browser: 'firefox', executablePath: choice.executablePath, headless: true, extraPrefsFirefox: FIREFOX_PREFS } }),
    );
  }
  return launchers;
}

// A second signaling server as a separate process, which tests stop and start through
// server commands (the outage test in components/resilience.test.ts).
const outage = new SignalingProcess();
await outage.start();
process.once('exit', () => outage.kill());

/** Lets a test open peers in the other browser: `executeServerCommand('remote-peer', …)`. */
const remotePeerPlugin = {
  name: 'remote-peer',
  async executeCommand({ command, payload }) {
    if (command !== 'remote-peer') return undefined;
    return remotePeerCommand(payload);
  },
  async serverStop() {
    await closeRemoteBrowsers();
  },
};

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
  // One browser at a time: the outage test stops a shared server, and 2 cores are enough for one mesh.
  concurrentBrowsers: 1,
  reporters: [defaultReporter(), summaryReporter({ flatten: false })],
  testsFinishTimeout: 5 * 60_000,
  plugins: [signalingProcessPlugin, remotePeerPlugin, esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) })],
  testFramework: { config: { timeout: 60_000 } },
  testRunnerHtml: (testFramework) => `<!doctype html>
<html><head><meta charset="utf-8"><script>window.P2P_SIGNALING_URL = ${JSON.stringify(signaling.url)}; window.P2P_NO_RELAY_URL = ${JSON.stringify(noRelay.url)};</script></head>
<body><script type="module" src="${testFramework}"></script></body></html>`,
  browsers: browserLaunchers(),
};
