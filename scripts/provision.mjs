// `npm test`'s first step: makes sure the browsers the tests drive are here, fast when
// they are. What is missing is installed where that can work: Debian's packages when run
// as root on Debian/Ubuntu (as on CI), Playwright's own browsers otherwise (where their
// download is reachable). Anything else stops the run at once, naming the command to run,
// instead of failing (or hanging) later in the middle of the tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromiumLaunchOptions, firefoxChoice } from './browsers.mjs';
import { webkitGtkAvailable } from './webkit-driver.mjs';
import { webkit } from 'playwright-core';

const wanted = (process.env.P2P_BROWSERS ?? 'chromium,firefox,webkit')
  .split(',')
  .map((b) => b.trim().toLowerCase())
  .filter(Boolean);

function hasChromium() {
  try {
    chromiumLaunchOptions();
    return true;
  } catch {
    return false;
  }
}
const hasWebKit = () => {
  const own = webkit.executablePath();
  return (own && existsSync(own)) || webkitGtkAvailable();
};

/** What each browser needs: Debian packages, Playwright's name, how to tell it is there. */
const BROWSERS = {
  chromium: { debian: ['chromium'], playwright: 'chromium', present: hasChromium },
  firefox: { debian: ['firefox-esr'], playwright: 'firefox', present: () => firefoxChoice() !== null },
  webkit: { debian: ['webkit2gtk-driver', 'xvfb'], playwright: 'webkit', present: hasWebKit },
};

const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
const say = (line) => process.stderr.write(`provision: ${line}\n`);
const hasCommand = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

// The servers the tests run for real besides the browsers: Redis (the cluster tests).
const SERVERS = [{ command: 'redis-server', debian: 'redis-server' }];
const lackingServers = () => SERVERS.filter((server) => !hasCommand(server.command));
if (lackingServers().length > 0 && isRoot && hasApt) {
  const names = lackingServers().map((server) => server.debian);
  say(`installing ${names.join(' ')} from the system's packages`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 10 * 60_000 });
  spawnSync('apt-get', ['install', '-y', '-qq', ...names], { stdio: 'inherit', env, timeout: 10 * 60_000 });
}
if (lackingServers().length > 0) {
  const names = lackingServers().map((server) => server.debian);
  say(`missing: ${names.join(', ')} (the cluster tests start a real one). Install it with:`);
  say(`  sudo apt-get install ${names.join(' ')}   (Debian/Ubuntu; elsewhere your system's redis package)`);
  process.exit(1);
}

const missing = () => wanted.filter((name) => BROWSERS[name] && !BROWSERS[name].present());
let lacking = missing();
if (lacking.length === 0) process.exit(0);

const packages = [...new Set(lacking.flatMap((name) => BROWSERS[name].debian))];

if (isRoot && hasApt) {
  say(`installing ${packages.join(' ')} from the system's packages`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env, timeout: 15 * 60_000 }).status === 0;
  if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', ...packages])) say('apt-get failed');
} else {
  const names = lacking.map((name) => BROWSERS[name].playwright);
  say(`trying Playwright's own browsers: npx playwright install ${names.join(' ')}`);
  // Its download may be unreachable (a closed network): a bounded try, not a hang.
  spawnSync('npx', ['--yes', 'playwright-core', 'install', ...names], { stdio: 'inherit', timeout: 5 * 60_000 });
}

lacking = missing();
if (lacking.length > 0) {
  say(`still missing: ${lacking.join(', ')}. Install them with one of:`);
  say(`  sudo apt-get install ${[...new Set(lacking.flatMap((name) => BROWSERS[name].debian))].join(' ')}   (Debian/Ubuntu)`);
  say(`  npx playwright install ${lacking.map((name) => BROWSERS[name].playwright).join(' ')}`);
  say(`or leave them out: P2P_BROWSERS=${wanted.filter((name) => !lacking.includes(name)).join(',') || 'chromium'} npm test`);
  process.exit(1);
}
