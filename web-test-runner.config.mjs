// Real-browser tests: the component tests run in real Chromium against a real signaling
// server that this config starts on a free port of 127.0.0.1 (see README, "Tests").
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { defaultReporter, summaryReporter } from '@web/test-runner';
import { puppeteerLauncher } from '@web/test-runner-puppeteer';
import { webdriverLauncher } from '@web/test-runner-webdriver';
import { MINIBROWSER_CAPABILITIES, startWebKitDriver, webkitGtkAvailable } from './scripts/webkit-driver.mjs';
import { webkit } from 'playwright-core';
import { existsSync } from 'node:fs';
import { FIREFOX_PREFS, chromiumLaunchOptions, firefoxChoice, puppeteerFirefoxOptions } from './scripts/browsers.mjs';
import { createSignalingServer } from './build/server/index.js';
import { SignalingProcess } from './scripts/signaling-process.mjs';
import { LocalCluster } from './scripts/local-cluster.mjs';
import { startMitmServer } from './scripts/mitm-signaling.mjs';
import { startRelayAttacker } from './scripts/relay-attacker.mjs';
import { closeRemoteBrowsers, remotePeerCommand } from './scripts/remote-peers.mjs';
import { cliPeerCommand, killCliPeers } from './scripts/cli-peers.mjs';
import {
  closeProxies,
  closeReceivers,
  networkCommand,
  restore as restoreNetwork,
  signalingProxyCommand,
  slowReceiverCommand,
} from './scripts/network-faults.mjs';

// The test pages learn the server's URL from this global (test/helpers.ts). Every test
// page joins from 127.0.0.1, hundreds of times a run: the join rates are not tested here.
const joinRates = { joinsPerIp: { perSecond: 1000, burst: 1000 }, joinsPerRoom: { perSecond: 1000, burst: 1000 } };
const signaling = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000, ...joinRates });
// The same with chat relaying switched off (--no-relay), for the relay tests.
const noRelay = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000, relay: false, ...joinRates });
// A small per-receiver queue, so a flood fills it quickly (test/network-faults.test.ts).
const smallQueues = await createSignalingServer({
  port: 0,
  host: '127.0.0.1',
  heartbeatMs: 2000,
  maxBufferedBytes: 256 * 1024,
  messagesPerSecond: 500,
  messageBurst: 500,
  ...joinRates,
});
process.once('exit', () => {
  void signaling.close();
  void noRelay.close();
  void smallQueues.close();
});

/**
 * The browsers of the run: Chromium, Firefox and WebKit. A browser that cannot be found
 * fails the run; P2P_BROWSERS (e.g. "chromium,firefox") is the documented opt-out.
 */
const wanted = (process.env.P2P_BROWSERS ?? 'chromium,firefox,webkit')
  .split(',')
  .map((b) => b.trim().toLowerCase())
  .filter(Boolean);

function browserLaunchers() {
  const launchers = [];
  if (wanted.includes('chromium')) launchers.push(playwrightLauncher({ product: 'chromium', launchOptions: chromiumLaunchOptions() }));
  if (wanted.includes('firefox')) {
    const choice = firefoxChoice();
    if (!choice)
      throw new Error(
        "No Firefox found: install Playwright's (npx playwright install firefox) or the system's (apt-get install firefox-esr), set FIREFOX_PATH, or leave it out with P2P_BROWSERS=chromium.",
      );
    launchers.push(
      choice.kind === 'playwright'
        ? playwrightLauncher({ product: 'firefox', launchOptions: { firefoxUserPrefs: FIREFOX_PREFS } })
        : puppeteerLauncher({ launchOptions: puppeteerFirefoxOptions(choice.executablePath) }),
    );
  }
  return launchers;
}

/**
 * WebKit: Playwright's WebKit where installed (it has WebRTC), else Debian's WebKitGTK
 * MiniBrowser through WebKitWebDriver under Xvfb (it has no RTCPeerConnection: the
 * no-WebRTC experience and the relay are tested there).
 */
async function webkitLauncher() {
  if (!wanted.includes('webkit')) return null;
  const own = webkit.executablePath();
  if (own && existsSync(own)) return playwrightLauncher({ product: 'webkit' });
  if (!webkitGtkAvailable()) {
    throw new Error(
      "No WebKit found: install Playwright's (npx playwright install webkit) or WebKitGTK (apt-get install webkit2gtk-driver xvfb), or leave it out with P2P_BROWSERS=chromium,firefox.",
    );
  }
  const driver = await startWebKitDriver();
  return webdriverLauncher({ hostname: '127.0.0.1', port: driver.port, capabilities: MINIBROWSER_CAPABILITIES, logLevel: 'error' });
}

const webkitBrowser = await webkitLauncher();
const mainBrowsers = browserLaunchers();
const WEBKIT_FILES = ['test/webkit/**/*.test.ts', 'test/architecture.test.ts', 'test/drop-in.test.ts'];
const onlyWebKit = mainBrowsers.length === 0 && webkitBrowser !== null;

// A second signaling server as a separate process, which tests stop and start through
// server commands (the outage test in components/resilience.test.ts).
const outage = new SignalingProcess();
await outage.start();
process.once('exit', () => outage.kill());

/** A test-runner plugin answering one server command (`executeServerCommand(name, payload)`). */
function commandPlugin(name, handle, serverStop = () => {}) {
  return {
    name,
    async executeCommand({ command, payload }) {
      return command === name ? handle(payload) : undefined;
    },
    serverStop,
  };
}

// Peers in the other browser (test/cross-browser.test.ts, test/webkit/).
const remotePeerPlugin = commandPlugin('remote-peer', remotePeerCommand, closeRemoteBrowsers);
// The terminal client as a process (test/cli-peer.test.ts).
const cliPeerPlugin = commandPlugin('cli-peer', cliPeerCommand, killCliPeers);
// The outage server, stopped and started by components/resilience.test.ts: { action }.
const signalingProcessPlugin = commandPlugin('signaling-process', async (payload) => {
  if (payload?.action === 'stop') await outage.stop();
  else if (payload?.action === 'start') await outage.start();
  return { url: outage.url, running: outage.running };
});

// Three signaling processes sharing rooms through a real redis-server (test/cluster.test.ts):
// { action: 'start' } → { urls }, { action: 'kill', index } (SIGKILL), { action: 'stop' }.
const cluster = new LocalCluster();
const clusterPlugin = commandPlugin(
  'cluster',
  async (payload) => {
    if (payload?.action === 'start') return { urls: await cluster.start(3, ['--redis-grace', '3']) };
    if (payload?.action === 'kill') cluster.kill(payload.index);
    if (payload?.action === 'stop') await cluster.stop();
    return { urls: cluster.urls };
  },
  () => cluster.stop(),
);
process.once('exit', () => {
  for (const p of cluster.processes) p.kill();
  cluster.redis.kill();
});

/**
 * A test-only server fixture as a command: `{ action: 'start', … }` starts a fresh one
 * (closing the last) → `{ url }`; `{ action: 'stop' }` closes it; anything else goes to
 * `other(fixture, payload)`.
 */
function fixtureServerPlugin(name, start, other) {
  let fixture = null;
  return commandPlugin(
    name,
    async (payload) => {
      if (payload?.action === 'start') {
        await fixture?.close();
        fixture = await start(payload);
        return { url: fixture.url };
      }
      if (payload?.action === 'stop') {
        await fixture?.close();
        fixture = null;
        return {};
      }
      return other(fixture, payload);
    },
    () => fixture?.close(),
  );
}

// A malicious signaling server in the middle (test/mitm.test.ts, a test-only fixture):
// { action: 'start' } → { url }, { action: 'captured' } → { captured, fingerprints }, { action: 'stop' }.
const mitmPlugin = fixtureServerPlugin('mitm', startMitmServer, (mitm) => ({ captured: mitm?.captured ?? [], fingerprints: mitm?.fingerprints() ?? [] }));

// A malicious server for relayed pairs (test/relay-attacker.test.ts, a test-only fixture):
// { action: 'start', swap, version } → { url }, { action: 'tamper', from: name }, { action: 'captured' } → { captured }, { action: 'stop' },
// and the mid-session attacks (scripts/relay-attacker.mjs): { action: 'rekey' | 'downgrade' | 'inject' | 'replay' | 'rename' | 'reintroduce' | 'swap' | 'drop-identity', name, text, newName }.
const relayAttackerPlugin = fixtureServerPlugin(
  'relay-attacker',
  (payload) => startRelayAttacker({ swap: payload.swap === true, ...(payload.version ? { version: payload.version } : {}) }),
  async (attacker, payload) => {
    if (payload?.action === 'tamper') attacker?.tamper(payload.from);
    else if (['rekey', 'downgrade', 'inject', 'replay', 'rename', 'drop-identity', 'reintroduce', 'swap'].includes(payload?.action))
      await attacker?.act(payload);
    return { captured: attacker?.captured ?? [] };
  },
);

// Real network faults (test/network-faults.test.ts): the path between pages cut with
// nftables inside the run's private namespace, and signaling sockets dropped by a proxy.
const networkPlugin = commandPlugin('network', networkCommand, restoreNetwork);
const proxyPlugin = commandPlugin('signaling-proxy', (payload) => signalingProxyCommand(payload, signaling.url), closeProxies);
const slowReceiverPlugin = commandPlugin('slow-receiver', (payload) => slowReceiverCommand(payload, smallQueues.url), closeReceivers);
process.once('exit', restoreNetwork);

export default {
  files: onlyWebKit ? WEBKIT_FILES : ['components/**/*.test.ts', 'test/**/*.test.ts', '!test/webkit/**', '!test/node/**'],
  // WebKit runs the tests written for every browser, WebRTC or not (test/webkit/).
  groups: webkitBrowser && !onlyWebKit ? [{ name: 'webkit', files: WEBKIT_FILES, browsers: [webkitBrowser] }] : [],
  nodeResolve: true,
  concurrency: 1,
  // One browser at a time: the outage test stops a shared server, and 2 cores are enough for one mesh.
  concurrentBrowsers: 1,
  reporters: [defaultReporter(), summaryReporter({ flatten: false })],
  testsFinishTimeout: 5 * 60_000,
  // A cold machine starts browsers (WebKitGTK under Xvfb above all) slowly.
  browserStartTimeout: 120_000,
  testsStartTimeout: 120_000,
  plugins: [
    signalingProcessPlugin,
    clusterPlugin,
    mitmPlugin,
    relayAttackerPlugin,
    remotePeerPlugin,
    cliPeerPlugin,
    networkPlugin,
    proxyPlugin,
    slowReceiverPlugin,
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }),
  ],
  testFramework: { config: { timeout: 60_000 } },
  testRunnerHtml: (testFramework) => `<!doctype html>
<html><head><meta charset="utf-8"><script>window.P2P_SIGNALING_URL = ${JSON.stringify(signaling.url)}; window.P2P_NO_RELAY_URL = ${JSON.stringify(noRelay.url)}; window.P2P_SMALL_QUEUES_URL = ${JSON.stringify(smallQueues.url)};</script></head>
<body><script type="module" src="${testFramework}"></script></body></html>`,
  browsers: onlyWebKit ? [webkitBrowser] : mainBrowsers,
};
