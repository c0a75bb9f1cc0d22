export default {
  globs: ['components/*.ts'],
  exclude: ['components/*.test.ts'],
  outdir: '.',
  litelement: true,
  // package.json names custom-elements.json itself; the freshness test analyzes into a temp dir.
  packagejson: false,
};
