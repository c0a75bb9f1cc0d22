// `npm run screenshots`: the demo page as a reader first sees it, into demo/screenshots/:
// desktop (1280 px) and phone (390 px), light and dark, with the inspector in English and
// in Korean. Starts its own signaling server and dev server; a peer in a second browser
// context chats with the page, and the one-click lesson is connected. Browsers gather no
// WebRTC candidate on loopback alone: as root, run it in a private network namespace
// (sh ../shared/netns-run.sh npm run screenshots). The Korean ones need a Korean font
// (Debian: apt-get install fonts-nanum), or they show empty boxes.
import { chromium } from 'playwright-core';
import { createSignalingServer } from '../build/server/index.js';
import { chromiumLaunchOptions } from './browsers.mjs';
import { out, root, startPages } from './screenshot-pages.mjs';

const signaling = await createSignalingServer({ port: 0, host: '127.0.0.1' });
const dev = await startPages();
const browser = await chromium.launch(chromiumLaunchOptions());
const shots = [];
try {
  const views = [
    { name: 'desktop', viewport: { width: 1280, height: 900 } },
    { name: 'phone', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 },
  ];
  for (const view of views) {
    for (const colorScheme of ['light', 'dark']) {
      for (const lang of ['en', 'ko']) {
        const room = `shot-${view.name}-${colorScheme}-${lang}`;
        const url = `http://127.0.0.1:${dev.config.port}/demo/?server=${encodeURIComponent(signaling.url)}&room=${room}`;
        const context = await browser.newContext({
          viewport: view.viewport,
          deviceScaleFactor: view.deviceScaleFactor ?? 1,
          colorScheme,
          reducedMotion: 'reduce',
        });
        const friend = await browser.newContext({ colorScheme });
        try {
          const page = await context.newPage();
          await page.goto(`${url}&name=Ann`);
          const other = await friend.newPage();
          await other.goto(`${url}&name=Bo`);
          const connected = "document.getElementById('chat').peers.some((p) => p.state === 'connected')";
          await page.waitForFunction(connected, undefined, { timeout: 20_000 });
          await other.waitForFunction(connected, undefined, { timeout: 20_000 });
          await other.evaluate("document.getElementById('chat').send('Hi Ann! This came straight from my browser.')");
          await page.evaluate("document.getElementById('chat').send('Hello Bo: the server never saw this line.')");
          await page.waitForFunction("document.getElementById('chat').shadowRoot.querySelectorAll('li[part~=\"message\"]').length >= 2");
          if (lang === 'ko') {
            await page.evaluate("for (const i of document.querySelectorAll('p2p-inspector')) i.lang = 'ko'");
          }
          await page.waitForTimeout(400);
          const file = `${out}/demo-${view.name}-${colorScheme}-${lang}.png`;
          // The top of the page (the same in both languages: once), then the inspector.
          if (lang === 'en') await page.screenshot({ path: file });
          await page.evaluate("document.querySelector('.inspect').scrollIntoView()");
          await page.waitForTimeout(200);
          await page.screenshot({ path: file.replace('.png', '-inspector.png') });
          shots.push(lang === 'en' ? file : file.replace('.png', '-inspector.png'));
        } finally {
          await context.close();
          await friend.close();
        }
      }
    }
  }
} finally {
  await browser.close();
  await dev.stop();
  await signaling.close();
}
console.log(`written:\n${shots.map((f) => `  ${f.slice(root.length)}${f.endsWith('-inspector.png') ? '' : ' (+ -inspector)'}`).join('\n')}`);
process.exit(0);
