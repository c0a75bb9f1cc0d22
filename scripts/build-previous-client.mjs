// `node scripts/build-previous-client.mjs <commit> <version>`: builds the drop-in chat of an
// earlier commit (a previous protocol version) into test/fixtures/v<version>/, for the test
// that an old client and a new one still chat (test/old-client.test.ts). Run once per
// protocol version; the output is committed, so the test needs neither git history nor a
// second build.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [commit, version] = process.argv.slice(2);
if (!commit || !/^\d+$/.test(version ?? '')) {
  console.error('usage: node scripts/build-previous-client.mjs <commit> <protocol version>');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const tree = `/tmp/p2p-chat-v${version}`;
const out = `${root}test/fixtures/v${version}`;
rmSync(tree, { recursive: true, force: true });
execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', tree, commit], { stdio: 'inherit' });
try {
  symlinkSync(`${root}node_modules`, `${tree}/node_modules`);
  execFileSync(process.execPath, [`${tree}/scripts/build.mjs`], { cwd: tree, stdio: 'inherit' });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(`${out}/chunks`, { recursive: true });
  // The built files without their source-map links (the maps are not kept).
  const copy = (from, to) => writeFileSync(to, readFileSync(from, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'));
  copy(`${tree}/dist/p2p-chat.js`, `${out}/p2p-chat.js`);
  for (const chunk of ['mesh-trust', 'mesh-files']) copy(`${tree}/dist/chunks/${chunk}.js`, `${out}/chunks/${chunk}.js`);
  cpSync(`${tree}/dist/p2p-chat.js.LEGAL.txt`, `${out}/p2p-chat.js.LEGAL.txt`);
  writeFileSync(`${out}/BUILT-FROM`, `${execFileSync('git', ['-C', root, 'rev-parse', commit], { encoding: 'utf8' }).trim()}\n`);
} finally {
  execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', tree], { stdio: 'inherit' });
}
console.log(`test/fixtures/v${version}/ built from ${commit}`);
