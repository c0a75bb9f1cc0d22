// What both screenshot scripts (screenshots.mjs, state-screenshots.mjs) start: the dev
// server over the checkout (the demo and the test pages, compiled on the fly) and the
// folder the pictures go to.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { freePort } from './free-port.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const out = `${root}demo/screenshots`;

/** The dev server on a free port of 127.0.0.1 (stop it with `dev.stop()`); `out` exists after. */
export async function startPages() {
  mkdirSync(out, { recursive: true });
  return startDevServer({
    config: { rootDir: root, port: await freePort(), hostname: '127.0.0.1', nodeResolve: true },
    readCliArgs: false,
    readFileConfig: true,
    logStartMessage: false,
    autoExitProcess: false,
  });
}
