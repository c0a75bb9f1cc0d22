// `npm run build`: the drop-in build. dist/p2p-chat.js is one minified ES module (Lit
// included) that any page can load with <script type="module" src=".../p2p-chat.js">;
// dist/lib/ holds the same modules unbundled (bare `lit` imports, for apps with a bundler
// and a Lit of their own: `p2p-chat/elements`), dist/types/ the type declarations.
// Prints the size, minified and gzipped.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });

// Each drop-in file is built on its own, so each holds everything it needs at load (Lit
// included) and shares nothing with the other; what only some pages use (safety codes,
// identity keys, the verify dialog) goes to sibling chunks it loads when first needed.
for (const [name, entry] of [
  ['p2p-chat', 'components/drop-in.ts'],
  ['p2p-inspector', 'components/inspector-drop-in.ts'],
]) {
  await build({
    entryPoints: { [name]: `${root}${entry}` },
    outdir: `${root}dist`,
    bundle: true,
    splitting: true,
    chunkNames: `chunks/${name}-[name]-[hash]`,
    format: 'esm',
    target: 'es2022',
    minify: true,
    // Lit's production build: no dev-mode warnings.
    conditions: ['production'],
    tsconfig: `${root}tsconfig.json`,
    legalComments: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.dist.json`], { stdio: 'inherit' });

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const name of ['p2p-chat', 'p2p-inspector']) {
  const code = readFileSync(`${root}dist/${name}.js`);
  console.log(`dist/${name}.js: ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} min+gz (Lit included)`);
}
for (const chunk of readdirSync(`${root}dist/chunks`).filter((file) => file.endsWith('.js'))) {
  const code = readFileSync(`${root}dist/chunks/${chunk}`);
  console.log(`  loaded when needed: dist/chunks/${chunk}: ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} min+gz`);
}
