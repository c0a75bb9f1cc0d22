// A TCP port that is free on 127.0.0.1 right now (for servers started on a fixed port).
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
