// Serves the demo page and the TypeScript sources (compiled on the fly by esbuild).
import { fileURLToPath } from 'node:url';
import { esbuildPlugin } from '@web/dev-server-esbuild';

export default {
  rootDir: '.',
  port: Number(process.env.DEMO_PORT ?? 5173),
  hostname: process.env.HOST ?? 'localhost',
  nodeResolve: true,
  open: false,
  watch: false,
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) })],
  middleware: [
    // The demo lives in demo/: send the site root there.
    function demoIndex(context, next) {
      if (context.url === '/' || context.url === '/index.html') context.redirect('/demo/');
      return next();
    },
  ],
};
