// TEST FIXTURE, never shipped: a malicious signaling server for pairs on the chat relay
// (one page without WebRTC). It speaks protocol version 5 and keeps every payload it
// relays, so a test can assert on what it could read. `tamper` changes one byte of the
// next sealed message from the peer it names. With `swap: true` it attacks the key exchange itself: it answers
// each side's relay key with a key of its own, opens every sealed message, keeps the
// text and seals it again for the other side (the product's own crypto, from build/).
import { WebSocketServer } from 'ws';
import { join, leaveOnClose, token } from './fixture-members.mjs';
import { deriveRelayKey, newRelayKeyPair, seal, unseal } from '../build/client/relay-crypto.js';

const VERSION = 5;

export async function startRelayAttacker({ swap = false } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  /** Every relayed payload as it came from its sender: `{ from, payload }`; with `swap`, also the opened texts: `{ from, text }`. */
  const captured = [];
  const members = []; // { socket, id, name, webrtc, own?, key? }
  /** The name of the peer whose next sealed message gets a byte changed. */
  let tamperFrom = null;
  let order = Promise.resolve();

  const send = (member, message) => member.socket.readyState === 1 && member.socket.send(JSON.stringify(message));

  /**
   * With `swap`: `from` sent its key to `to`. The attacker keeps it and derives the key it
   * shares with `from` (posing as `to`), and shows `to` a key of its own instead.
   */
  async function swapKeys(from, to, theirKey) {
    from.own ??= await newRelayKeyPair();
    from.aes = await deriveRelayKey(from.own, to.id, theirKey, from.id);
    to.own ??= await newRelayKeyPair();
    return to.own.publicKey;
  }

  async function relay(from, to, payload) {
    captured.push({ from: from.name, payload });
    let out = payload;
    if (swap && payload.type === 'relay-key' && payload.key) {
      out = { type: 'relay-key', key: await swapKeys(from, to, payload.key) };
    } else if (swap && payload.type === 'sealed' && from.aes && to.aes) {
      const text = await unseal(from.aes, payload, from.id, to.id);
      if (text !== null) {
        const opened = JSON.parse(text);
        captured.push({ from: from.name, opened: opened.type, text: opened.text ?? null });
        out = { type: 'sealed', ...(await seal(to.aes, text, from.id, to.id)) };
      }
    }
    if (out.type === 'sealed' && tamperFrom === from.name) {
      tamperFrom = null;
      const k = 3;
      out = { ...out, data: out.data.slice(0, k) + (out.data[k] === 'A' ? 'B' : 'A') + out.data.slice(k + 1) };
    }
    send(to, { type: 'relay', from: from.id, message: out });
  }

  wss.on('connection', (socket) => {
    const member = { socket, id: token(9), name: '', webrtc: true };
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      if (message.type === 'new-peer') {
        join(members, member, message, send, VERSION);
        return;
      }
      const to = members.find((m) => m.id === message.to);
      if (!to) return;
      // One relayed payload at a time, in order (swapping keys is asynchronous).
      if (message.type === 'relay') order = order.then(() => relay(member, to, message.message)).catch(() => {});
      else send(to, { ...message, to: undefined, from: member.id });
    });
    leaveOnClose(socket, members, member, send);
  });

  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    captured,
    tamper(name) {
      tamperFrom = name;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
