import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSignalingServer } from './signaling-server.js';
import { TestClient } from './test-client.js';

test('attaches to an HTTP server of your own (which keeps serving its pages) and leaves it running on close', async () => {
  const http = createServer((_request, response) => response.end('my page'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const signaling = await createSignalingServer({ server: http });
  try {
    const port = (http.address() as AddressInfo).port;
    assert.equal(signaling.url, `ws://127.0.0.1:${port}`);
    const a = await TestClient.join(signaling.url, 'attached', 'a');
    const b = await TestClient.join(signaling.url, 'attached', 'b');
    assert.equal((await a.client.next('new-peer')).id, b.welcome.id);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'my page');
    await signaling.close();
    assert.equal((await a.client.waitClosed()).code, 1001);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'my page', 'still serving');
  } finally {
    await signaling.close();
    await new Promise((resolve) => http.close(resolve));
  }
});

test('noServer: upgrade requests handed over by hand (e.g. only on one path)', async () => {
  const signaling = await createSignalingServer({ noServer: true });
  const http = createServer();
  http.on('upgrade', (request, socket, head) => {
    if (request.url === '/signal') signaling.handleUpgrade(request, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  try {
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    assert.equal(signaling.url, '');
    const joined = await TestClient.join(`${url}/signal`, 'manual', 'a');
    assert.match(joined.welcome.id, /^[A-Za-z0-9_-]+$/);
    await assert.rejects(TestClient.open(`${url}/other`));
    joined.client.close();
  } finally {
    await signaling.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }
});
