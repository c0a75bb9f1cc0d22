export default {
  globs: ['components/*.ts'],
  exclude: ['components/*.test.ts'],
  outdir: '.',
  litelement: true,
};
