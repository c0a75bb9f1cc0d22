// TEST FIXTURES, never shipped: what the hostile signaling servers (mitm-signaling.mjs,
// relay-attacker.mjs) do alike: join a member the way our server does (welcome, then
// new-peer to the others, in protocol `version`), and forget it when its socket closes.
import { randomBytes } from 'node:crypto';

export const token = (n) => randomBytes(n).toString('base64url');
const LIMITS = { maxRoomSize: 10, maxFrameBytes: 65536, maxChatTextLength: 4000, maxNameLength: 40, relay: true };

/** A member's `new-peer`: it gets a welcome listing the others, and they hear of it. */
export function join(members, member, message, send, version) {
  member.name = message.name ?? `guest-${member.id.slice(0, 4)}`;
  member.webrtc = message.webrtc !== false;
  const summary = (m) => ({ id: m.id, name: m.name, version, ...(m.webrtc === false ? { webrtc: false } : {}) });
  const others = members.slice();
  members.push(member);
  send(member, { type: 'welcome', id: member.id, room: message.room, peers: others.map(summary), iceServers: [], limits: LIMITS, resume: token(18), version });
  for (const other of others) send(other, { type: 'new-peer', ...summary(member) });
}

export function leaveOnClose(socket, members, member, send) {
  socket.on('close', () => {
    const index = members.indexOf(member);
    if (index >= 0) members.splice(index, 1);
    for (const other of members) send(other, { type: 'peer-disconnected', id: member.id });
  });
}
