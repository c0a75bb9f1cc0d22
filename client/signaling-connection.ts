/**
 * The connection to the signaling server: opens the WebSocket, joins the room (phase 1 of
 * the reference: `new-peer`), and keeps trying after the socket drops (exponential backoff
 * with jitter, rejoining with the resume token so the id stays the same).
 *
 * Signals sent while not joined are queued, not dropped, and go out once the server has
 * welcomed us again (`flushQueued`): an offer or candidate made during an outage (a network change kills
 * the socket and ICE together) would otherwise be lost while the negotiation believed it
 * sent, wedging the pair.
 *
 * A server that refuses this page's origin closes with `CLOSE_ORIGIN_REFUSED`: retrying
 * cannot help (only its operator can allow the origin), so that ends the connection for
 * good, saying why, through `unusable`.
 */
import {
  CLOSE_ORIGIN_REFUSED,
  PROTOCOL_VERSION,
  encode,
  parseServerMessage,
  type ClientMessage,
  type NewPeerRequest,
  type ProtocolError,
  type ServerMessage,
} from '../protocol/index.js';

/** The part of the WebSocket API the client uses (the browser's, or `ws` in Node). */
export interface SignalingSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** A `close` listener is handed the event too (its `code` is read when there is one). */
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}
export type SocketConstructor = new (url: string) => SignalingSocket;

export type SignalingStatus = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'disconnected' | 'closed';

export interface ReconnectSettings {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface SignalingConnectionOptions {
  /**
   * The server's URL, or several separated by spaces (processes of one service sharing
   * rooms through Redis): one is picked at random, and each reconnect goes to the next.
   */
  readonly url: string;
  readonly room: string;
  readonly name: string | undefined;
  readonly webrtc: boolean;
  readonly Socket: SocketConstructor;
  /** `false`: do not reconnect after the socket drops. */
  readonly reconnect: false | ReconnectSettings | undefined;
  /** A resume token kept from an earlier page (a reload): the first join asks for that id. */
  readonly resume?: string | undefined;
  /** Say in the join that this page keeps its token across a reload (protocol version 8). */
  readonly persist?: boolean;
}

export interface SignalingConnectionHooks {
  /** A message from the server, parsed and validated (unknown types never get here). */
  message(message: ServerMessage): void;
  /** A frame the server sent that does not parse. */
  badMessage(error: ProtocolError): void;
  /** A frame of a type this client does not know (a newer server): ignored. */
  unknownMessage(error: ProtocolError): void;
  /** A frame just sent (for the learning log); the resume token is left out. */
  sent(message: ClientMessage): void;
  /** The socket dropped (`wasJoined`: we had been welcomed on it); `retrying`: will reconnect. */
  dropped(wasJoined: boolean, attempt: number, retrying: boolean): void;
  /** The socket could not even be made, or the server refused this page's origin: no more retries. */
  unusable(reason: string): void;
}

const OPEN = 1;
/** Signals kept while not joined; an outage long enough to fill this ends with restarts anyway. */
const MAX_QUEUED = 1000;

/** What to say when the server at `url` refuses this page's origin (close `CLOSE_ORIGIN_REFUSED`). */
export function originRefused(url: string): string {
  const origin = (globalThis as { location?: { origin?: unknown } }).location?.origin;
  // A page always sends its origin ("null" from a file or a sandboxed frame); a client
  // outside a browser (the terminal client) sends none.
  if (typeof origin !== 'string') return `The signaling server at ${url} accepts only the page origins in its --allowed-origins, and this client sends none.`;
  if (origin === 'null')
    return `The signaling server at ${url} accepts only the origins in its --allowed-origins, and this page has none (opened from a file, or in a sandboxed frame): serve it over https from an allowed origin.`;
  return `This page's origin (${origin}) is not allowed by the signaling server at ${url}: ask its operator to add it to --allowed-origins.`;
}

/** The URLs of a `server` value: several separated by spaces (or one). */
export function serverUrls(value: string): string[] {
  return value.split(/\s+/).filter(Boolean);
}

export class SignalingConnection {
  readonly #urls: string[];
  /** Which of the URLs the current (or next) socket goes to. */
  #index: number;
  #socket: SignalingSocket | null = null;
  #joined = false;
  #closed = false;
  #resume: string | null = null;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextAttemptAt: number | null = null;
  readonly #queue: ClientMessage[] = [];

  constructor(
    readonly options: SignalingConnectionOptions,
    readonly hooks: SignalingConnectionHooks,
  ) {
    this.#urls = serverUrls(options.url);
    // At random, so the clients of a page spread over the processes.
    this.#index = Math.floor(Math.random() * this.#urls.length);
    this.#resume = options.resume || null;
    this.#name = options.name;
  }

  /** The name joins and rejoins give (a rename changes it). */
  #name: string | undefined;

  /** Asks the server for a new name (protocol version 8); later rejoins give it too. */
  rename(name: string): 'sent' | 'queued' | 'dropped' {
    this.#name = name;
    return this.send({ type: 'rename', name }, { queue: false });
  }

  /** The server refused a rename: rejoins give this name again (nothing is sent). */
  keepName(name: string | undefined): void {
    this.#name = name;
  }

  /** The token of the last welcome (a credential: it proves our id). */
  get resumeToken(): string | null {
    return this.#resume;
  }

  /** The server URL in use (or to be tried next). */
  get url(): string {
    return this.#urls[this.#index] ?? this.options.url;
  }

  /** When the next reconnect attempt is due (ms since the epoch), while waiting for it. */
  get nextAttemptAt(): number | null {
    return this.#nextAttemptAt;
  }

  /** Signals waiting for the next welcome. */
  get queued(): number {
    return this.#queue.length;
  }

  get joined(): boolean {
    return this.#joined;
  }

  open(): void {
    if (this.#closed) return;
    let socket: SignalingSocket | null = null;
    const refused: string[] = [];
    // A URL the WebSocket constructor refuses is skipped; unusable only when all are.
    for (let tried = 0; socket === null && tried < Math.max(1, this.#urls.length); tried++) {
      try {
        socket = new this.options.Socket(this.url);
      } catch (error) {
        refused.push(`"${this.url}": ${error instanceof Error ? error.message : String(error)}`);
        this.#index = (this.#index + 1) % Math.max(1, this.#urls.length);
      }
    }
    if (socket === null) {
      this.#closed = true;
      this.hooks.unusable(`Cannot connect to ${refused.join('; ')}`);
      return;
    }
    this.#socket = socket;
    socket.addEventListener('open', () => {
      if (this.#socket === socket) this.#write(this.#join());
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket) this.#onFrame(event.data);
    });
    socket.addEventListener('close', (event?: unknown) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      const wasJoined = this.#joined;
      this.#joined = false;
      if (this.#closed) return;
      if ((event as { code?: unknown } | undefined)?.code === CLOSE_ORIGIN_REFUSED) {
        this.#closed = true;
        this.#queue.length = 0;
        this.hooks.unusable(originRefused(this.url));
        return;
      }
      const retrying = this.options.reconnect !== false;
      // The next attempt goes to the next server (that one may be gone).
      this.#index = (this.#index + 1) % Math.max(1, this.#urls.length);
      if (retrying) this.#scheduleReconnect();
      this.hooks.dropped(wasJoined, this.#attempt, retrying);
    });
    socket.addEventListener('error', () => {});
  }

  #join(): NewPeerRequest {
    return {
      type: 'new-peer',
      room: this.options.room,
      ...(this.#name ? { name: this.#name } : {}),
      ...(this.#resume ? { resume: this.#resume } : {}),
      ...(this.options.webrtc ? {} : { webrtc: false as const }),
      ...(this.options.persist ? { persist: true as const } : {}),
      version: PROTOCOL_VERSION,
    };
  }

  /** Asks to join again on the open socket (the server refused the last try and kept the socket): false if there is none. */
  joinAgain(): boolean {
    return !this.#closed && !this.#joined && this.#write(this.#join());
  }

  /**
   * Sends a message now if joined; otherwise keeps it for after the next welcome.
   * `queue: false` for messages that make no sense later (none of the signals).
   */
  send(message: ClientMessage, { queue = true }: { queue?: boolean } = {}): 'sent' | 'queued' | 'dropped' {
    if (this.#closed) return 'dropped';
    if (this.#joined && this.#write(message)) return 'sent';
    if (!queue) return 'dropped';
    this.#queue.push(message);
    if (this.#queue.length > MAX_QUEUED) this.#queue.shift();
    return 'queued';
  }

  /** Forgets queued signals (our identity changed: they were made under the old one). */
  dropQueued(): void {
    this.#queue.length = 0;
  }

  /**
   * Sends what waited for the welcome, in order. The mesh calls it while handling the
   * welcome, once it knows who is here and before it makes new signals of its own.
   */
  flushQueued(): void {
    if (!this.#joined) return;
    for (const queued of this.#queue.splice(0)) this.#write(queued);
  }

  /** Reconnects now instead of waiting for the backoff timer. */
  reconnectNow(): boolean {
    if (this.#closed || this.#socket || this.#timer === null) return false;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#nextAttemptAt = null;
    this.open();
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#joined = false;
    this.#queue.length = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#nextAttemptAt = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, 'bye');
  }

  #write(message: ClientMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(encode(message));
    this.hooks.sent(message);
    return true;
  }

  #onFrame(data: unknown): void {
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      // A newer server may say things this client does not know: not an error.
      if (parsed.error.code === 'unknown-type') this.hooks.unknownMessage(parsed.error);
      else this.hooks.badMessage(parsed.error);
      return;
    }
    const message = parsed.value;
    if (message.type === 'welcome') {
      this.#joined = true;
      this.#attempt = 0;
      this.#resume = message.resume;
    }
    this.hooks.message(message);
  }

  #scheduleReconnect(): void {
    const settings = this.options.reconnect || {};
    const initial = settings.initialDelayMs ?? 250;
    const max = settings.maxDelayMs ?? 10_000;
    // Exponential backoff with jitter: between half and all of the capped delay.
    const capped = Math.min(max, initial * 2 ** this.#attempt);
    const delay = capped / 2 + Math.random() * (capped / 2);
    this.#attempt++;
    this.#nextAttemptAt = Date.now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#nextAttemptAt = null;
      this.open();
    }, delay);
  }
}
