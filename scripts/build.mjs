// `npm run build`: the drop-in build. dist/p2p-chat.js is one minified ES module (Lit
// included) that any page can load with <script type="module" src=".../p2p-chat.js">;
// dist/lib/ holds the same modules unbundled (bare `lit` imports, for apps with a bundler
// and a Lit of their own: `p2p-chat/elements`), dist/p2p-mesh.js is `Mesh` alone (the
// same connection core, no element: `p2p-chat/mesh`), dist/types/ the type declarations.
// Prints the sizes, minified and gzipped.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ON_DEMAND, ON_DEMAND_IMPORT } from './on-demand-chunks.mjs';
import { minifyTemplates } from './minify-templates.mjs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  // Lit's production build: no dev-mode warnings.
  conditions: ['production'],
  tsconfig: `${root}tsconfig.json`,
  legalComments: 'external',
  // Module scripts are always read as UTF-8: Hangul as itself, not as \uXXXX (half the bytes).
  charset: 'utf8',
  sourcemap: 'linked',
  logLevel: 'warning',
};

/** The elements' css`…` and html`…` templates without their indentation and comments (scripts/minify-templates.mjs). */
const templates = {
  name: 'minify-templates',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]components[\\/][\w-]+\.ts$/ }, (args) => ({ contents: minifyTemplates(readFileSync(args.path, 'utf8')), loader: 'ts' }));
  },
};

/**
 * A chunk that renders (the safety-code dialog, a file's line, notifications) uses the Lit
 * of the drop-in that loaded it, which components/drop-in.ts leaves under this global
 * symbol, instead of carrying a second copy of Lit. An import of a name not listed here
 * fails the build.
 */
const litOfDropIn = {
  name: 'lit-of-drop-in',
  setup(builder) {
    builder.onResolve({ filter: /^lit$/ }, () => ({ path: 'lit', namespace: 'lit-of-drop-in' }));
    builder.onLoad({ filter: /.*/, namespace: 'lit-of-drop-in' }, () => ({
      contents: [
        "const lit = globalThis[Symbol.for('p2p-chat:lit')];",
        "if (!lit) throw new Error('dist/chunks/ are loaded by dist/p2p-chat.js, which lends them its Lit');",
        'export const { LitElement, css, html, nothing } = lit;',
      ].join('\n'),
      loader: 'js',
    }));
  },
};
// What only some pages use (scripts/on-demand-chunks.mjs), each chunk bundled whole on its own in dist/chunks/.
for (const [name, entry] of Object.entries(ON_DEMAND)) {
  await build({ ...common, entryPoints: { [name]: `${root}${entry}` }, outdir: `${root}dist/chunks`, plugins: [litOfDropIn, templates] });
}
/** The drop-in files import those chunks by their built names, and nothing else. */
const onDemandChunks = {
  name: 'on-demand-chunks',
  setup(builder) {
    builder.onResolve({ filter: ON_DEMAND_IMPORT }, (args) => ({
      path: `./chunks/${/([\w-]+)\.js$/.exec(args.path)[1]}.js`,
      external: true,
    }));
  },
};
// Each drop-in file is built on its own, without shared chunks, so it holds everything it
// needs at load (Lit included) and nothing it loads later: code both use is in both.
for (const [name, entry] of [
  ['p2p-chat', 'components/drop-in.ts'],
  ['p2p-inspector', 'components/inspector-drop-in.ts'],
  // `Mesh` alone, for pages that draw their own UI (no element, no Lit).
  ['p2p-mesh', 'client/mesh.ts'],
]) {
  await build({ ...common, entryPoints: { [name]: `${root}${entry}` }, outdir: `${root}dist`, plugins: [onDemandChunks, templates] });
}

execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.dist.json`], { stdio: 'inherit' });

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const [name, what] of [
  ['p2p-chat', 'Lit included'],
  ['p2p-inspector', 'Lit included'],
  ['p2p-mesh', 'Mesh alone'],
]) {
  const code = readFileSync(`${root}dist/${name}.js`);
  console.log(`dist/${name}.js: ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} min+gz (${what})`);
}
for (const chunk of readdirSync(`${root}dist/chunks`).filter((file) => file.endsWith('.js'))) {
  const code = readFileSync(`${root}dist/chunks/${chunk}`);
  console.log(`  loaded when needed: dist/chunks/${chunk}: ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} min+gz`);
}
