// The terminal client (bin/p2p-chat-cli.js) as a child process that browser tests drive
// through the server command "cli-peer": start it, type lines into it, read what it printed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/p2p-chat-cli.js', import.meta.url));
const peers = new Map();
let nextId = 0;

export async function cliPeerCommand(payload) {
  switch (payload?.action) {
    case 'start': {
      const child = spawn(process.execPath, [BIN, '--server', payload.server, '--room', payload.room, '--name', payload.name], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const peer = { child, stdout: '', stderr: '' };
      child.stdout.on('data', (chunk) => (peer.stdout += chunk));
      child.stderr.on('data', (chunk) => (peer.stderr += chunk));
      const id = String(++nextId);
      peers.set(id, peer);
      return { id };
    }
    case 'type': {
      peers.get(payload.id)?.child.stdin.write(`${payload.line}\n`);
      return true;
    }
    case 'output': {
      const peer = peers.get(payload.id);
      return peer ? { stdout: peer.stdout, stderr: peer.stderr, exitCode: peer.child.exitCode } : null;
    }
    case 'stop': {
      for (const peer of peers.values()) peer.child.kill('SIGTERM');
      peers.clear();
      return true;
    }
    default:
      throw new Error(`unknown cli-peer action ${payload?.action}`);
  }
}

export function killCliPeers() {
  for (const peer of peers.values()) peer.child.kill('SIGKILL');
  peers.clear();
}
