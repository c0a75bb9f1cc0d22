// Real-browser tests: the component tests run in real Chromium against a real signaling
// server that this config starts on a free port of 127.0.0.1 (see README, "Tests").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { chromium } from 'playwright-core';
import { createSignalingServer } from './build/server/index.js';

// The test pages learn the server's URL from this global (test/signaling-url.ts).
const signaling = await createSignalingServer({ port: 0, host: '127.0.0.1', heartbeatMs: 2000 });
process.once('exit', () => void signaling.close());

/** Playwright's own Chromium when installed (a laptop), else the system's (Debian: /usr/bin/chromium). */
function chromiumExecutable() {
  const own = chromium.executablePath();
  if (own && existsSync(own)) return undefined;
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  throw new Error('No Chromium found: install Playwright\'s (npx playwright install chromium) or the system one (apt-get install chromium), or set CHROMIUM_PATH.');
}

const executablePath = chromiumExecutable();

export default {
  files: ['components/**/*.test.ts', 'test/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testsFinishTimeout: 5 * 60_000,
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) })],
  testFramework: { config: { timeout: 30_000 } },
  testRunnerHtml: (testFramework) => `<!doctype html>
<html><head><meta charset="utf-8"><script>window.P2P_SIGNALING_URL = ${JSON.stringify(signaling.url)};</script></head>
<body><script type="module" src="${testFramework}"></script></body></html>`,
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: {
        ...(executablePath ? { executablePath } : {}),
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      },
    }),
  ],
};
