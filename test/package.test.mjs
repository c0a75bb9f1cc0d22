// What `npm pack` makes of a fresh checkout is what users install (from the registry or
// from git): pack a copy of the committed files, unpack it as a dependency of an empty
// project, and use it there. The drop-in build, the unbundled modules, the declarations
// and the manifest must be in it (built by `prepare`), every entry point package.json
// names must exist, and the tests must not be shipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** A consumer's code: the elements, their typed events, the Mesh, the server, the protocol. */
const CONSUMER_TS = `
import { Mesh, type P2pChat } from 'p2p-chat';
import 'p2p-chat/inspector';
import { P2pChat as Unbundled, Mesh as UnbundledMesh } from 'p2p-chat/elements';
import { P2pInspector } from 'p2p-chat/elements/inspector';
import { parseServerMessage } from 'p2p-chat/protocol';
import { createSignalingServer } from 'p2p-chat/server';
import { Mesh as MeshAlone } from 'p2p-chat/mesh';
const chat = document.querySelector('p2p-chat')!;
const result: number = chat.send('hi').sent.length;
chat.addEventListener('p2p-message', (e) => e.detail.text.toUpperCase() + e.detail.from + result);
chat.addEventListener('p2p-error', (e) => e.detail.code.length);
const made: P2pChat = document.createElement('p2p-chat');
made.server = 'ws://127.0.0.1:8080';
document.createElement('peer-list').peers = chat.peers;
document.querySelector('p2p-inspector')!.chat = chat;
new Mesh({ server: 'ws://127.0.0.1:8080' }).addEventListener('message', (e) => e.detail.text.length);
new UnbundledMesh({ server: 'ws://127.0.0.1:8080' }).addEventListener('message', (e) => e.detail.text.length);
new MeshAlone({ server: 'ws://127.0.0.1:8080' }).addEventListener('file-offer', (e) => e.detail.name.length);
const unbundled: Unbundled = new Unbundled();
unbundled.room = 'lobby';
new P2pInspector().chat = unbundled;
const parsed = parseServerMessage('{}');
if (parsed.ok) parsed.value.type.length;
void createSignalingServer({ port: 0 }).then((server) => server.close());
`;

/** Every file path package.json names: exports (all conditions), module, types, bin, manifest. */
function namedPaths(pkg) {
  const paths = new Set([pkg.module, pkg.types, pkg.customElements, ...Object.values(pkg.bin)]);
  const walk = (value) => {
    if (typeof value === 'string') paths.add(value);
    else for (const inner of Object.values(value)) walk(inner);
  };
  walk(pkg.exports);
  return [...paths].map((p) => p.replace(/^\.\//, ''));
}

async function listFiles(dir, prefix = '') {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), path)));
    else out.push(path);
  }
  return out;
}

test('a fresh checkout packs a package that works where it is installed', { timeout: 120_000 }, async (t) => {
  let tracked;
  try {
    tracked = (await run('git', ['ls-files', '-z'], { cwd: root })).stdout.split('\0').filter(Boolean);
  } catch {
    t.skip('not a git checkout');
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'p2p-chat-pack-'));
  try {
    // The committed files only: no build/, no dist/ (as in a clean clone), with this
    // checkout's node_modules for the tools.
    const checkout = join(work, 'checkout');
    for (const file of tracked) {
      if (!existsSync(join(root, file))) continue; // deleted, not yet committed
      await mkdir(dirname(join(checkout, file)), { recursive: true });
      await cp(join(root, file), join(checkout, file));
    }
    await symlink(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: checkout, maxBuffer: 16 << 20 });
    const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('[')));

    const installed = join(work, 'consumer/node_modules/p2p-chat');
    await mkdir(installed, { recursive: true });
    await run('tar', ['-xzf', join(work, filename), '-C', installed, '--strip-components=1']);
    const files = await listFiles(installed);
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));

    for (const path of namedPaths(pkg)) assert.ok(files.includes(path), `package.json names ${path}, the package lacks it`);
    for (const path of [
      'dist/p2p-chat.js',
      'dist/p2p-inspector.js',
      'dist/p2p-mesh.js',
      'dist/lib/components/p2p-chat.js',
      'dist/types/components/p2p-chat.d.ts',
      'custom-elements.json',
      'README.md',
    ]) {
      assert.ok(files.includes(path), `the package lacks ${path}`);
    }
    assert.deepEqual(
      files.filter((f) => /\.test\.|test-client/.test(f)),
      [],
      'tests are not shipped',
    );
    // The drop-in build needs nothing else at load: no static import at all, and no import
    // of anything but its own sibling chunks (loaded when first needed), which ship with it.
    // The same of the Mesh alone.
    for (const built of ['dist/p2p-chat.js', 'dist/p2p-mesh.js']) {
      const dropIn = await readFile(join(installed, built), 'utf8');
      assert.doesNotMatch(dropIn, /\bimport\s*[{"'*]|\}\s*from\s*["']/, built);
      const lazy = [...dropIn.matchAll(/\bimport\s*\(\s*(["'][^"']*["'])\s*\)/g)].map((m) => m[1].slice(1, -1));
      assert.ok(lazy.length > 0 && lazy.every((path) => /^\.\/chunks\/[\w.-]+\.js$/.test(path)), `${built}'s on-demand imports: ${lazy.join(', ')}`);
      for (const path of lazy) assert.ok(files.includes(`dist/${path.slice(2)}`), `the package lacks dist/${path.slice(2)}`);
      assert.equal([...dropIn.matchAll(/\bimport\s*\(/g)].length, lazy.length, `every on-demand import of ${built} names a file`);
    }

    // Used from the installed copy: the server and the protocol entry points, and the bin.
    await symlink(join(root, 'node_modules/ws'), join(work, 'consumer/node_modules/ws'), 'dir');
    const script = `
      import { createSignalingServer, silentLogger } from 'p2p-chat/server';
      import { parseServerMessage } from 'p2p-chat/protocol';
      import WebSocket from 'ws';
      const server = await createSignalingServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
      const socket = new WebSocket('ws://127.0.0.1:' + server.port);
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'new-peer', room: 'packed' }));
      const [data] = await new Promise((resolve) => socket.once('message', (...a) => resolve(a)));
      const parsed = parseServerMessage(String(data));
      socket.close();
      await server.close();
      console.log(JSON.stringify({ ok: parsed.ok, type: parsed.ok && parsed.value.type, room: parsed.ok && parsed.value.room }));
    `;
    const used = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: join(work, 'consumer'), timeout: 30_000 });
    assert.deepEqual(JSON.parse(used.stdout.trim()), { ok: true, type: 'welcome', room: 'packed' });
    const help = await run(process.execPath, [join(installed, pkg.bin['p2p-chat-server']), '--help'], { cwd: join(work, 'consumer') });
    assert.match(help.stdout, /--port/);

    for (const dep of ['lit', 'lit-html', 'lit-element', '@lit', '@types']) {
      await symlink(join(root, 'node_modules', dep), join(work, 'consumer/node_modules', dep), 'dir');
    }
    // An app with a bundler and a Lit of its own: through `p2p-chat/elements` its bundle
    // holds one Lit, the app's (the drop-in build carries a second copy).
    const { build } = await import('esbuild');
    const litCopies = async (entry) => {
      const out = await build({
        stdin: { contents: entry, resolveDir: join(work, 'consumer'), loader: 'js' },
        bundle: true,
        format: 'esm',
        write: false,
        logLevel: 'silent',
        conditions: ['production'],
      });
      return out.outputFiles[0].text.split('litHtmlVersions').length - 1;
    };
    const app =
      "import { LitElement, html } from 'lit'; customElements.define('my-app', class extends LitElement { render() { return html`<p2p-chat></p2p-chat><p2p-inspector></p2p-inspector>`; } });";
    assert.equal(await litCopies(`${app} import 'p2p-chat/elements'; import 'p2p-chat/elements/inspector';`), 1);
    assert.equal(await litCopies(`${app} import 'p2p-chat';`), 2);

    // The declarations type a consumer's code, strictly, the library's own .d.ts included.
    await writeFile(join(work, 'consumer/package.json'), JSON.stringify({ type: 'module' }));
    const compilerOptions = {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      lib: ['es2022', 'dom'],
      types: ['node'],
    };
    await writeFile(join(work, 'consumer/tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
    await writeFile(join(work, 'consumer/app.ts'), CONSUMER_TS);
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'consumer')]).catch((error) => {
      assert.fail(`a consumer's TypeScript does not type-check against the package:\n${error.stdout}`);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
