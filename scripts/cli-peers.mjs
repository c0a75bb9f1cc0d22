// The terminal client (bin/p2p-chat-cli.js) as a child process that browser tests drive
// through the server command "cli-peer": start it, type lines into it, read what it printed.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/p2p-chat-cli.js', import.meta.url));
const peers = new Map();
let nextId = 0;
/** Scratch directories for files sent and received (removed at stop). */
const scratch = [];
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

export async function cliPeerCommand(payload) {
  switch (payload?.action) {
    case 'start': {
      const args = [BIN, '--server', payload.server, '--room', payload.room, '--name', payload.name];
      // { downloadDir: true }: the client saves files it is sent into a fresh directory.
      const downloadDir = payload.downloadDir ? mkdtempSync(join(tmpdir(), 'p2p-cli-dl-')) : null;
      if (downloadDir) {
        scratch.push(downloadDir);
        args.push('--download-dir', downloadDir);
      }
      const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const peer = { child, stdout: '', stderr: '', downloadDir };
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
    case 'make-file': {
      // A file of random bytes for the client to /send: its path and SHA-256.
      const dir = mkdtempSync(join(tmpdir(), 'p2p-cli-send-'));
      scratch.push(dir);
      const bytes = randomBytes(payload.size);
      const path = join(dir, payload.name);
      writeFileSync(path, bytes);
      return { path, sha256: sha256(bytes) };
    }
    case 'downloads': {
      // What the client saved: name → SHA-256.
      const dir = peers.get(payload.id)?.downloadDir;
      if (!dir) return {};
      return Object.fromEntries(readdirSync(dir).map((name) => [name, sha256(readFileSync(join(dir, name)))]));
    }
    case 'stop': {
      for (const peer of peers.values()) peer.child.kill('SIGTERM');
      peers.clear();
      for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
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
