import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, randomBytes, record, sha256Hex, signalingUrl, uniqueRoom, waitUntil } from './helpers.js';

interface Output {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}
const cli = <T>(payload: Record<string, unknown>) => executeServerCommand<T, Record<string, unknown>>('cli-peer', payload);

async function outputUntil(id: string, check: (out: Output) => boolean, what: string, timeoutMs = 15_000): Promise<Output> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const out = (await cli<Output>({ action: 'output', id }))!;
    if (check(out)) return out;
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}; the CLI printed:\n${out.stdout}\n${out.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the terminal client (p2p-chat-cli, a Node peer)', () => {
  let chat: P2pChat | null = null;
  afterEach(async () => {
    chat?.remove();
    chat = null;
    await cli({ action: 'stop' });
  });

  it('chats with a browser both ways over a real data channel', async () => {
    const room = uniqueRoom('cli');
    chat = addChat(room, 'Browser');
    const got = record(chat, 'p2p-message');
    await waitUntil(() => chat!.selfId !== null, 'the browser joined');
    const { id } = (await cli<{ id: string }>({ action: 'start', server: signalingUrl(), room, name: 'bot' }))!;
    await waitUntil(() => chat!.peers.some((p) => p.name === 'bot' && p.state === 'connected'), 'the CLI peer is connected', 20_000);
    // Direct, not relayed: a real RTCPeerConnection to the Node process.
    expect(chat.peers.find((p) => p.name === 'bot')!.transport).to.equal('direct');
    expect(chat.mesh!.connectionCount).to.equal(1);
    expect(chat.mesh!.connectionTo(chat.peers.find((p) => p.name === 'bot')!.id)).to.not.equal(undefined);
    await outputUntil(id, (out) => out.stdout.includes('direct (peer-to-peer) channel to Browser open'), 'the CLI reports the channel');

    chat.send('hello terminal');
    const out = await outputUntil(id, (o) => o.stdout.includes('Browser: hello terminal'), 'the CLI prints the message');
    expect(out.stdout).to.match(/\[\d\d:\d\d\] Browser: hello terminal/);
    await cli({ action: 'type', id, line: 'hello browser, from Node' });
    await waitUntil(() => got.length === 1, 'the browser receives the line');
    expect(got[0]).to.include({ name: 'bot', text: 'hello browser, from Node' });
    // Escape sequences from a peer are shown, not obeyed, in the terminal.
    chat.send('\u001b[2Jcleared?');
    const escaped = await outputUntil(id, (o) => o.stdout.includes('cleared?'), 'the escaped line');
    expect(escaped.stdout).to.contain('\\u001b[2Jcleared?');
    expect(escaped.stdout).to.not.contain('\u001b');
  });

  it('safety codes: the browser and the terminal client show the same code, both ways (/verify, /match)', async () => {
    const room = uniqueRoom('cli-verify');
    chat = addChat(room, 'Browser');
    await waitUntil(() => chat!.selfId !== null, 'the browser joined');
    const { id } = (await cli<{ id: string }>({ action: 'start', server: signalingUrl(), room, name: 'bot' }))!;
    await waitUntil(() => chat!.peers.some((p) => p.name === 'bot' && p.state === 'connected'), 'the CLI peer is connected', 20_000);
    const bot = chat.peers.find((p) => p.name === 'bot')!.id;
    // The browser asks; the terminal prints the same code.
    const outcome = await chat.verifyPeer(bot);
    expect(outcome.ok).to.equal(true);
    if (!outcome.ok) return;
    const asked = await outputUntil(id, (out) => /asks to compare safety codes: \d{4} \d{4} \d{4}/.test(out.stdout), 'the CLI shows the code');
    expect(/asks to compare safety codes: (\d{4} \d{4} \d{4})/.exec(asked.stdout)![1]).to.equal(outcome.code);
    await cli({ action: 'type', id, line: '/match Browser' });
    await outputUntil(id, (out) => out.stdout.includes('Browser: codes match: verified'), 'the CLI records the match');
    // The terminal asks; the browser is told, and its code is the one the terminal prints.
    chat.confirmPeer(bot, true);
    const codes = record(chat, 'p2p-verify-code');
    await cli({ action: 'type', id, line: '/verify Browser' });
    const printed = await outputUntil(id, (out) => /safety code with Browser: \d{4} \d{4} \d{4}/.test(out.stdout), 'the CLI prints its code');
    await waitUntil(() => codes.length === 1, 'the browser’s side of it');
    expect(codes[0]!.startedByPeer).to.equal(true);
    expect(/safety code with Browser: (\d{4} \d{4} \d{4})/.exec(printed.stdout)![1]).to.equal(codes[0]!.code);
  });

  it('files: the terminal client receives a file from the browser into --download-dir and sends one with /send, hashes checked', async () => {
    const room = uniqueRoom('cli-files');
    chat = addChat(room, 'Browser');
    await waitUntil(() => chat!.selfId !== null, 'the browser joined');
    const { id } = (await cli<{ id: string }>({ action: 'start', server: signalingUrl(), room, name: 'bot', downloadDir: true }))!;
    await waitUntil(() => chat!.peers.some((p) => p.name === 'bot' && p.state === 'connected'), 'the CLI peer is connected', 20_000);
    await outputUntil(id, (out) => out.stdout.includes('channel to Browser open'), 'the channel');

    const bytes = randomBytes(3_000_000);
    const sent = record(chat, 'p2p-file-complete');
    // A hostile name: saved under its last part only.
    await chat.sendFile(new File([bytes], '../../evil\u202Egnp.bin'));
    await waitUntil(() => sent.length === 1, 'the CLI verified the file', 30_000);
    await outputUntil(id, (out) => out.stdout.includes('saved '), 'the CLI saved it');
    expect(await cli({ action: 'downloads', id })).to.deep.equal({ 'evilgnp.bin': await sha256Hex(bytes) });

    const file = (await cli<{ path: string; sha256: string }>({ action: 'make-file', size: 2_500_000, name: 'from-node.bin' }))!;
    const got = record(chat, 'p2p-file-complete');
    chat.addEventListener('p2p-file-offer', (event) => chat!.acceptFile(event.detail.id), { once: true });
    await cli({ action: 'type', id, line: `/send ${file.path}` });
    await waitUntil(() => got.length === 1, 'the browser has the file', 30_000);
    expect(got[0]).to.include({ name: 'from-node.bin', size: 2_500_000 });
    expect(await sha256Hex(got[0]!.file!)).to.equal(file.sha256);
    await outputUntil(id, (out) => out.stdout.includes('from-node.bin reached Browser: verified'), 'the CLI hears it was verified');
  });
});
