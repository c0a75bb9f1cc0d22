// TEST FIXTURE, never shipped: a malicious signaling server that performs a real man in
// the middle on the first two peers of a room. It speaks our protocol, but when the first
// peer offers to the second it answers that offer itself with a WebRTC endpoint of its own
// (@roamhq/wrtc, the Node stack of the terminal client) and makes its own offer to the
// second peer, so each browser holds a DTLS connection to the server instead of to the
// other. It forwards everything on the data channels between the two legs (chat, pings,
// safety-code messages) and keeps what it reads, so a test can show the attack works
// and that safety codes expose it.
import { WebSocketServer } from 'ws';
import { join, leaveOnClose, token } from './fixture-members.mjs';

export async function startMitmServer() {
  const { default: wrtc } = await import('@roamhq/wrtc');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  /** What it read on the data channels: `{ from, text }` of every chat message. */
  const captured = [];
  const members = []; // { socket, id, name }
  const legs = []; // the RTCPeerConnections it made

  const send = (member, message) => member.socket.readyState === 1 && member.socket.send(JSON.stringify(message));

  /** One leg: a connection between the server and `victim`, impersonating `posingAs`. */
  function leg(victim, posingAs) {
    const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    legs.push(pc);
    // Our candidates go out only after the description they belong to: a browser drops a
    // candidate from a peer it has no connection to yet (before the offer).
    let described = false;
    const held = [];
    const sendCandidate = (candidate) => send(victim, { type: 'candidate', from: posingAs.id, candidate });
    pc.onicecandidate = ({ candidate }) => {
      const wire = candidate ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex } : null;
      if (described) sendCandidate(wire);
      else held.push(wire);
    };
    let ready = Promise.resolve();
    return {
      pc,
      /** Sends our description to the victim, then the candidates that waited for it. */
      describe(type) {
        send(victim, { type, from: posingAs.id, sdp: pc.localDescription.sdp });
        described = true;
        for (const candidate of held.splice(0)) sendCandidate(candidate);
      },
      /** Runs signaling steps in order (an added candidate waits for the description). */
      then: (step) => (ready = ready.then(step).catch(() => {})),
    };
  }

  /**
   * One end of the chat channel, made before its channel exists: what the other leg
   * forwards waits in its queue until the channel is open and its peer listens.
   */
  function end(from) {
    const state = { dc: null, listening: false, queue: [], other: null };
    const flush = () => {
      while (state.dc && state.listening && state.dc.readyState === 'open' && state.queue.length > 0) state.dc.send(state.queue.shift());
    };
    state.deliver = (text) => {
      state.queue.push(text);
      flush();
    };
    state.attach = (dc, created) => {
      state.dc = dc;
      state.listening = !created;
      const opened = () => {
        // The side that received the channel says it listens (our protocol's `ready`).
        if (!created) dc.send(JSON.stringify({ type: 'ready' }));
        flush();
      };
      if (dc.readyState === 'open') opened();
      else dc.onopen = opened;
      dc.onmessage = ({ data }) => {
        const text = String(data);
        let message = null;
        try {
          message = JSON.parse(text);
        } catch {
          /* forwarded as it is */
        }
        if (message?.type === 'ready') {
          state.listening = true;
          flush();
          return;
        }
        if (message?.type === 'chat') captured.push({ from: from.name, text: message.text });
        state.other.deliver(text);
      };
    };
    return state;
  }

  let intercept = null;
  wss.on('connection', (socket) => {
    const member = { socket, id: token(9), name: '' };
    socket.on('message', async (raw) => {
      const message = JSON.parse(String(raw));
      if (message.type === 'new-peer') {
        join(members, member, message, send, 4);
        return;
      }
      const to = members.find((m) => m.id === message.to);
      if (!to) return;
      if (message.type === 'relay') {
        captured.push({ from: member.name, text: message.message?.text });
        send(to, { type: 'relay', from: member.id, message: message.message });
        return;
      }
      if (message.type === 'offer' && !intercept) {
        // The first offer (A to B): two legs instead of one connection.
        const a = member;
        const b = to;
        const legA = leg(a, b);
        const legB = leg(b, a);
        const endA = end(a);
        const endB = end(b);
        endA.other = endB;
        endB.other = endA;
        intercept = { a, b, legA, legB };
        endB.attach(legB.pc.createDataChannel('chat'), true);
        legA.pc.ondatachannel = ({ channel: dc }) => endA.attach(dc, false);
        legA.then(async () => {
          await legA.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
          const answer = await legA.pc.createAnswer();
          await legA.pc.setLocalDescription(answer);
          legA.describe('answer');
        });
        legB.then(async () => {
          const offer = await legB.pc.createOffer();
          await legB.pc.setLocalDescription(offer);
          legB.describe('offer');
        });
        return;
      }
      if (intercept && (message.type === 'candidate' || message.type === 'answer' || message.type === 'offer')) {
        const target = member === intercept.a ? intercept.legA : member === intercept.b ? intercept.legB : null;
        if (!target) return;
        if (message.type === 'answer') target.then(() => target.pc.setRemoteDescription({ type: 'answer', sdp: message.sdp }));
        else if (message.type === 'offer')
          // A later offer on a leg (an ICE restart when the first checks were slow): answered on that leg.
          target.then(async () => {
            await target.pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
            await target.pc.setLocalDescription(await target.pc.createAnswer());
            target.describe('answer');
          });
        else if (message.candidate) target.then(() => target.pc.addIceCandidate(message.candidate));
        return;
      }
      // Anything else (a bye, another pair's signals) goes on, stamped as the server does.
      send(to, { ...message, to: undefined, from: member.id });
    });
    leaveOnClose(socket, members, member, send);
  });

  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    captured,
    /** The DTLS fingerprints of the server's own two legs (what each victim sees as its peer's). */
    fingerprints: () =>
      legs.map(
        (pc) =>
          /^a=fingerprint:(\S+) (\S+)/m
            .exec(pc.localDescription?.sdp ?? '')
            ?.slice(1)
            .join(' ') ?? null,
      ),
    async close() {
      for (const pc of legs) pc.close();
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
