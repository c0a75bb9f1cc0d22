// One browser peer of the NAT lab (test/node/nat-lab.test.ts), run inside a home namespace
// (`ip netns exec hA node scripts/nat-browser-peer.mjs`): launches Chromium (Playwright) or
// Firefox (Puppeteer, WebDriver BiDi) there, so the page's traffic goes through the home's
// NAT router, opens the drop-in test page, says hello once connected, waits for the other's
// hello and for ICE to settle, and prints one line: NAT-PEER {path, states, received, browser}.
// Driving the browser from inside the home is what lets Firefox in: Puppeteer reaches it
// over a local socket, which only the home's own loopback can see.
import { launchBrowser } from './browsers.mjs';

const settings = JSON.parse(process.env.P2P_NAT_BROWSER ?? 'null');
if (!settings) throw new Error('P2P_NAT_BROWSER (JSON: browser, url, expect, path) is not set');
const { browser: product, url, expect, path } = settings;

/** Polls an expression in the page (Playwright and Puppeteer share `evaluate(string)`). */
async function until(page, expression, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(expression)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const connectedPeer = `window.p2pTest.chat.peers.find((p) => p.state === 'connected')`;
const pathNow = `(() => { const p = ${connectedPeer}; return p ? window.p2pTest.chat.mesh.pathTo(p.id) : null; })()`;
let report;
let browser;
let page;
try {
  browser = await launchBrowser(product);
  page = await browser.newPage();
  await page.goto(url);
  await until(page, `Boolean(${connectedPeer})`, 'a connected peer', 60_000);
  await page.evaluate(`window.p2pTest.chat.send(${JSON.stringify(`hello from ${settings.name}`)})`);
  await until(page, `window.p2pTest.received.some((m) => m.text === ${JSON.stringify(expect)})`, `"${expect}"`, 20_000);
  // ICE may move to a better pair after connecting (TURN often answers first): give it
  // time to settle on the expected path, and report where it is either way.
  await until(page, `${pathNow} === ${JSON.stringify(path)}`, `the ${path} path`, 15_000).catch(() => {});
  report = {
    browser: product,
    path: await page.evaluate(pathNow),
    // A path of null with a peer not connected (reconnecting, say) is a different failure.
    states: await page.evaluate('window.p2pTest.chat.peers.map((p) => p.state)'),
    received: await page.evaluate('window.p2pTest.received.map((m) => m.text)'),
    timeline: process.env.P2P_NAT_TIMELINE ? await page.evaluate('window.p2pTest.timeline') : undefined,
  };
} catch (error) {
  const timeline = await page?.evaluate('window.p2pTest.timeline').catch(() => null);
  report = { browser: product, error: error.message, path: null, received: [], timeline };
}
process.stdout.write(`NAT-PEER ${JSON.stringify(report)}\n`);
// Stay a moment so the other side gets what it waits for, then go.
setTimeout(async () => {
  await browser?.close().catch(() => {});
  process.exit(0);
}, 3000);
