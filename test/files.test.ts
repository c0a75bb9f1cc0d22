/**
 * Files between real browsers (issue 16): offered, accepted or declined, streamed on a
 * data channel of their own, verified block by block, cancelled, refused on the relay.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import {
  addChat,
  addFramedChat,
  framedChat,
  randomBytes,
  record,
  remote,
  removeAll,
  sha256Hex,
  signalingUrl,
  uniqueRoom,
  waitForMesh,
  waitUntil,
} from './helpers.js';

const MB = 1_000_000;

async function png(): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 32;
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#0969da';
  context.fillRect(0, 0, 32, 32);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob!), 'image/png'));
}

const lineOf = (chat: P2pChat, id: string) => chat.shadowRoot!.querySelector<HTMLLIElement>(`li[data-file="${id}"]`);

describe('files, peer to peer', () => {
  let chats: P2pChat[] = [];
  const frames: HTMLElement[] = [];
  afterEach(() => {
    removeAll(chats);
    chats = [];
    for (const frame of frames.splice(0)) frame.remove();
  });

  /** The received files kept in this origin's private file system (OPFS), by name (the transfer's id): their sizes. */
  async function keptOnDisk(): Promise<Map<string, number>> {
    const kept = new Map<string, number>();
    type Folder = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };
    const root = (await (await navigator.storage.getDirectory()).getDirectoryHandle('p2p-chat-incoming', { create: true })) as Folder;
    for await (const [, page] of root.entries()) {
      if (page.kind !== 'directory') continue;
      for await (const [name, file] of (page as Folder).entries())
        if (file.kind === 'file') kept.set(name, (await (file as FileSystemFileHandle).getFile()).size);
    }
    return kept;
  }

  async function pair(label: string): Promise<[P2pChat, P2pChat]> {
    const room = uniqueRoom(label);
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    return [ann, bob];
  }

  it('a 6 MB file is offered, accepted, streamed with progress on both sides and verified; chat interleaves with it', async () => {
    const [ann, bob] = await pair('file');
    const bytes = randomBytes(6 * MB);
    const offers = record(bob, 'p2p-file-offer');
    const bobProgress = record(bob, 'p2p-file-progress');
    const annProgress = record(ann, 'p2p-file-progress');
    const bobDone = record(bob, 'p2p-file-complete');
    const annDone = record(ann, 'p2p-file-complete');
    const chat = record(bob, 'p2p-message');
    const [id] = await ann.sendFile(new File([bytes], 'data.bin', { type: 'application/octet-stream' }), { to: bob.selfId! });
    await waitUntil(() => offers.length === 1, 'Bob is offered the file');
    expect(offers[0]).to.include({
      id,
      peer: ann.selfId,
      direction: 'in',
      name: 'data.bin',
      size: 6 * MB,
      mime: 'application/octet-stream',
      autoAccept: false,
    });
    await bob.updateComplete;
    lineOf(bob, id!)!.querySelector<HTMLButtonElement>('[part="file-accept"]')!.click();
    // A chat line sent once the bytes flow arrives before the file is done: the file has its own channel.
    await waitUntil(() => bobProgress.length > 0, 'bytes flow');
    ann.send('while the file moves');
    await waitUntil(() => chat.length === 1, 'the chat line');
    expect(bobDone.length, 'the chat line came before the end of the file').to.equal(0);
    await waitUntil(() => bobDone.length === 1 && annDone.length === 1, 'both sides say verified', 60_000);
    expect(await sha256Hex(bobDone[0]!.file!)).to.equal(await sha256Hex(new Blob([bytes])));
    expect(annDone[0]).to.include({ file: null, verified: true, direction: 'out' });
    // Streamed to disk as it was verified (the origin private file system), not held in memory.
    expect((await keptOnDisk()).get(id!)).to.equal(6 * MB);
    for (const list of [bobProgress, annProgress]) {
      expect(list.length).to.be.greaterThan(1);
      expect(list.every((p, k) => k === 0 || p.bytes >= list[k - 1]!.bytes)).to.equal(true);
    }
    expect(bobProgress.at(-1)!.percent).to.equal(100);
    await bob.updateComplete;
    const line = lineOf(bob, id!)!;
    expect(line.dataset['state']).to.equal('done');
    expect(line.querySelector('[part="file-verified"]')).to.not.equal(null);
    const save = line.querySelector<HTMLAnchorElement>('[part="file-save"]')!;
    expect(save.download).to.equal('data.bin');
    expect(save.href.startsWith('blob:')).to.equal(true);
  });

  it('a small image is accepted without asking and shown inline; an SVG waits and is never inline; a hostile name is cleaned', async () => {
    const [ann, bob] = await pair('image');
    const offers = record(bob, 'p2p-file-offer');
    const done = record(bob, 'p2p-file-complete');
    const [imageId] = await ann.sendFile(new File([await png()], 'screenshot.png', { type: 'image/png' }));
    await waitUntil(() => done.length === 1, 'the image arrives by itself');
    expect(offers[0]!.autoAccept).to.equal(true);
    await bob.updateComplete;
    const img = lineOf(bob, imageId!)!.querySelector<HTMLImageElement>('[part="file-image"]')!;
    expect(img.src.startsWith('blob:')).to.equal(true);
    await waitUntil(() => img.complete && img.naturalWidth === 32, 'the image decodes');

    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=1</script></svg>';
    const [svgId] = await ann.sendFile(new File([svg], '../../etc/pass\u202Ewd.svg', { type: 'image/svg+xml' }));
    await waitUntil(() => offers.length === 2, 'the SVG is offered');
    expect(offers[1]).to.include({ autoAccept: false, name: 'passwd.svg' });
    bob.acceptFile(svgId!);
    await waitUntil(() => done.length === 2, 'the SVG arrives once accepted');
    await bob.updateComplete;
    const svgLine = lineOf(bob, svgId!)!;
    expect(svgLine.querySelector('img, svg, script')).to.equal(null);
    expect(svgLine.querySelector<HTMLAnchorElement>('[part="file-save"]')!.download).to.equal('passwd.svg');
    expect((window as unknown as { __pwned?: number }).__pwned).to.equal(undefined);
  });

  it("a received file's Save link is a download: the sender's HTML or SVG never runs in this origin, even opened as a page", async () => {
    const [ann, bob] = await pair('active');
    // What the sender's script does if it runs here: marks the page that framed it, this origin's storage, every page of the origin.
    const channelName = `p2p-files-pwned-${Math.random().toString(36).slice(2)}`;
    const marker = 'p2p-files-pwned';
    localStorage.removeItem(marker);
    const script = (what: string) =>
      `parent.__p2pPwned = '${what}'; localStorage.setItem('${marker}', '${what}'); new BroadcastChannel('${channelName}').postMessage('${what}');`;
    const html = `<!doctype html><title>hello</title><script>${script('html')}</script>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>${script('svg')}</script></svg>`;
    const sent = [
      { file: new File([html], '../../in\u2066dex.html', { type: 'text/html' }), name: 'index.html' },
      { file: new File([svg], 'dra\u{E0041}wing.svg', { type: 'image/svg+xml' }), name: 'drawing.svg' },
      // HTML that calls itself a PNG: it comes in by itself, as images do.
      { file: new File([html], 'photo.png', { type: 'image/png' }), name: 'photo.png' },
    ];
    const done = record(bob, 'p2p-file-complete');
    bob.addEventListener('p2p-file-offer', (event) => {
      if (!event.detail.autoAccept) bob.acceptFile(event.detail.id);
    });
    const ids: string[] = [];
    for (const { file } of sent) ids.push((await ann.sendFile(file, { to: bob.selfId! }))[0]!);
    await waitUntil(() => done.length === sent.length, 'the three files arrive');
    await bob.updateComplete;

    const pwned = () => (window as unknown as { __p2pPwned?: string }).__p2pPwned;
    const heard: string[] = [];
    const channel = new BroadcastChannel(channelName);
    channel.onmessage = (event) => heard.push(String(event.data));
    const hrefs: string[] = [];
    try {
      for (const [k, id] of ids.entries()) {
        const what = sent[k]!.name;
        const save = lineOf(bob, id)!.querySelector<HTMLAnchorElement>('[part="file-save"]')!;
        hrefs.push(save.href);
        // Opened as a page of this origin (a frame here; a new tab is the same navigation): a download, nothing runs.
        const frame = document.createElement('iframe');
        frame.src = save.href;
        document.body.append(frame);
        frames.push(frame);
        // The sentinel: a page of ours, framed the same way just after it, whose script does run; then a margin.
        const controlUrl = URL.createObjectURL(
          new Blob([`<script>new BroadcastChannel('${channelName}').postMessage('control ${k}')</script>`], { type: 'text/html' }),
        );
        const control = document.createElement('iframe');
        control.src = controlUrl;
        document.body.append(control);
        frames.push(control);
        await waitUntil(() => heard.includes(`control ${k}`), `the control page after ${what} ran`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        URL.revokeObjectURL(controlUrl);
        expect(pwned(), `${what} ran in this origin`).to.equal(undefined);
        expect(localStorage.getItem(marker), `${what} wrote to this origin's storage`).to.equal(null);
        expect(
          heard.filter((m) => !m.startsWith('control')),
          `${what} spoke on this origin's channel`,
        ).to.deep.equal([]);

        expect(save.download, what).to.equal(what);
        expect(save.target, what).to.equal('');
        expect(save.relList.contains('noopener'), what).to.equal(true);
        const response = await fetch(save.href);
        expect(response.headers.get('content-type'), what).to.equal('application/octet-stream');
        expect((await response.blob()).type, what).to.equal('application/octet-stream');
      }
    } finally {
      channel.close();
      localStorage.removeItem(marker);
    }
    expect(lineOf(bob, ids[1]!)!.querySelector('img, svg, script'), 'an SVG is never inline').to.equal(null);

    // Every URL made for the lines is revoked when they go.
    await bob.clearHistory();
    for (const href of hrefs) {
      const fetched = await fetch(href).then(
        () => true,
        () => false,
      );
      expect(fetched, `${href} revoked`).to.equal(false);
    }
  });

  it('declined, too large for the receiver, or cancelled mid-way: both sides end with a clear state', async () => {
    const [ann, bob] = await pair('refuse');
    const annErrors = record(ann, 'p2p-file-error');
    const bobErrors = record(bob, 'p2p-file-error');
    const offers = record(bob, 'p2p-file-offer');
    const [declined] = await ann.sendFile(new File([randomBytes(1000)], 'no.bin'));
    await waitUntil(() => offers.length === 1, 'offered');
    bob.declineFile(declined!);
    await waitUntil(() => annErrors.some((e) => e.id === declined && e.code === 'file-declined'), 'Ann hears it was declined');

    bob.setAttribute('max-file-size', '5000');
    await bob.updateComplete;
    const [big] = await ann.sendFile(new File([randomBytes(6000)], 'big.bin'));
    await waitUntil(() => annErrors.some((e) => e.id === big && e.code === 'file-declined'), 'declined by size at once');
    expect(bobErrors.find((e) => e.id === big)?.code).to.equal('file-too-large');
    bob.setAttribute('max-file-size', String(2 ** 31));
    await bob.updateComplete;

    const progress = record(bob, 'p2p-file-progress');
    const [cancelled] = await ann.sendFile(new File([randomBytes(40 * MB)], 'long.bin'));
    await waitUntil(() => offers.some((o) => o.id === cancelled), 'offered');
    bob.acceptFile(cancelled!);
    await waitUntil(() => progress.some((p) => p.id === cancelled && p.bytes > 0), 'under way');
    ann.cancelFile(cancelled!);
    await waitUntil(() => bobErrors.some((e) => e.id === cancelled && e.code === 'file-cancelled'), 'Bob hears it was cancelled');
    expect(annErrors.find((e) => e.id === cancelled)?.code).to.equal('file-cancelled');
    const after = progress.filter((p) => p.id === cancelled).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(progress.filter((p) => p.id === cancelled).length, 'nothing moves after the cancel').to.equal(after);
    // What was written of it is gone from disk.
    let onDisk = true;
    for (let tries = 0; onDisk && tries < 50; tries++) {
      onDisk = (await keptOnDisk()).has(cancelled!);
      if (onDisk) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(onDisk, 'the cancelled file is removed from disk').to.equal(false);
    await bob.updateComplete;
    expect(lineOf(bob, cancelled!)!.dataset['state']).to.equal('failed');
  });

  it('three recipients at once each get the file whole; one cancels half-way and the others are not disturbed', async () => {
    const room = uniqueRoom('three');
    const ann = addChat(room, 'Ann');
    const others = ['Bob', 'Cy', 'Di'].map((name) => addChat(room, name));
    chats = [ann, ...others];
    await waitForMesh(chats);
    const bytes = randomBytes(8 * MB);
    const done = others.map((chat) => record(chat, 'p2p-file-complete'));
    const errors = others.map((chat) => record(chat, 'p2p-file-error'));
    const annErrors = record(ann, 'p2p-file-error');
    const cyProgress = record(others[1]!, 'p2p-file-progress');
    for (const chat of others) chat.addEventListener('p2p-file-offer', (event) => chat.acceptFile(event.detail.id));
    const ids = await ann.sendFile(new File([bytes], 'three.bin'));
    expect(ids.length).to.equal(3);
    await waitUntil(() => cyProgress.some((p) => p.bytes > 2 * MB), 'Cy is under way');
    others[1]!.cancelFile(cyProgress[0]!.id);
    await waitUntil(() => done[0]!.length === 1 && done[2]!.length === 1, 'Bob and Di have it', 60_000);
    const expected = await sha256Hex(new Blob([bytes]));
    expect(await sha256Hex(done[0]![0]!.file!)).to.equal(expected);
    expect(await sha256Hex(done[2]![0]!.file!)).to.equal(expected);
    expect(done[1]!.length).to.equal(0);
    expect(errors[1]![0]?.code).to.equal('file-cancelled');
    await waitUntil(() => annErrors.length === 1, 'Ann hears Cy cancelled');
    expect(annErrors[0]).to.include({ code: 'file-cancelled', peer: others[1]!.selfId });
  });

  it('a peer that leaves mid-transfer ends it on the other side (receiver or sender)', async () => {
    const [ann, bob] = await pair('leave');
    const annErrors = record(ann, 'p2p-file-error');
    const offers = record(bob, 'p2p-file-offer');
    const progress = record(bob, 'p2p-file-progress');
    const [id] = await ann.sendFile(new File([randomBytes(40 * MB)], 'long.bin'));
    await waitUntil(() => offers.length === 1, 'offered');
    bob.acceptFile(id!);
    await waitUntil(() => progress.some((p) => p.bytes > 0), 'under way');
    bob.remove();
    await waitUntil(() => annErrors.some((e) => e.id === id && e.code === 'file-failed'), 'Ann is told', 20_000);

    // Now the sender's page goes away mid-way.
    const cy = addChat(ann.getAttribute('room')!, 'Cy');
    chats = [ann, cy];
    await waitForMesh(chats);
    const cyErrors = record(cy, 'p2p-file-error');
    const cyProgress = record(cy, 'p2p-file-progress');
    cy.addEventListener('p2p-file-offer', (event) => cy.acceptFile(event.detail.id));
    await ann.sendFile(new File([randomBytes(40 * MB)], 'long.bin'));
    await waitUntil(() => cyProgress.some((p) => p.bytes > 0), 'under way');
    ann.remove();
    await waitUntil(() => cyErrors.length === 1, 'Cy is told', 20_000);
    expect(cyErrors[0]!.code).to.equal('file-failed');
  });

  it('a flood of 40 offers: one line says who offered how many, 20 wait and the sender hears each decline beyond them; Decline all answers the rest', async () => {
    const [ann, bob] = await pair('flood');
    const annErrors = record(ann, 'p2p-file-error');
    const bobErrors = record(bob, 'p2p-file-error');
    const offers = record(bob, 'p2p-file-offer');
    const ids: string[] = [];
    for (let k = 0; k < 40; k++) ids.push(...(await ann.sendFile(new File([`offer ${k}`], `flood-${k}.txt`, { type: 'text/plain' }), { to: bob.selfId! })));
    expect(ids.length).to.equal(40);
    await waitUntil(() => offers.length === 20 && annErrors.length === 20, 'twenty offers kept, twenty declined');
    expect(annErrors.map((e) => [e.id, e.code])).to.deep.equal(ids.slice(20).map((id) => [id, 'file-declined']));
    expect(
      offers.map((o) => o.id),
      'the first twenty wait',
    ).to.deep.equal(ids.slice(0, 20));
    expect(
      bobErrors.map((e) => e.id),
      'the declines are said once',
    ).to.deep.equal([ids[20]]);
    await bob.updateComplete;
    const log = bob.shadowRoot!.querySelector('[part="messages"]')!;
    // One line in Bob's log for all of Ann's files, not one each.
    const fileLines = [...log.children].filter((li) => li.matches('li.file'));
    expect(fileLines.length, fileLines.map((li) => li.textContent).join(' | ')).to.equal(1);
    const folded = fileLines[0] as HTMLLIElement;
    expect(folded.dataset['offers']).to.equal(ann.selfId);
    const text = folded.textContent!.replace(/\s+/g, ' ');
    expect(text).to.contain('Ann offered 21 files');
    expect(text).to.contain('20 waiting');
    expect(text).to.contain('1 not received: Too many files offered at once');
    // Each offer is still there, behind the disclosure, with its own buttons.
    expect(folded.querySelectorAll('details li[data-file]').length).to.equal(21);
    const done = record(bob, 'p2p-file-complete');
    // One accepted from there moves out to a line of its own, where its file shows.
    lineOf(bob, ids[2]!)!.querySelector<HTMLButtonElement>('[part="file-accept"]')!.click();
    await waitUntil(() => done.length === 1, 'the accepted one arrives');
    expect(await done[0]!.file!.text()).to.equal('offer 2');
    await bob.updateComplete;
    expect(lineOf(bob, ids[2]!)!.parentElement, 'a line of its own').to.equal(log);
    expect(lineOf(bob, ids[2]!)!.querySelector('[part="file-save"]')).to.not.equal(null);
    expect(folded.textContent!.replace(/\s+/g, ' ')).to.contain('19 waiting');
    expect(folded.textContent!.replace(/\s+/g, ' ')).to.contain('1 accepted');

    // Decline all: the nineteen waiting are declined, the sender hears each.
    folded.querySelector<HTMLButtonElement>(':scope > [part="file-decline"]')!.click();
    await waitUntil(() => annErrors.length === 39, 'every other offer answered');
    expect(new Set([...annErrors.map((e) => e.id), ids[2]]).size).to.equal(40);
    await bob.updateComplete;
    expect(folded.dataset['waiting']).to.equal('0');
    expect(folded.querySelector(':scope > [part="file-decline"]')).to.equal(null);
    expect(folded.textContent!.replace(/\s+/g, ' ')).to.contain('20 not received');

    // Room again: a single file from Ann now shows as a line of its own.
    const [after] = await ann.sendFile(new File(['after the flood'], 'after.txt', { type: 'text/plain' }), { to: bob.selfId! });
    await waitUntil(() => offers.some((o) => o.id === after), 'the next offer');
    await bob.updateComplete;
    expect(lineOf(bob, after!)!.parentElement).to.equal(log);
  });

  it('a pair on the server relay is refused: files never go through the server', async () => {
    const room = uniqueRoom('file-relay');
    const ann = addChat(room, 'Ann');
    const frame = addFramedChat('no-webrtc', ann.getAttribute('server')!, room, 'Kit');
    chats = [ann];
    frames.push(frame);
    await waitUntil(() => ann.peers.some((p) => p.name === 'Kit' && p.transport === 'relayed'), 'Kit is relayed');
    // Ann may hear of Kit (new-peer) before Kit's own page has read its welcome: wait for both to agree on the id.
    const kitId = ann.peers.find((p) => p.name === 'Kit')!.id;
    await waitUntil(() => framedChat(frame)?.selfId === kitId, 'Kit knows its id');
    const errors = record(ann, 'p2p-file-error');
    const [id] = await ann.sendFile(new File(['hello'], 'hello.txt', { type: 'text/plain' }));
    await waitUntil(() => errors.length === 1, 'refused');
    expect(errors[0]).to.include({ id, code: 'file-needs-direct', peer: kitId });
  });
});

describe('files across browsers', () => {
  let here: P2pChat | null = null;
  afterEach(async () => {
    here?.remove();
    here = null;
    await remote({ action: 'close' });
  });

  it('Chromium ↔ Firefox: 50 MB each way, the hash checked on arrival', async () => {
    const other = navigator.userAgent.includes('Firefox') ? 'chromium' : 'firefox';
    const room = uniqueRoom('xfile');
    here = addChat(room, 'here');
    const url = `${location.origin}/test/fixtures/drop-in.html?server=${encodeURIComponent(signalingUrl())}&room=${room}&name=there`;
    const there = (await remote<{ id: string }>({ action: 'open', product: other, url }))!;
    const run = <T>(expression: string) => remote<T>({ action: 'eval', id: there.id, expression });
    await waitUntil(() => here!.peers.some((p) => p.state === 'connected' && p.transport === 'direct'), 'a direct connection', 30_000);
    // The other page (the built drop-in file, its files chunk) accepts what it is offered and keeps the hash of what it gets.
    await run(`(() => {
      const chat = window.p2pTest.chat;
      window.hashes = [];
      chat.addEventListener('p2p-file-offer', (e) => chat.acceptFile(e.detail.id));
      chat.addEventListener('p2p-file-complete', async (e) => {
        if (!e.detail.file) return;
        const digest = await crypto.subtle.digest('SHA-256', await e.detail.file.arrayBuffer());
        window.hashes.push([...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''));
      });
      return true;
    })()`);
    const bytes = randomBytes(50 * MB);
    await here.sendFile(new File([bytes], 'fifty.bin'));
    let hashes: string[] = [];
    for (let k = 0; k < 900 && hashes.length === 0; k++) {
      hashes = (await run<string[]>('window.hashes'))!;
      if (hashes.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(hashes).to.deep.equal([await sha256Hex(new Blob([bytes]))]);

    const offers = record(here, 'p2p-file-offer');
    const done = record(here, 'p2p-file-complete');
    here.addEventListener('p2p-file-offer', (event) => here!.acceptFile(event.detail.id));
    const sentHash = await run<string>(`(async () => {
      const bytes = new Uint8Array(${50 * MB});
      for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(bytes.length, at + 65536)));
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      void window.p2pTest.chat.sendFile(new File([bytes], 'back.bin'));
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    })()`);
    await waitUntil(() => done.length === 1, 'the file from the other browser', 90_000);
    expect(offers[0]).to.include({ name: 'back.bin', size: 50 * MB });
    expect(await sha256Hex(done[0]!.file!)).to.equal(sentHash);
  });
});
