// WebKitGTK for the browser tests: a virtual X display (Xvfb) and WebKitWebDriver, which
// starts Debian's MiniBrowser in automation mode (it has no headless mode).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './free-port.mjs';

export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const DRIVER = '/usr/bin/WebKitWebDriver';
const XVFB = '/usr/bin/Xvfb';

export function webkitGtkAvailable() {
  return existsSync(MINIBROWSER) && existsSync(DRIVER) && existsSync(XVFB);
}

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.end(() => resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`WebKitWebDriver did not listen on ${port}`);
}

/** Starts Xvfb + WebKitWebDriver; returns the WebDriver port and a stop function. */
export async function startWebKitDriver() {
  const display = `:${90 + Math.floor(Math.random() * 400)}`;
  const xvfb = spawn(XVFB, [display, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  const port = await freePort();
  const driver = spawn(DRIVER, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
  const stop = () => {
    driver.kill('SIGKILL');
    xvfb.kill('SIGKILL');
  };
  process.once('exit', stop);
  await waitForPort(port, 10_000);
  return { port, stop };
}

/** WebdriverIO capabilities for MiniBrowser. */
export const MINIBROWSER_CAPABILITIES = {
  browserName: 'MiniBrowser',
  // Classic WebDriver: WebKitWebDriver refuses WebdriverIO's default BiDi request.
  'wdio:enforceWebDriverClassic': true,
  'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
};
