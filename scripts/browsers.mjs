// Which browsers the tests drive: Playwright's own where installed (a developer laptop),
// the system's otherwise (Debian's chromium and firefox-esr here and on CI).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, firefox } from 'playwright-core';

/** Flags the system Chromium needs as root in a box with no outside network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Real host addresses instead of random *.local mDNS names: resolving those between two
  // different browsers over multicast is what made cross-browser pairs hang now and then.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** The same for Firefox (about:config preferences). */
export const FIREFOX_PREFS = { 'media.peerconnection.ice.obfuscate_host_addresses': false };

/**
 * Puppeteer's launch options for a system Firefox, as the tests and the bench drive it,
 * with a profile directory removed when this process exits. Puppeteer removes its own
 * temporary profile only once Firefox's process has ended, which came after the test
 * runner's exit: every run left ~40 MB behind in the temporary directory (measured: 157
 * profiles, 5.6 GB, after two days of runs here).
 */
export function puppeteerFirefoxOptions(executablePath) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'p2p-chat-firefox-'));
  process.once('exit', () => rmSync(userDataDir, { recursive: true, force: true }));
  // Downloads (a received file's Save link opened in a frame, test/files.test.ts) go into
  // the profile, removed with it, not into the user's ~/Downloads.
  // Downloads go into the temporary profile, and open no panel: a panel takes the keyboard
  // focus from the page, and a later test's key presses went to it (test/keyboard.test.ts
  // failed in Firefox after test/files.test.ts had saved files, in the full run only).
  const downloads = {
    'browser.download.folderList': 2,
    'browser.download.dir': join(userDataDir, 'downloads'),
    'browser.download.useDownloadDir': true,
    'browser.download.alwaysOpenPanel': false,
    'browser.download.panel.shown': true,
    'browser.download.manager.showWhenStarting': false,
    'browser.download.start_downloads_in_tmp_dir': true,
  };
  return { browser: 'firefox', executablePath, headless: true, extraPrefsFirefox: { ...FIREFOX_PREFS, ...downloads }, userDataDir };
}

function firstExisting(paths) {
  return paths.find((path) => path && existsSync(path));
}

/** Playwright `launchOptions` for Chromium; throws a clear error when there is none. */
export function chromiumLaunchOptions() {
  const own = chromium.executablePath();
  if (!process.env.CHROMIUM_PATH && own && existsSync(own)) return { args: CHROMIUM_ARGS };
  const system = firstExisting([process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']);
  if (system) return { executablePath: system, args: CHROMIUM_ARGS };
  throw new Error(
    "No Chromium found: install Playwright's (npx playwright install chromium) or the system's (apt-get install chromium), or set CHROMIUM_PATH.",
  );
}

/**
 * How to drive Firefox: Playwright's patched Firefox when installed, else the system
 * Firefox (ESR) through Puppeteer's WebDriver BiDi. Returns null when there is none.
 */
export function firefoxChoice() {
  const own = firefox.executablePath();
  if (!process.env.FIREFOX_PATH && own && existsSync(own)) return { kind: 'playwright' };
  const system = firstExisting([process.env.FIREFOX_PATH, '/usr/bin/firefox-esr', '/usr/bin/firefox']);
  return system ? { kind: 'puppeteer', executablePath: system } : null;
}

/**
 * Launches Chromium or Firefox as the tests drive them: Playwright's own where installed,
 * else the system's (Firefox ESR through Puppeteer's WebDriver BiDi, loaded only then).
 */
export async function launchBrowser(product) {
  if (product === 'chromium') return chromium.launch(chromiumLaunchOptions());
  const choice = firefoxChoice();
  if (!choice) throw new Error('No Firefox found: apt-get install firefox-esr, or set FIREFOX_PATH.');
  if (choice.kind === 'playwright') return firefox.launch({ firefoxUserPrefs: FIREFOX_PREFS });
  const { default: puppeteer } = await import('puppeteer');
  return puppeteer.launch(puppeteerFirefoxOptions(choice.executablePath));
}
