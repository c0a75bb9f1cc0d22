// `npm start`: the signaling server (ws://localhost:8080) and the demo page
// (http://localhost:5173/demo/) in one process. Ctrl+C stops both.
import { startDevServer } from '@web/dev-server';
import { createSignalingServer, jsonLogger } from '../build/server/index.js';

const host = process.env.HOST ?? 'localhost';
const signaling = await createSignalingServer({
  port: Number(process.env.PORT ?? 8080),
  host,
  logger: jsonLogger(process.env.LOG_LEVEL ?? 'info'),
}).catch((error) => {
  console.error(`Cannot start the signaling server: ${error.code === 'EADDRINUSE' ? `port ${process.env.PORT ?? 8080} is in use (set PORT)` : error.message}`);
  process.exit(1);
});

const dev = await startDevServer({ readCliArgs: false, readFileConfig: true, logStartMessage: false, autoExitProcess: false });
const demoPort = dev.config.port;
const demo = `http://${host}:${demoPort}/demo/${signaling.port === 8080 && host === 'localhost' ? '' : `?server=${encodeURIComponent(signaling.url)}`}`;

console.log(`
  p2p-chat
  signaling server  ${signaling.url}   (health: ${signaling.url.replace('ws:', 'http:')}/healthz)
  demo page         ${demo}

  Open the demo page in two or more tabs and chat. Ctrl+C stops both.
`);

let stopping = false;
async function stop() {
  if (stopping) process.exit(1);
  stopping = true;
  await Promise.all([dev.stop(), signaling.close()]);
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
