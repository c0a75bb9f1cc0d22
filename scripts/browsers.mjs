// Which browser binaries to drive: Playwright's own where installed (a developer
// laptop), the system's otherwise (Debian's `chromium` here and on CI).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Flags the system Chromium needs as root in a box with no outside network. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Playwright `launchOptions` for Chromium; throws a clear error when there is none. */
export function chromiumLaunchOptions() {
  const own = chromium.executablePath();
  if (!process.env.CHROMIUM_PATH && own && existsSync(own)) return { args: CHROMIUM_ARGS };
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (candidate && existsSync(candidate)) return { executablePath: candidate, args: CHROMIUM_ARGS };
  }
  throw new Error(
    "No Chromium found: install Playwright's (npx playwright install chromium) or the system's (apt-get install chromium), or set CHROMIUM_PATH.",
  );
}
