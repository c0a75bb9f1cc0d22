// The committed custom-elements.json is generated (npm run analyze), never hand-edited:
// regenerate it and compare, and check it documents the public contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('custom-elements.json is current and lists the public contract', { timeout: 60_000 }, async () => {
  // The analyzer takes --outdir relative to the working directory.
  await mkdir(join(root, 'node_modules/.cache'), { recursive: true });
  const out = await mkdtemp(join(root, 'node_modules/.cache/cem-'));
  try {
    const cli = join(root, 'node_modules/@custom-elements-manifest/analyzer/cem.js');
    await promisify(execFile)(process.execPath, [cli, 'analyze', '--outdir', relative(root, out)], { cwd: root });
    const fresh = JSON.parse(await readFile(join(out, 'custom-elements.json'), 'utf8'));
    const committed = JSON.parse(await readFile(join(root, 'custom-elements.json'), 'utf8'));
    assert.deepEqual(committed, fresh, 'custom-elements.json is stale: run `npm run analyze` and commit it');
    const chat = committed.modules.flatMap((m) => m.declarations ?? []).find((d) => d.tagName === 'p2p-chat');
    // The three of the contract, and what later issues added (extended, never renamed).
    assert.deepEqual(chat.attributes.map((a) => a.name).sort(), [
      'auto-accept-images',
      'history',
      'ice-transport-policy',
      'identity',
      'lang',
      'max-file-size',
      'name',
      'notify',
      'persist',
      'room',
      'server',
    ]);
    for (const event of [
      'p2p-welcome',
      'p2p-peer-join',
      'p2p-peer-leave',
      'p2p-channel-open',
      'p2p-channel-close',
      'p2p-message',
      'p2p-error',
      'p2p-signal',
      'p2p-verify-code',
      'p2p-peer-verify',
      'p2p-peer-identity',
      'p2p-file-offer',
      'p2p-file-progress',
      'p2p-file-complete',
      'p2p-file-error',
    ]) {
      assert.ok(
        chat.events.some((e) => e.name === event),
        event,
      );
    }
    assert.ok(chat.members.some((m) => m.name === 'send' && m.kind === 'method'));
    assert.ok(chat.members.some((m) => m.name === 'verifyPeer' && m.kind === 'method'));
    assert.ok(chat.members.some((m) => m.name === 'confirmPeer' && m.kind === 'method'));
    for (const method of ['sendFile', 'acceptFile', 'declineFile', 'cancelFile'])
      assert.ok(
        chat.members.some((m) => m.name === method && m.kind === 'method'),
        method,
      );
    assert.ok(chat.members.some((m) => m.name === 'selfId'));
    assert.ok(chat.members.some((m) => m.name === 'peers'));
    assert.ok(chat.cssParts.length > 5 && chat.cssProperties.length > 5);
    // package.json points at the committed manifest (and analyzing did not rewrite it).
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.customElements, 'custom-elements.json');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
