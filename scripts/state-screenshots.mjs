// Part of `npm run screenshots`: the chat in the states a person should understand at a
// glance (issue 32), light and dark, into demo/screenshots/state-*.png: a join refused
// because the room is full, a server that cannot be reached, and the line after the
// server came back. Starts its own signaling servers and dev server; as root, run it in a
// private network namespace like the other screenshots (sh ../shared/netns-run.sh npm
// run screenshots).
import { chromium } from 'playwright-core';
import { createSignalingServer } from '../build/server/index.js';
import { chromiumLaunchOptions } from './browsers.mjs';
import { freePort } from './free-port.mjs';
import { out, startPages } from './screenshot-pages.mjs';

const dev = await startPages();
const browser = await chromium.launch(chromiumLaunchOptions());
const page = (server, room, name) =>
  `http://127.0.0.1:${dev.config.port}/test/fixtures/peer.html?server=${encodeURIComponent(server)}&room=${room}&name=${name}`;
const chatSelector = 'p2p-chat';
const shots = [];
const status = "document.querySelector('p2p-chat').shadowRoot.querySelector('[part=status]').textContent";

try {
  for (const colorScheme of ['light', 'dark']) {
    const context = await browser.newContext({ viewport: { width: 900, height: 520 }, colorScheme, reducedMotion: 'reduce' });
    try {
      // A room of one, full: the second chat is refused and says it will join by itself.
      const small = await createSignalingServer({ port: 0, host: '127.0.0.1', maxRoomSize: 1 });
      const first = await context.newPage();
      await first.goto(page(small.url, 'full', 'Ann'));
      await first.waitForFunction("document.querySelector('p2p-chat')?.status === 'joined'", undefined, { timeout: 15_000 });
      const refused = await context.newPage();
      await refused.goto(page(small.url, 'full', 'Bo'));
      await refused.waitForFunction(`document.querySelector('p2p-chat')?.status === 'refused' && /full/.test(${status})`, undefined, { timeout: 15_000 });
      await refused.locator(chatSelector).screenshot({ path: `${out}/state-refused-${colorScheme}.png` });
      shots.push(`state-refused-${colorScheme}.png`);
      await small.close();

      // A server nobody answers at: it says so, and when it tries again.
      const nowhere = `ws://127.0.0.1:${await freePort()}`;
      const lost = await context.newPage();
      await lost.goto(page(nowhere, 'lobby', 'Ann'));
      await lost.waitForFunction(`/could not be reached|unreachable|reconnecting/i.test(${status})`, undefined, { timeout: 15_000 });
      await lost.locator(chatSelector).screenshot({ path: `${out}/state-unreachable-${colorScheme}.png` });
      shots.push(`state-unreachable-${colorScheme}.png`);

      // Joined, the server goes away and comes back on the same port: "Reconnected".
      const port = await freePort();
      let server = await createSignalingServer({ port, host: '127.0.0.1' });
      const back = await context.newPage();
      await back.goto(page(server.url, 'lobby', 'Ann'));
      await back.waitForFunction("document.querySelector('p2p-chat')?.status === 'joined'", undefined, { timeout: 15_000 });
      await server.close();
      await back.waitForFunction("document.querySelector('p2p-chat')?.status === 'reconnecting'", undefined, { timeout: 15_000 });
      server = await createSignalingServer({ port, host: '127.0.0.1' });
      await back.waitForFunction(
        "document.querySelector('p2p-chat')?.status === 'joined' && document.querySelector('p2p-chat').shadowRoot.textContent.includes('Reconnected')",
        undefined,
        { timeout: 20_000 },
      );
      await back.locator(chatSelector).screenshot({ path: `${out}/state-reconnected-${colorScheme}.png` });
      shots.push(`state-reconnected-${colorScheme}.png`);
      await server.close();
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
  await dev.stop();
}
console.log(`wrote ${shots.length} screenshots to demo/screenshots/: ${shots.join(', ')}`);
