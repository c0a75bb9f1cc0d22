// End to end: `npm start`'s script brings up the signaling server and the demo page, and
// two separate browser contexts (two "tabs" that share nothing) chat through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../scripts/browsers.mjs';
import { freePort } from '../scripts/free-port.mjs';

const START = fileURLToPath(new URL('../scripts/start.js', import.meta.url));

test('npm start: two browser tabs chat through the demo page', { timeout: 90_000 }, async () => {
  const [port, demoPort] = [await freePort(), await freePort()];
  // The browser first: if there is none, the test fails at once with the reason, and no
  // server is left running behind it (it used to hang the whole run).
  const browser = await chromium.launch(chromiumLaunchOptions());
  const child = spawn(process.execPath, [START], {
    env: { ...process.env, PORT: String(port), DEMO_PORT: String(demoPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  try {
    const demoUrl = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no demo URL printed: ${output}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /demo page\s+(http\S+)/.exec(output);
        if (match && output.includes('signaling server')) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}): ${output}`)));
    });
    assert.match(output, new RegExp(`ws://127\\.0\\.0\\.1:${port}`));

    const tabs = [];
    for (const name of ['Ann', 'Bo']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (error) => assert.fail(`${name}'s page threw: ${error.message}`));
      const url = new URL(demoUrl);
      url.searchParams.set('name', name);
      url.searchParams.set('room', 'e2e');
      await page.goto(url.href);
      tabs.push(page);
    }
    const [ann, bo] = tabs;
    // The learning view shows the phases; wait for "channel open" on both.
    for (const page of tabs) await page.locator('.peer-card li[data-phase="open"].done').waitFor({ timeout: 20_000 });
    await ann.locator('#chat input').fill('hello from tab one');
    await ann.locator('#chat input').press('Enter');
    await bo.locator('#chat [part~="text"]', { hasText: 'hello from tab one' }).waitFor({ timeout: 10_000 });
    await bo.locator('#chat input').fill('and back from tab two');
    await bo.locator('#chat input').press('Enter');
    await ann.locator('#chat [part~="text"]', { hasText: 'and back from tab two' }).waitFor({ timeout: 10_000 });
    // The signaling log shows the reference's phases in order.
    const log = await ann.locator('#log li').allTextContents();
    const first = (word) => log.findIndex((line) => line.includes(word));
    assert.ok(first('→ new-peer') >= 0 && first('← welcome') > first('→ new-peer'), log.join('\n'));
    assert.ok(first('→ offer') > first('← new-peer'), 'Ann was first: she offers to Bo');
    assert.ok(first('← answer') > first('→ offer'));
    assert.ok(first('candidate') > 0);
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assert.deepEqual(health, { status: 'ok', rooms: 1, clients: 2 });
  } finally {
    await browser.close();
    child.kill('SIGINT');
  }
  const [code] = child.exitCode === null ? await once(child, 'exit') : [child.exitCode];
  assert.equal(code, 0, output);
});
