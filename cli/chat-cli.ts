/**
 * `p2p-chat-cli`: a terminal peer. The same Mesh as the browser components, driven by a
 * Node WebRTC implementation (@roamhq/wrtc) and the `ws` WebSocket: lines typed on stdin
 * are sent to the room, messages from the room are printed with the sender's name.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { saveFile } from './save-file.js';
import { WebSocket } from 'ws';
import { Mesh, type SocketConstructor } from '../client/mesh.js';
import type { PeerConnectionConstructor } from '../client/peer-link.js';
import { terminalMessage, terminalSafe } from './terminal-text.js';
import { lookAlikes, safeName } from '../client/display-name.js';

export const HELP = `Usage: p2p-chat-cli [options]

Chat from a terminal with the browsers of a p2p-chat room. Messages travel peer to peer
over WebRTC data channels (the signaling server only introduces the peers).

Options:
  --server <url>   signaling server (default ws://localhost:8080); several URLs separated
                   by spaces ("ws://a:8080 ws://b:8080", processes sharing rooms through
                   Redis): one at random, the next whenever the connection fails
  --room <name>    room to join (default lobby)
  --name <name>    your display name (default: the server's guest-xxxx)
  --download-dir <dir>
                   accept files peers send and save them there once verified (safe names,
                   never overwriting); without it, offered files are declined
  -h, --help       show this help

Type a line and press Enter to send it; Ctrl+D or Ctrl+C leaves. Commands:
  /verify <name>   compare safety codes with a peer (read the code to them by voice or
                   in person: the same digits on both screens mean nobody is in between)
  /match <name>    the codes were the same (the peer's key is remembered for this run)
  /nomatch <name>  they were not: someone may be in the middle
  /send <path>     send a file to everyone in the room (peer to peer, verified block by block)
  /nick <name>     take a new name without leaving (the peers see "old is now new")
`;

async function loadWebRTC(): Promise<PeerConnectionConstructor | null> {
  try {
    const wrtc = (await import('@roamhq/wrtc')) as unknown as {
      default?: { RTCPeerConnection: PeerConnectionConstructor };
      RTCPeerConnection?: PeerConnectionConstructor;
    };
    return wrtc.default?.RTCPeerConnection ?? wrtc.RTCPeerConnection ?? null;
  } catch {
    return null;
  }
}

const time = (at: number) => new Date(at).toTimeString().slice(0, 5);

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        server: { type: 'string' },
        room: { type: 'string' },
        name: { type: 'string' },
        'download-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`p2p-chat-cli: ${(error as Error).message}\nTry --help.\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const PeerConnection = await loadWebRTC();
  if (!PeerConnection) {
    process.stderr.write('p2p-chat-cli: no WebRTC for Node found: install @roamhq/wrtc (npm install @roamhq/wrtc).\n');
    process.exitCode = 1;
    return;
  }
  const mesh = new Mesh({
    server: values.server ?? 'ws://localhost:8080',
    room: values.room ?? 'lobby',
    ...(values.name ? { name: values.name } : {}),
    WebSocket: WebSocket as unknown as SocketConstructor,
    RTCPeerConnection: PeerConnection,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const names = new Map<string, string>();
  mesh.addEventListener('welcome', (e) =>
    say(`* joined room "${e.detail.room}" as ${mesh.displayName ?? 'guest'} (${e.detail.id}); ${e.detail.peers.length} other peer(s) here`),
  );
  /** A peer's name as shown: invisible characters removed, and its id beside it when another name looks the same. */
  const shown = (id: string, name = names.get(id) ?? id) => {
    const alike = lookAlikes(
      [...names].map(([peerId, peerName]) => ({ id: peerId, name: peerName })),
      mesh.displayName,
    );
    return terminalSafe(safeName(name)) + (alike.has(id) ? ` (#${id.slice(0, 4)})` : '');
  };
  mesh.addEventListener('peer-join', (e) => {
    names.set(e.detail.id, e.detail.name);
    say(`* ${shown(e.detail.id)} is here`);
  });
  mesh.addEventListener('peer-leave', (e) => say(`* ${shown(e.detail.id)} left`));
  mesh.addEventListener('channel-open', (e) => say(`* direct (peer-to-peer) channel to ${shown(e.detail.id)} open`));
  mesh.addEventListener('message', (e) => {
    const { from, name, at, text } = e.detail;
    say(terminalMessage(`[${time(at)}] ${shown(from, name)}${e.detail.private ? ' (private)' : ''}: `, text));
  });
  mesh.addEventListener('history', (e) => {
    say(`* ${e.detail.messages.length} earlier message(s), passed on by the peers who were here:`);
    for (const { from, name, at, text, via } of e.detail.messages)
      say(terminalMessage(`[${time(at)}] ${shown(from, name)} (earlier, via ${shown(via ?? '')}): `, text));
  });
  mesh.addEventListener('error', (e) => process.stderr.write(`! ${e.detail.code}: ${terminalSafe(e.detail.message)}\n`));
  mesh.connect();

  mesh.addEventListener('verify-code', (e) => {
    const who = shown(e.detail.id);
    say(
      e.detail.startedByPeer
        ? `* ${who} asks to compare safety codes: ${e.detail.code} (then /match ${who} or /nomatch ${who})`
        : `* safety code with ${who}: ${e.detail.code} (compare it with ${who}, then /match ${who} or /nomatch ${who})`,
    );
  });
  mesh.addEventListener('peer-identity', (e) => {
    const { status: said, verifiedAs, looksLike } = e.detail;
    const status =
      said === 'changed'
        ? '⚠ CHANGED: someone may be in the middle'
        : said === 'missing'
          ? '⚠ MISSING: verified before, no proof on this connection'
          : said === 'verified' && verifiedAs
            ? `verified as ${terminalSafe(verifiedAs)}`
            : looksLike
              ? `${said}; ⚠ looks like ${terminalSafe(looksLike)}, whom you verified`
              : said;
    say(`* identity key of ${shown(e.detail.id)}: ${e.detail.key} (${status})`);
  });
  mesh.addEventListener('peer-rename', (e) => {
    const before = shown(e.detail.id);
    names.set(e.detail.id, e.detail.name);
    say(`* ${before} is now ${shown(e.detail.id)}`);
  });
  mesh.addEventListener('peer-verify', (e) => say(`* ${shown(e.detail.id)}: codes ${e.detail.match ? 'match: verified' : 'DO NOT match'}`));

  const downloadDir = values['download-dir'];
  if (downloadDir !== undefined && !(await stat(downloadDir).catch(() => null))?.isDirectory()) {
    process.stderr.write(`p2p-chat-cli: --download-dir ${terminalSafe(downloadDir)} is not a directory.\n`);
    mesh.close();
    process.exitCode = 2;
    return;
  }
  mesh.addEventListener('file-offer', (e) => {
    const { id, peer, name, size } = e.detail;
    if (downloadDir === undefined) {
      mesh.declineFile(id);
      say(`* ${shown(peer)} offers ${terminalSafe(name)} (${size} bytes): declined (start with --download-dir to receive files)`);
      return;
    }
    say(`* receiving ${terminalSafe(name)} (${size} bytes) from ${shown(peer)}`);
    if (!e.detail.autoAccept) mesh.acceptFile(id);
  });
  mesh.addEventListener('file-complete', (e) => {
    const { file, name, peer, size } = e.detail;
    if (!file) {
      say(`* ${terminalSafe(name)} reached ${shown(peer)}: verified`);
      return;
    }
    void saveFile(downloadDir!, name, file).then(
      (path) => say(`* saved ${terminalSafe(path)} (${size} bytes from ${shown(peer)}, every block verified)`),
      (error: Error) => process.stderr.write(`! could not save ${terminalSafe(name)}: ${terminalSafe(error.message)}\n`),
    );
  });
  mesh.addEventListener('file-error', (e) => process.stderr.write(`! ${e.detail.code}: ${terminalSafe(e.detail.message)}\n`));
  const sendFile = async (path: string) => {
    let file: Blob;
    try {
      // A Blob backed by the file: read a block at a time as it goes out, never whole.
      file = await openAsBlob(path);
    } catch (error) {
      process.stderr.write(`! cannot read ${terminalSafe(path)}: ${terminalSafe((error as Error).message)}\n`);
      return;
    }
    const ids = await mesh.sendFile(file, { name: basename(path) });
    say(`* offered ${terminalSafe(basename(path))} (${file.size} bytes) to ${ids.length} peer(s)`);
  };

  /** A peer by name, or by id (or the start of one). */
  const peerCalled = (who: string): string | null => {
    const matches = mesh.peers.filter((p) => p.name === who || p.id === who || (who.length >= 4 && p.id.startsWith(who)));
    if (matches.length === 1) return matches[0]!.id;
    process.stderr.write(matches.length === 0 ? `! no peer called "${terminalSafe(who)}"\n` : `! "${terminalSafe(who)}" is ambiguous: use its id\n`);
    return null;
  };
  const command = (line: string): boolean => {
    const nick = /^\/nick\s+(.+)$/.exec(line.trim());
    if (nick) {
      if (mesh.rename(nick[1]!)) say(`* you are now ${terminalSafe(nick[1]!.trim())}`);
      else if (mesh.status === 'joined') process.stderr.write('! not renamed: the server is older (protocol version 8 renames), or the name was refused\n');
      else process.stderr.write('! not renamed: not joined\n');
      return true;
    }
    const send = /^\/send\s+(.+)$/.exec(line.trim());
    if (send) {
      void sendFile(send[1]!.trim());
      return true;
    }
    const match = /^\/(verify|match|nomatch)\s+(.+)$/.exec(line.trim());
    if (!match) return false;
    const id = peerCalled(match[2]!.trim());
    if (id === null) return true;
    if (match[1] === 'verify') {
      void mesh.verify(id).then((outcome) => {
        if (!outcome.ok) process.stderr.write(`! cannot compare codes: ${terminalSafe(outcome.reason)}\n`);
      });
    } else if (!mesh.confirmVerification(id, match[1] === 'match')) process.stderr.write('! no code compared with that peer yet: /verify first\n');
    return true;
  };

  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (line.trim() === '' || command(line)) return;
    const result = mesh.send(line);
    if (result.error && result.error !== 'not-connected') process.stderr.write(`! not sent: ${result.error}\n`);
  });
  const leave = () => {
    mesh.close();
    input.close();
    // Give the close frames a moment, then go.
    setTimeout(() => process.exit(0), 200).unref();
  };
  input.on('close', leave);
  process.once('SIGINT', leave);
  process.once('SIGTERM', leave);
}
