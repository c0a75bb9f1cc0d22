// TEST FIXTURE, never shipped: a malicious signaling server for pairs on the chat relay
// (one page without WebRTC). It speaks protocol `version` (5 unless told) and keeps every
// payload it relays, so a test can assert on what it could read. `tamper` changes one
// byte of the next sealed message from the peer it names. With `swap: true` it attacks
// the key exchange itself: it answers each side's relay key with a key of its own, opens
// every sealed message, keeps the text and seals it again for the other side (the
// product's own crypto, from build/). Later in a session (issue 31's attacks): `rekey`
// starts that swap on a pair already sealed (and verified), `downgrade` offers a peer an
// empty relay key and then clear chat in the other's name, `inject` seals a line of its
// own once it holds the keys, `replay` sends a peer's last sealed payload again,
// `reintroduce` says a peer left and came back with an older version (`text`), `rename`
// tells the room that a peer took another name, `swap` swaps the keys of the pairs made
// from then on, and `drop-identity` keeps each side's `identity` from the other while it
// reads the pair.
import { WebSocketServer } from 'ws';
import { join, leaveOnClose, token } from './fixture-members.mjs';
import { deriveRelayKey, newRelayKeyPair, seal, unseal } from '../build/client/relay-crypto.js';

export async function startRelayAttacker({ swap = false, version = 5 } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  /** Every relayed payload as it came from its sender: `{ from, payload }`; with `swap`, also the opened texts: `{ from, text }`. */
  const captured = [];
  const members = []; // { socket, id, name, webrtc, own?, key? }
  /** The name of the peer whose next sealed message gets a byte changed. */
  let tamperFrom = null;
  /** While it reads the pair: drop the `identity` each side sends. */
  let dropIdentity = false;
  /** Our own numbering of what we seal for each member (version 9). */
  const numbered = version >= 9;
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

  /** Seals `text` for `to` as if `from` had sent it (once we hold `to`'s side of the pair). */
  async function sealFor(to, from, text) {
    const n = numbered ? (to.sealedN = (to.sealedN ?? 0) + 1) : undefined;
    return { type: 'sealed', ...(await seal(to.aes, text, from.id, to.id, n)), ...(n === undefined ? {} : { n }) };
  }

  async function relay(from, to, payload) {
    captured.push({ from: from.name, payload });
    if (payload.type === 'relay-key' && payload.key) from.key = payload.key;
    if (payload.type === 'sealed') from.lastSealed = payload;
    let out = payload;
    if (swap && payload.type === 'relay-key' && payload.key) {
      out = { type: 'relay-key', key: await swapKeys(from, to, payload.key) };
    } else if (swap && payload.type === 'sealed' && from.aes && to.aes) {
      const text = await unseal(from.aes, payload, from.id, to.id);
      if (text !== null) {
        const opened = JSON.parse(text);
        captured.push({ from: from.name, opened: opened.type, text: opened.text ?? null });
        if (dropIdentity && opened.type === 'identity') return;
        out = await sealFor(to, from, text);
      }
    }
    if (out.type === 'sealed' && tamperFrom === from.name) {
      tamperFrom = null;
      const k = 3;
      out = { ...out, data: out.data.slice(0, k) + (out.data[k] === 'A' ? 'B' : 'A') + out.data.slice(k + 1) };
    }
    send(to, { type: 'relay', from: from.id, message: out });
  }

  /** The two members of the attacked pair, as named. */
  const named = (name) => members.find((m) => m.name === name);
  const otherThan = (member) => members.find((m) => m !== member);

  /** Mid-session: shows each side a key of our own, as if the other had started over; from then on the pair is read and re-sealed. */
  async function rekey() {
    swap = true;
    const [a, b] = members;
    for (const [victim, peer] of [
      [a, b],
      [b, a],
    ]) {
      victim.own = await newRelayKeyPair();
      victim.aes = await deriveRelayKey(victim.own, peer.id, victim.key, victim.id);
      victim.sealedN = 0;
    }
    for (const [victim, peer] of [
      [a, b],
      [b, a],
    ])
      send(victim, { type: 'relay', from: peer.id, message: { type: 'relay-key', key: victim.own.publicKey } });
  }

  async function act({ action, name, text, newName }) {
    const victim = named(name);
    const peer = victim && otherThan(victim);
    if (action === 'rekey') return rekey();
    if (action === 'drop-identity') dropIdentity = true;
    // From now on, every pair's key exchange is swapped (a pair made later is read from its start).
    if (action === 'swap') swap = true;
    if (!victim || !peer) return;
    if (action === 'downgrade') {
      send(victim, { type: 'relay', from: peer.id, message: { type: 'relay-key' } });
      send(victim, { type: 'relay', from: peer.id, message: { type: 'chat', id: token(16), text, at: Date.now(), name: peer.name } });
    } else if (action === 'inject' && victim.aes) {
      const line = JSON.stringify({ type: 'chat', id: token(16), text, at: Date.now(), name: peer.name });
      send(victim, { type: 'relay', from: peer.id, message: await sealFor(victim, peer, line) });
    } else if (action === 'replay' && peer.lastSealed) {
      send(victim, { type: 'relay', from: peer.id, message: peer.lastSealed });
    } else if (action === 'reintroduce') {
      // "It left and came back", announced with an older protocol version.
      for (const other of members) if (other !== victim) send(other, { type: 'peer-disconnected', id: victim.id });
      for (const other of members)
        if (other !== victim)
          send(other, { type: 'new-peer', id: victim.id, name: victim.name, version: text, ...(victim.webrtc === false ? { webrtc: false } : {}) });
    } else if (action === 'rename') {
      // `name` is who is renamed; everyone else hears it.
      victim.name = newName;
      for (const other of members) if (other !== victim) send(other, { type: 'peer-renamed', id: victim.id, name: newName });
    }
  }

  wss.on('connection', (socket) => {
    const member = { socket, id: token(9), name: '', webrtc: true };
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      if (message.type === 'new-peer') {
        join(members, member, message, send, version);
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
    /** One of the attacks above (`{ action, name?, text?, newName? }`), in order with what it relays. */
    act(command) {
      order = order.then(() => act(command)).catch(() => {});
      return order;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
