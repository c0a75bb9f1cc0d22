// Peers in *another* browser, for cross-browser tests: a test running in Chromium asks
// for Firefox pages and the other way round (server command "remote-peer").
import { launchBrowser } from './browsers.mjs';

const browsers = new Map();
const pages = new Map();
let nextId = 0;

function browserFor(product) {
  // Cached as a promise: two requests at once share one launch.
  let browser = browsers.get(product);
  if (browser) return browser;
  browser = launchBrowser(product);
  browsers.set(product, browser);
  return browser;
}

/** Handles `executeServerCommand('remote-peer', payload)`. */
export async function remotePeerCommand(payload) {
  switch (payload?.action) {
    case 'open': {
      const browser = await browserFor(payload.product);
      const page = await browser.newPage();
      await page.goto(payload.url);
      const id = String(++nextId);
      pages.set(id, page);
      return { id, userAgent: await page.evaluate(() => navigator.userAgent) };
    }
    case 'eval': {
      const page = pages.get(payload.id);
      if (!page) throw new Error(`no remote page ${payload.id}`);
      // The fixture pages expose window.p2pTest (see test/fixtures/chat-from-params.js).
      return page.evaluate(new Function(`return (${payload.expression});`));
    }
    case 'close': {
      for (const page of pages.values()) await page.close().catch(() => {});
      pages.clear();
      return true;
    }
    default:
      throw new Error(`unknown remote-peer action ${payload?.action}`);
  }
}

export async function closeRemoteBrowsers() {
  for (const browser of browsers.values()) await (await browser).close().catch(() => {});
  browsers.clear();
}
