/**
 * The command line of `p2p-chat-server`, parsed into SignalingServerOptions. Pure: no
 * process exit, no printing, so it is unit-tested directly.
 */
import { parseArgs } from 'node:util';
import { LIMITS, parseIceServers, type IceServer } from '../protocol/index.js';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT, type MetricsSettings, type SignalingServerOptions } from './signaling-server.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './log.js';
import { parseTrustProxy } from './client-address.js';
import { DEFAULT_TURN_TTL_SECONDS, parseTurnUrls } from './turn-credentials.js';
import { DEFAULT_CLUSTER_GRACE_MS, type ClusterSettings } from './cluster-link.js';
import { MIN_CLUSTER_SECRET_LENGTH } from './cluster-seal.js';

export const HELP = `Usage: p2p-chat-server [options]

The p2p-chat signaling server: introduces peers of a room to each other and relays
their WebRTC offers, answers and ICE candidates. Chat text never passes through it.

Options:
  --port <n>             TCP port to listen on (default ${DEFAULT_PORT}; 0 picks a free port)
  --host <name>          interface to listen on (default ${DEFAULT_HOST}; 0.0.0.0 for all)
  --max-room-size <n>    peers per room, 2..100 (default ${LIMITS.maxRoomSize}: a full mesh tops out near 10)
  --max-payload <bytes>  largest frame accepted; larger ones close the socket with 1009 (default ${DEFAULT_LIMITS.maxPayload})
  --rate <n>             frames per second per connection, on average (default ${DEFAULT_LIMITS.messagesPerSecond})
  --burst <n>            frames a connection may send at once above the rate (default ${DEFAULT_LIMITS.messageBurst});
                         frames over it are dropped with error "rate-limited", and after
                         ${DEFAULT_LIMITS.floodCloseAfter} dropped in a row the connection is closed (1008)
  --max-clients <n>      connections held at once; more get HTTP 503 (default ${DEFAULT_LIMITS.maxClients})
  --max-connections-per-ip <n>
                         connections from one address; more get HTTP 429 (default ${DEFAULT_LIMITS.maxConnectionsPerIp}; 0: no limit)
  --join-rate <r[/b]>    joins per second from one address, with a burst of b (default ${DEFAULT_LIMITS.joinsPerIp.perSecond}/${DEFAULT_LIMITS.joinsPerIp.burst});
                         past it a join gets error "rate-limited" (each join makes every
                         browser in the room build a peer connection)
  --room-join-rate <r[/b]>
                         joins per second into one room, from anyone (default ${DEFAULT_LIMITS.joinsPerRoom.perSecond}/${DEFAULT_LIMITS.joinsPerRoom.burst});
                         one address may take a quarter of it, so none can lock the others out
  --trust-proxy <v>      behind a reverse proxy: whose X-Forwarded-For to believe for the
                         client's address (default: nobody's; the socket's address counts).
                         The proxies' addresses and CIDR ranges (10.0.0.5,fd00::/8): the
                         header is believed from a connection from one of them, and walked
                         back while its entries are in them too. Or a number of hops (1):
                         that many entries are believed, but only from a connection whose
                         address is loopback, private (10/8, 172.16/12, 192.168/16) or
                         unique-local (fc00::/7), never from the internet; a warning at
                         start recommends naming the proxies instead
  --max-name-length <n>  longest display name, 1..${LIMITS.maxNameLength} (default ${LIMITS.maxNameLength})
  --max-room-length <n>  longest room name, 1..${LIMITS.maxRoomLength} (default ${LIMITS.maxRoomLength})
  --heartbeat <ms>       ping interval; dead sockets are dropped after two (default ${DEFAULT_HEARTBEAT_MS})
  --ice-servers <list>   STUN/TURN servers given to every peer: a comma-separated list of
                         URLs (stun:host:3478,turn:host:3478) or a JSON array of
                         RTCIceServer objects ('[{"urls":"turn:h","username":"u","credential":"c"}]')
  --turn-urls <list>     TURN servers to hand out with time-limited credentials (coturn's
                         use-auth-secret): turn:host:3478?transport=udp,turns:host:443?transport=tcp
  --turn-secret <s>      the secret shared with the TURN server (static-auth-secret); or the
                         P2P_TURN_SECRET environment variable, or --turn-secret-file <path>
                         (safer than a flag, which other users can see in ps). Never logged.
  --turn-ttl <seconds>   how long a minted credential is valid (default ${DEFAULT_TURN_TTL_SECONDS}: a day);
                         peers get fresh ones every half of it
  --tls-cert <path>      serve https and wss on the port: a PEM certificate chain ...
  --tls-key <path>       ... and its key; SIGHUP reloads both (after a renewal)
  --allowed-origins <l>  comma-separated Origins allowed to connect (default: any); another
                         origin (or none) is closed at once with 4403 "origin-refused"
  --no-relay             do not relay chat for pairs that cannot connect directly (a browser
                         without WebRTC, or failed ICE); such users are told why instead.
                         Relaying is on by default: the server then sees that chat text.
  --redis <url>          share rooms with other processes of this server through Redis
                         (redis://[user:password@]host:6379[/db], rediss:// for TLS; or
                         P2P_REDIS_URL): peers on different processes chat as on one, and
                         clients given several server URLs fail over between them
  --redis-grace <s>      with --redis: how long the peers of a process that died may take
                         to come back through another before they are announced gone
                         (default ${DEFAULT_CLUSTER_GRACE_MS / 1000})
  --redis-prefix <p>     with --redis: prefix of its keys and channels (default p2p-chat:)
  --cluster-secret-file <path>
                         with --redis: a secret every process of the service shares (at least
                         ${MIN_CLUSTER_SECRET_LENGTH} characters; openssl rand -hex 32): the frames relayed between
                         processes through Redis (SDP, candidates, relayed chat) are then
                         encrypted and authenticated (AES-256-GCM); frames that are not are
                         dropped, counted in /metrics and logged. Or --cluster-secret <s>, or
                         P2P_CLUSTER_SECRET. Without it they cross Redis in clear (a warning
                         at start): whoever can read or write Redis can read and forge them
  --metrics <on|off>     serve GET /metrics (default on: to anyone who reaches the port)
  --metrics-token-file <path>
                         GET /metrics only with "Authorization: Bearer <token>" (else 401);
                         or --metrics-token <t>, or P2P_METRICS_TOKEN
  --metrics-listen <host:port>
                         serve /metrics on a listener of its own (plain HTTP), e.g.
                         127.0.0.1:9090, instead of on --port (which then answers 404)
  --log-level <level>    ${LOG_LEVELS.join(' | ')} (default info); JSON lines on stderr
  -h, --help             show this help

Environment: PORT and HOST are used when --port / --host are not given; P2P_TURN_SECRET
when no --turn-secret or --turn-secret-file is; P2P_REDIS_URL when no --redis is;
P2P_CLUSTER_SECRET and P2P_METRICS_TOKEN likewise (files and variables keep secrets out
of ps).
HTTP GET /healthz on the same port answers {"status":"ok","rooms":n,"clients":n}; with
--redis also "pid", "node" and "redis":"up", and 503 with "status":"redis-down" while
Redis is unreachable. GET /metrics: counters and gauges in the Prometheus text format.
`;

/** Files the command line names, read by the CLI itself (parsing stays pure). */
export interface CliFiles {
  readonly turnSecretFile?: string;
  readonly clusterSecretFile?: string;
  readonly metricsTokenFile?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'run'; readonly options: SignalingServerOptions; readonly logLevel: LogLevel; readonly files: CliFiles }
  | { readonly kind: 'error'; readonly message: string };

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new RangeError(`--${name} must be a whole number, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max) throw new RangeError(`--${name} must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function rate(name: string, raw: string): { perSecond: number; burst: number } {
  const match = /^(\d+)(?:\/(\d+))?$/.exec(raw.trim());
  if (!match) throw new RangeError(`--${name} must be a rate, or a rate and a burst: "10" or "10/100", got "${raw}".`);
  const perSecond = integer(name, match[1]!, 1, 1_000_000);
  const burst = match[2] === undefined ? perSecond * 10 : integer(name, match[2], 1, 10_000_000);
  return { perSecond, burst };
}

function iceServers(raw: string): readonly IceServer[] {
  const trimmed = raw.trim();
  let value: unknown;
  if (trimmed.startsWith('[')) {
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new RangeError('--ice-servers is not valid JSON.');
    }
  } else {
    value = trimmed === '' ? [] : trimmed.split(',').map((url) => ({ urls: url.trim() }));
  }
  const parsed = parseIceServers(value);
  if (!parsed.ok) throw new RangeError(`--ice-servers: ${parsed.error.message}`);
  for (const server of parsed.value) {
    for (const url of typeof server.urls === 'string' ? [server.urls] : server.urls) {
      if (!/^(stun|stuns|turn|turns):/.test(url)) throw new RangeError(`--ice-servers: "${url}" is not a stun:/turn: URL.`);
    }
  }
  return parsed.value;
}

function turnAndTls(values: Record<string, string | boolean | undefined>, env: Readonly<Record<string, string | undefined>>): CliFiles {
  void env;
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) throw new RangeError('--tls-cert and --tls-key go together.');
  const secretFile = values['turn-secret-file'] as string | undefined;
  if (secretFile !== undefined && values['turn-secret'] !== undefined) throw new RangeError('give --turn-secret or --turn-secret-file, not both.');
  return {
    ...(secretFile === undefined ? {} : { turnSecretFile: secretFile }),
    ...(cert === undefined ? {} : { tlsCert: cert }),
    ...(key === undefined ? {} : { tlsKey: key }),
  };
}

function redisOption(values: Record<string, string | boolean | undefined>, env: Readonly<Record<string, string | undefined>>): ClusterSettings | undefined {
  const url = (values['redis'] as string | undefined) ?? env['P2P_REDIS_URL'];
  const grace = values['redis-grace'] as string | undefined;
  const prefix = values['redis-prefix'] as string | undefined;
  if (url === undefined || url === '') {
    if (grace !== undefined || prefix !== undefined) throw new RangeError('--redis-grace and --redis-prefix need --redis (or P2P_REDIS_URL).');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`--redis must be a URL like redis://host:6379, got "${url}".`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new RangeError(`--redis must be a redis:// or rediss:// URL, got "${parsed.protocol}".`);
  if (prefix !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) throw new RangeError('--redis-prefix: 1 to 64 of A-Z a-z 0-9 _ . : -');
  return {
    url,
    ...(grace === undefined ? {} : { graceMs: integer('redis-grace', grace, 1, 3600) * 1000 }),
    ...(prefix === undefined ? {} : { prefix }),
  };
}

/**
 * A secret given as `--<flag> <s>`, `--<flag>-file <path>` (read by the CLI) or the
 * `variable` (when neither flag is given; empty counts as unset).
 */
function secretOption(
  values: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
  flag: string,
  variable: string,
): { readonly value?: string; readonly file?: string; readonly flagged: boolean } {
  const value = values[flag] as string | undefined;
  const file = values[`${flag}-file`] as string | undefined;
  if (value !== undefined && file !== undefined) throw new RangeError(`give --${flag} or --${flag}-file, not both.`);
  if (value === '') throw new RangeError(`--${flag} is empty.`);
  if (file !== undefined) return { file, flagged: true };
  const secret = value ?? (env[variable] || undefined);
  return { ...(secret === undefined ? {} : { value: secret }), flagged: value !== undefined };
}

/** `--cluster-secret`: only with --redis. */
function clusterSecretOption(
  values: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
  cluster: ClusterSettings | undefined,
): { readonly settings: ClusterSettings | undefined; readonly file?: string } {
  const secret = secretOption(values, env, 'cluster-secret', 'P2P_CLUSTER_SECRET');
  if (!cluster) {
    if (secret.flagged) throw new RangeError('--cluster-secret needs --redis (or P2P_REDIS_URL).');
    return { settings: undefined };
  }
  if (secret.value !== undefined && secret.value.length < MIN_CLUSTER_SECRET_LENGTH)
    throw new RangeError(`--cluster-secret: at least ${MIN_CLUSTER_SECRET_LENGTH} characters (openssl rand -hex 32 makes a good one).`);
  return {
    settings: secret.value === undefined ? cluster : { ...cluster, clusterSecret: secret.value },
    ...(secret.file === undefined ? {} : { file: secret.file }),
  };
}

/** `--metrics`, `--metrics-token(-file)`, `--metrics-listen`: undefined keeps the default (served to anyone). */
function metricsOption(
  values: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
): { readonly metrics: false | MetricsSettings | undefined; readonly file?: string } {
  const mode = (values['metrics'] as string | undefined) ?? 'on';
  if (mode !== 'on' && mode !== 'off') throw new RangeError(`--metrics must be on or off, got "${mode}".`);
  const token = secretOption(values, env, 'metrics-token', 'P2P_METRICS_TOKEN');
  const listenRaw = values['metrics-listen'] as string | undefined;
  if (mode === 'off') {
    if (token.flagged || listenRaw !== undefined) throw new RangeError('--metrics off goes with neither --metrics-token nor --metrics-listen.');
    return { metrics: false };
  }
  if (token.value !== undefined && !/^[\x21-\x7e]+$/.test(token.value)) throw new RangeError('--metrics-token: printable ASCII without spaces.');
  let listen: MetricsSettings['listen'];
  if (listenRaw !== undefined) {
    const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d+)$/.exec(listenRaw.trim());
    if (!match) throw new RangeError(`--metrics-listen must be host:port or a port (127.0.0.1:9090), got "${listenRaw}".`);
    const host = match[1]?.replace(/^\[(.*)\]$/, '$1');
    listen = { port: integer('metrics-listen', match[2]!, 0, 65535), ...(host === undefined ? {} : { host }) };
  }
  if (token.value === undefined && token.file === undefined && !listen) return { metrics: undefined };
  return {
    metrics: { ...(token.value === undefined ? {} : { token: token.value }), ...(listen ? { listen } : {}) },
    ...(token.file === undefined ? {} : { file: token.file }),
  };
}

/** Checked here so a bad value is a usage error, not a crash at start-up. */
function trustProxyOption(raw: string): string {
  try {
    parseTrustProxy(raw);
  } catch (error) {
    throw new RangeError(`--${(error as Error).message}`, { cause: error });
  }
  return raw;
}

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): CliCommand {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'max-room-size': { type: 'string' },
        'max-payload': { type: 'string' },
        rate: { type: 'string' },
        burst: { type: 'string' },
        'max-clients': { type: 'string' },
        'max-connections-per-ip': { type: 'string' },
        'join-rate': { type: 'string' },
        'room-join-rate': { type: 'string' },
        'trust-proxy': { type: 'string' },
        'turn-urls': { type: 'string' },
        'turn-secret': { type: 'string' },
        'turn-secret-file': { type: 'string' },
        'turn-ttl': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'max-name-length': { type: 'string' },
        'max-room-length': { type: 'string' },
        heartbeat: { type: 'string' },
        'ice-servers': { type: 'string' },
        'allowed-origins': { type: 'string' },
        'no-relay': { type: 'boolean' },
        'log-level': { type: 'string' },
        redis: { type: 'string' },
        'redis-grace': { type: 'string' },
        'redis-prefix': { type: 'string' },
        'cluster-secret': { type: 'string' },
        'cluster-secret-file': { type: 'string' },
        metrics: { type: 'string' },
        'metrics-token': { type: 'string' },
        'metrics-token-file': { type: 'string' },
        'metrics-listen': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return { kind: 'help' };
    const logLevel = values['log-level'] ?? 'info';
    if (!isLogLevel(logLevel)) throw new RangeError(`--log-level must be one of ${LOG_LEVELS.join(', ')}.`);
    const portRaw = values.port ?? env['PORT'];
    const options: SignalingServerOptions = {
      port: portRaw === undefined ? DEFAULT_PORT : integer('port', portRaw, 0, 65535),
      host: values.host ?? env['HOST'] ?? DEFAULT_HOST,
      maxRoomSize: values['max-room-size'] === undefined ? LIMITS.maxRoomSize : integer('max-room-size', values['max-room-size'], 2, 100),
      maxPayload: values['max-payload'] === undefined ? LIMITS.maxFrameBytes : integer('max-payload', values['max-payload'], 1024, 16 * 1024 * 1024),
      heartbeatMs: values.heartbeat === undefined ? DEFAULT_HEARTBEAT_MS : integer('heartbeat', values.heartbeat, 100, 3_600_000),
      iceServers: values['ice-servers'] === undefined ? [] : iceServers(values['ice-servers']),
      ...(values.rate === undefined ? {} : { messagesPerSecond: integer('rate', values.rate, 1, 100_000) }),
      ...(values.burst === undefined ? {} : { messageBurst: integer('burst', values.burst, 1, 100_000) }),
      ...(values['max-clients'] === undefined ? {} : { maxClients: integer('max-clients', values['max-clients'], 1, 10_000_000) }),
      ...(values['max-connections-per-ip'] === undefined
        ? {}
        : { maxConnectionsPerIp: integer('max-connections-per-ip', values['max-connections-per-ip'], 0, 10_000_000) }),
      ...(values['join-rate'] === undefined ? {} : { joinsPerIp: rate('join-rate', values['join-rate']) }),
      ...(values['room-join-rate'] === undefined ? {} : { joinsPerRoom: rate('room-join-rate', values['room-join-rate']) }),
      ...(values['trust-proxy'] === undefined ? {} : { trustProxy: trustProxyOption(values['trust-proxy']) }),
      ...(values['max-name-length'] === undefined ? {} : { maxNameLength: integer('max-name-length', values['max-name-length'], 1, LIMITS.maxNameLength) }),
      ...(values['max-room-length'] === undefined ? {} : { maxRoomLength: integer('max-room-length', values['max-room-length'], 1, LIMITS.maxRoomLength) }),
      relay: !values['no-relay'],
      allowedOrigins: (values['allowed-origins'] ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    };
    const files = turnAndTls(values, env);
    const turnUrls = values['turn-urls'] === undefined ? undefined : parseTurnUrls(values['turn-urls']);
    const secret = values['turn-secret'] ?? (files.turnSecretFile === undefined ? env['P2P_TURN_SECRET'] : undefined);
    const hasSecret = secret !== undefined || files.turnSecretFile !== undefined;
    if (turnUrls && !hasSecret)
      throw new RangeError('--turn-urls needs the secret shared with the TURN server: --turn-secret-file, --turn-secret or P2P_TURN_SECRET.');
    if (!turnUrls && (values['turn-secret'] !== undefined || files.turnSecretFile !== undefined))
      throw new RangeError('--turn-secret needs --turn-urls (the TURN servers to hand out).');
    if (secret === '') throw new RangeError('--turn-secret is empty.');
    const ttlSeconds = values['turn-ttl'] === undefined ? DEFAULT_TURN_TTL_SECONDS : integer('turn-ttl', values['turn-ttl'], 10, 7 * 24 * 3600);
    const withTurn: SignalingServerOptions = turnUrls ? { ...options, turn: { urls: turnUrls, secret: secret ?? '', ttlSeconds } } : options;
    const cluster = clusterSecretOption(values, env, redisOption(values, env));
    const metrics = metricsOption(values, env);
    return {
      kind: 'run',
      options: {
        ...withTurn,
        ...(cluster.settings ? { redis: cluster.settings } : {}),
        ...(metrics.metrics === undefined ? {} : { metrics: metrics.metrics }),
      },
      logLevel,
      files: {
        ...files,
        ...(cluster.file === undefined ? {} : { clusterSecretFile: cluster.file }),
        ...(metrics.file === undefined ? {} : { metricsTokenFile: metrics.file }),
      },
    };
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}
