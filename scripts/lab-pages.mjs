// The pages the NAT lab's browsers load (test/node/nat-lab.test.ts, bench/nat-connect.mjs),
// served over plain HTTP from the lab's public segment: the drop-in build with its test
// page (and the chunks it loads when needed), and the bench's library-free floor page.
// Nothing else is served.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const FILES = {
  '/test/fixtures/drop-in.html': 'text/html',
  '/test/fixtures/chat-from-params.js': 'text/javascript',
  '/dist/p2p-chat.js': 'text/javascript',
  '/bench/pages/floor.html': 'text/html',
  '/bench/pages/floor.js': 'text/javascript',
};

/** Listens on a free port of `host`; resolves with the server once it listens. */
export function serveLabPages(host) {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    // The drop-in's sibling chunks (dist/chunks/<name>.js), nothing above or beside them.
    const type = FILES[path] ?? (/^\/dist\/chunks\/[\w.-]+\.js$/.test(path) ? 'text/javascript' : undefined);
    if (!type) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': type }).end(readFileSync(`${root}${path.slice(1)}`));
  });
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}
