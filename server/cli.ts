/** `p2p-chat-server`: runs the signaling server until SIGINT/SIGTERM. */
import { parseCli, HELP } from './cli-options.js';
import { createSignalingServer } from './signaling-server.js';
import { jsonLogger } from './log.js';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const command = parseCli(argv, process.env);
  if (command.kind === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command.kind === 'error') {
    process.stderr.write(`p2p-chat-server: ${command.message}\nTry --help.\n`);
    process.exitCode = 2;
    return;
  }
  const logger = jsonLogger(command.logLevel);
  let server;
  try {
    server = await createSignalingServer({ ...command.options, logger });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const why = err.code === 'EADDRINUSE' ? `port ${command.options.port} is already in use (try --port)` : err.message;
    process.stderr.write(`p2p-chat-server: cannot listen: ${why}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`p2p-chat signaling server listening on ${server.url}\n`);
  const stop = (signal: string) => {
    logger({ event: 'shutdown', signal });
    void server.close().then(() => process.exit(0));
    // A second signal means "now".
    process.once(signal, () => process.exit(1));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
