// The browser-side floor: the fewest steps that open a data channel per peer through
// the same signaling server (the reference design's flow): no validation, no recovery,
// 40 lines in one small classic script, loaded the way a page loads any library. No
// library can connect much faster than this: its times are the platform's (page
// start-up, one script fetch, WebSocket, ICE, DTLS, SCTP).
const params = new URLSearchParams(location.search);
const now = () => performance.timeOrigin + performance.now();
const bench = (window.bench = { lib: 'floor', navigationStart: performance.timeOrigin, joinAt: now(), opened: [], received: 0 });
// When each step happened first (epoch ms), for the phase breakdown of bench/run.mjs.
bench.steps = { script: now() };
const step = (name) => (bench.steps[name] ??= now());
const socket = new WebSocket(params.get('server'));
const send = (message) => {
  step(`out ${message.type}`);
  socket.send(JSON.stringify(message));
};
const links = new Map();
// The STUN/TURN servers the signaling server hands out (none on the plain bench; the NAT
// lab's coturn with minted credentials in bench/nat-connect.mjs).
let iceServers = [];
function link(id, offerer) {
  const pc = new RTCPeerConnection({ iceServers });
  const entry = { pc, queued: [] };
  links.set(id, entry);
  pc.onicecandidate = (event) => event.candidate && send({ type: 'candidate', to: id, candidate: event.candidate.toJSON() });
  const track = (channel) => {
    chats.push(channel);
    channel.onopen = () => bench.opened.push({ id, at: now() });
  };
  pc.ondatachannel = (event) => (event.channel.label === 'file' ? receiveFile(event.channel) : track(event.channel));
  if (offerer) {
    track(pc.createDataChannel('chat'));
    pc.setLocalDescription().then(() => send({ type: 'offer', to: id, sdp: pc.localDescription.sdp }));
  }
  return entry;
}
// Chat round trips on the chat channel (bench/files.mjs: during a file, beside p2p-chat's).
const chats = [];
let onChat = null;
bench.echo = () => {
  for (const channel of chats) channel.onmessage = (event) => event.data.startsWith('ping') && channel.send(`pong${event.data.slice(4)}`);
};
bench.rtt = async (count) => {
  const channel = chats[0];
  channel.onmessage = (event) => onChat?.(event.data);
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await new Promise((resolve) => {
      onChat = (text) => text === `pong${i}` && resolve();
      channel.send(`ping${i}`);
    });
    times.push(performance.now() - start);
  }
  return times;
};
// Files by hand (bench/files.mjs): a data channel per file, its size first, then 64 KiB
// chunks held between the same water marks as p2p-chat's (1 MiB / 256 KiB); no hashing.
bench.files = [];
function receiveFile(channel) {
  channel.binaryType = 'arraybuffer';
  let size = -1;
  let got = 0;
  channel.onmessage = (event) => {
    if (typeof event.data === 'string') size = Number(event.data);
    else if ((got += event.data.byteLength) === size) bench.files.push({ at: now(), size });
  };
}
async function sendFileOn(channel, size, chunk) {
  channel.binaryType = 'arraybuffer';
  await new Promise((resolve) => (channel.onopen = resolve));
  channel.bufferedAmountLowThreshold = 64 * 1024;
  channel.send(String(size));
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (channel.bufferedAmount > 256 * 1024) await new Promise((resolve) => (channel.onbufferedamountlow = resolve));
    channel.send(sent + chunk.length <= size ? chunk : chunk.subarray(0, size - sent));
  }
}
bench.sendFile = async (size) => {
  const chunk = crypto.getRandomValues(new Uint8Array(65536));
  const start = now();
  for (const { pc } of links.values()) void sendFileOn(pc.createDataChannel('file'), size, chunk);
  return start;
};
socket.onopen = () => send({ type: 'new-peer', room: params.get('room') });
socket.onmessage = async (event) => {
  const message = JSON.parse(event.data);
  step(`in ${message.type}`);
  if (message.type === 'welcome') step('joined');
  if (message.type === 'welcome') iceServers = message.iceServers ?? [];
  if (message.type === 'new-peer') link(message.id, true);
  if (message.type === 'offer' || message.type === 'answer') {
    const { pc, queued } = links.get(message.from) ?? link(message.from, false);
    await pc.setRemoteDescription({ type: message.type, sdp: message.sdp });
    for (const candidate of queued.splice(0)) pc.addIceCandidate(candidate);
    if (message.type === 'offer') {
      await pc.setLocalDescription();
      send({ type: 'answer', to: message.from, sdp: pc.localDescription.sdp });
    }
  }
  if (message.type === 'candidate' && message.candidate) {
    const { pc, queued } = links.get(message.from) ?? link(message.from, false);
    if (pc.remoteDescription) pc.addIceCandidate(message.candidate);
    else queued.push(message.candidate);
  }
};
