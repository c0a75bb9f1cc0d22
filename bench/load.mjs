// Load generator, in its own process so its CPU is not the server's.
//   node load.mjs idle  <p2p|raw|peerjs> <ws-url> <count> [first-index]
//   node load.mjs relay <p2p|raw> <ws-url> <pairs> <seconds> <in-flight>
// <ws-url> may list several servers separated by commas (processes of one cluster):
// client i goes to the (i mod n)-th, so the two clients of a pair are on different ones.
// Prints JSON lines: {"event":"ready",...}, {"event":"window-start"}, {"event":"done",...}.
import { WebSocket } from 'ws';
import { createInterface } from 'node:readline';

const [mode, kind, urlList, ...rest] = process.argv.slice(2);
const urls = urlList.split(',');
/** Time from new-peer to welcome of every client that joined (ms). */
const joinMs = [];
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
// Spread clients over many loopback source addresses (the server limits connections per IP).
const source = (i) => `127.0.${1 + (Math.floor(i / 200) % 200)}.${1 + (i % 200)}`;

function open(i, path = '') {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${urls[i % urls.length]}${path}`, { localAddress: source(i), perMessageDeflate: false, handshakeTimeout: 3000 });
    socket.once('open', () => resolve(socket));
    socket.once('error', () => resolve(null));
    socket.once('unexpected-response', () => resolve(null));
  });
}

function firstMessage(socket) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 3000);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString()));
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

async function join(i, room) {
  if (kind === 'peerjs') {
    const socket = await open(i, `/peerjs?key=peerjs&id=bench${i}&token=t${i}`);
    if (!socket) return null;
    const first = await firstMessage(socket);
    return first?.type === 'OPEN' ? { socket, id: `bench${i}` } : null;
  }
  const socket = await open(i);
  if (!socket) return null;
  const welcome = firstMessage(socket);
  const sentAt = performance.now();
  socket.send(JSON.stringify({ type: 'new-peer', room, name: `c${i}` }));
  const message = await welcome;
  if (message?.type !== 'welcome') return null;
  joinMs.push(performance.now() - sentAt);
  return { socket, id: message.id };
}

/**
 * Opens clients batch by batch; stops early once two whole batches were refused, or after
 * 45 s per 10,000 (a server that stalls new connections instead of refusing them: bounded anyway).
 */
async function inBatches(count, size, make) {
  const out = [];
  let refusedBatches = 0;
  const deadline = performance.now() + 45_000 * Math.max(1, count / 10_000);
  for (let start = 0; start < count; start += size) {
    if (performance.now() > deadline) {
      out.push(...Array.from({ length: count - out.length }, () => null));
      break;
    }
    const batch = await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => make(start + k)));
    out.push(...batch);
    refusedBatches = batch.some(Boolean) ? 0 : refusedBatches + 1;
    if (refusedBatches >= 2) {
      out.push(...Array.from({ length: count - out.length }, () => null));
      break;
    }
  }
  return out;
}

if (mode === 'idle') {
  // first-index: several generators share one run (a process holds at most `ulimit -n`
  // sockets, 20,000 here), each with its own clients, addresses and rooms.
  const [count, first = 0] = rest.map(Number);
  const clients = await inBatches(count, 200, (k) => join(first + k, `room-${Math.floor((first + k) / 10)}`));
  const held = clients.filter(Boolean);
  const sorted = [...joinMs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
  say({
    event: 'ready',
    held: held.length,
    refused: count - held.length,
    joinP50Ms: at(0.5),
    joinP99Ms: at(0.99),
    joinMs: sorted.map((ms) => Math.round(ms * 10) / 10),
  });
  createInterface({ input: process.stdin }).once('line', () => {
    for (const client of held) client.socket.terminate();
    say({ event: 'done' });
    setTimeout(() => process.exit(0), 100);
  });
} else if (mode === 'relay') {
  const [pairs, seconds, inFlight] = rest.map(Number);
  const sdp = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n${'a=candidate-or-attribute-line-of-a-typical-offer\r\n'.repeat(30)}`;
  const candidate = { candidate: 'candidate:1 1 udp 2122260223 198.18.0.1 54321 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0 };
  const clients = await inBatches(pairs * 2, 100, (i) => join(i, `pair-${Math.floor(i / 2)}`));
  let counting = false;
  let received = 0;
  for (let p = 0; p < pairs; p++) {
    const [a, b] = [clients[2 * p], clients[2 * p + 1]];
    if (!a || !b) throw new Error('a relay client could not join');
    for (const [self, other] of [
      [a, b],
      [b, a],
    ]) {
      let n = 0;
      const frame = () => JSON.stringify(n++ % 2 ? { type: 'candidate', to: other.id, candidate } : { type: 'offer', to: other.id, sdp });
      self.socket.on('message', () => {
        if (counting) received++;
        self.socket.send(frame());
      });
      for (let k = 0; k < inFlight; k++) self.socket.send(frame());
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
  say({ event: 'window-start' });
  counting = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  say({ event: 'window-end', messages: received, seconds: elapsed });
  for (const client of clients) client.socket.terminate();
  setTimeout(() => process.exit(0), 100);
}
