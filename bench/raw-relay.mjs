// The practical floor: a raw `ws` relay in 30 lines (parse, look up, send), no validation.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 * 1024 });
const byId = new Map();
let next = 0;
wss.on('connection', (socket) => {
  const id = `c${++next}`;
  byId.set(id, socket);
  socket.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === 'new-peer') return socket.send(JSON.stringify({ type: 'welcome', id }));
    const target = byId.get(message.to);
    if (target) target.send(JSON.stringify({ ...message, from: id, to: undefined }));
  });
  socket.on('close', () => byId.delete(id));
  socket.on('error', () => {});
});
wss.on('listening', () => process.stdout.write(`listening on ws://127.0.0.1:${wss.address().port}\n`));
