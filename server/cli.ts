/** `p2p-chat-server`: runs the signaling server until SIGINT/SIGTERM. */
import { readFileSync } from 'node:fs';
import { parseCli, HELP, type CliFiles } from './cli-options.js';
import { createSignalingServer, type SignalingServerOptions, type TlsFiles } from './signaling-server.js';
import { jsonLogger } from './log.js';
import { MIN_CLUSTER_SECRET_LENGTH } from './cluster-seal.js';

/** Reads a file a flag names; the error names the flag. */
function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`--${flag}: cannot read "${path}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

function readTls(files: CliFiles): TlsFiles | undefined {
  if (files.tlsCert === undefined || files.tlsKey === undefined) return undefined;
  return { cert: readFlagFile('tls-cert', files.tlsCert), key: readFlagFile('tls-key', files.tlsKey) };
}

/** A secret file's contents (trimmed: a trailing newline is not part of it). */
function readSecretFile(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const secret = readFlagFile(flag, path).toString('utf8').trim();
  if (secret === '') throw new Error(`--${flag}: "${path}" is empty.`);
  return secret;
}

/** The options with what the files hold: the TURN secret, the cluster secret, the metrics token, the TLS certificate and key. */
function withFiles(options: SignalingServerOptions, files: CliFiles): SignalingServerOptions {
  const tls = readTls(files);
  const secret = readSecretFile('turn-secret-file', files.turnSecretFile);
  const clusterSecret = readSecretFile('cluster-secret-file', files.clusterSecretFile);
  if (clusterSecret !== undefined && clusterSecret.length < MIN_CLUSTER_SECRET_LENGTH)
    throw new Error(`--cluster-secret-file: "${files.clusterSecretFile}" holds fewer than ${MIN_CLUSTER_SECRET_LENGTH} characters.`);
  const metricsToken = readSecretFile('metrics-token-file', files.metricsTokenFile);
  if (metricsToken !== undefined && !/^[\x21-\x7e]+$/.test(metricsToken))
    throw new Error(`--metrics-token-file: "${files.metricsTokenFile}" must hold printable ASCII without spaces.`);
  const { redis, metrics } = options;
  return {
    ...options,
    ...(tls ? { tls } : {}),
    ...(secret !== undefined && options.turn ? { turn: { ...options.turn, secret } } : {}),
    ...(clusterSecret !== undefined && typeof redis === 'object' ? { redis: { ...redis, clusterSecret } } : {}),
    ...(metricsToken !== undefined && typeof metrics === 'object' ? { metrics: { ...metrics, token: metricsToken } } : {}),
  };
}

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
  let options: SignalingServerOptions;
  try {
    options = withFiles(command.options, command.files);
  } catch (error) {
    process.stderr.write(`p2p-chat-server: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  let server;
  try {
    server = await createSignalingServer({ ...options, logger });
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
  // SIGHUP: the certificate was renewed; new connections get the new one.
  if (options.tls) {
    process.on('SIGHUP', () => {
      try {
        const tls = readTls(command.files);
        if (tls) server.reloadTls(tls);
      } catch (error) {
        logger({ event: 'tls-reload-failed', level: 'error', message: (error as Error).message });
      }
    });
  }
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
