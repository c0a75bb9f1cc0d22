import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { LIMITS, DEFAULT_ROOM, type ErrorCode, type IceServer } from '../protocol/index.js';
import { MeshController, type MessageLine, type TranscriptLine } from './mesh-controller.js';
import type { NotifyController } from './notify-controller.js';
import type { MeshStatus, SendResult } from '../client/mesh.js';
import type { MessageDetail, PeerInfo, PeerPath } from '../client/mesh-events.js';
import './peer-list.js';
import type { PeerVerification } from './peer-list.js';
import type { VerifyAnswerDetail } from './verify-dialog.js';
import type { VerificationOutcome } from '../client/peer-verification.js';
import './events.js';
import { visuallyHidden } from './shared-styles.js';
import { lookAlikes, safeName } from '../client/display-name.js';
import type { FileActions, renderFileLine } from './file-line.js';
import { nextFrame } from './next-frame.js';
import { attributeProblem, type CheckedAttribute } from './attribute-check.js';
import { addChatLanguage, chatStrings, languageOf, type ChatStrings } from './chat-strings.js';

const ignore = () => {};
/** Messages kept for the notifications' module while it loads (it counts them in the title). */
const NOTIFY_BACKLOG = 50;
/**
 * Renders closer together than this wait for the next frame: in a burst every message is
 * a task of its own, and each render goes over the whole transcript (measured in Firefox,
 * four chats, 1,600 lines: 2,758 renders, 9 s of main thread, which starved the
 * connections still forming). A message after a pause shows at once.
 */
const RENDER_GAP_MS = 16;

/** Created on first use: setting up Intl costs page start-up time. */
let timeFormat: Intl.DateTimeFormat | null = null;
const formatTime = (at: number) => (timeFormat ??= new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })).format(at);

/** `<peer-list>`'s parts, exported from `<p2p-chat>` with the prefix `peers-` (its own parts share some names). */
/** The attributes checked before use, by property. */
const CHECKED_ATTRIBUTES: readonly (readonly [keyof P2pChat & string, CheckedAttribute])[] = [
  ['server', 'server'],
  ['room', 'room'],
  ['name', 'name'],
  ['iceTransportPolicy', 'ice-transport-policy'],
  ['maxFileSize', 'max-file-size'],
  ['autoAcceptImages', 'auto-accept-images'],
  ['history', 'history'],
  ['lang', 'lang'],
];
/** What an attribute that cannot be used falls back to when it had no good value before. */
const DEFAULTS: Partial<Record<keyof P2pChat & string, unknown>> = {
  name: '',
  iceTransportPolicy: '',
  maxFileSize: 2 ** 31,
  autoAcceptImages: 10_000_000,
  history: '',
};

const PEER_LIST_PARTS = [
  'list',
  'peer',
  'name',
  'id-tag',
  'state',
  'away',
  'blocked',
  'muted',
  'transport',
  'path',
  'encryption',
  'verify',
  'verified',
  'mismatch',
  'changed',
  'verified-as',
  'identity-missing',
  'looks-like',
  'private',
  'empty',
]
  .map((part) => `${part}: peers-${part}`)
  .join(', ');

/**
 * A peer-to-peer group chat. Messages travel browser-to-browser over WebRTC data
 * channels (a full mesh); the signaling server at `server` only introduces the peers.
 *
 * ```html
 * <p2p-chat server="ws://localhost:8080" room="lobby" name="Ann"></p2p-chat>
 * ```
 *
 * @fires p2p-welcome - joined the room: `{ id, room, peers }`
 * @fires p2p-peer-join - a peer is in the room: `{ id, name }`
 * @fires p2p-peer-leave - a peer left or its connection failed for good: `{ id }`
 * @fires p2p-peer-rename - a peer took a new name without leaving: `{ id, name, previous }`
 * @fires p2p-peer-state - a peer's connection state changed: `{ id, state }`
 * @fires p2p-channel-open - the data channel to a peer opened: `{ id }`
 * @fires p2p-channel-close - the data channel to a peer closed: `{ id }`
 * @fires p2p-typing - a peer is typing: `{ id }` (shown for 4 s, or until its message arrives)
 * @fires p2p-message - a chat message arrived: `{ from, name, text, at, id, private? }`; cancelable: `preventDefault()` keeps it off the screen (filter, moderate)
 * @fires p2p-message-status - peers confirmed one of your messages: `{ id, delivered, of, peers }`
 * @fires p2p-presence - a peer went away (its page hidden) or came back: `{ id, state: 'away' | 'active' }`
 * @fires p2p-history - earlier messages the peers already here passed on when you joined: `{ messages }` (each `{ from, name, text, at, id, history: true, via }`); cancelable: `preventDefault()` keeps them off the screen
 * @fires p2p-error - something went wrong: `{ code, message }` (codes are stable)
 * @fires p2p-signal - a signaling step, for learning logs: `{ direction, message, peer?, at }`
 * @fires p2p-status - the signaling connection changed: `{ status, nextAttemptAt? }`
 * @fires p2p-verify-code - a safety-code comparison finished: `{ id, code, local, remote, source, startedByPeer }`
 * @fires p2p-peer-verify - the person said whether the compared codes matched: `{ id, match, code }`
 * @fires p2p-peer-identity - a peer's identity key was checked: `{ id, key, status: new|verified|changed|missing, reason?, verifiedAs?, looksLike? }`
 * @fires p2p-file-offer - a peer offers a file: `{ id, peer, direction, name, size, mime, autoAccept }` (accept with `acceptFile(id)`)
 * @fires p2p-file-progress - a transfer moved: `{ id, peer, direction, name, size, mime, bytes, percent, bytesPerSecond, secondsLeft }`
 * @fires p2p-file-complete - a file arrived and every block matched its SHA-256 (both sides): `{ …, file, verified }`
 * @fires p2p-file-error - a transfer ended without the file (declined, cancelled, refused, broken): `{ …, code, message }`
 * @csspart verify - the safety-code dialog (`<p2p-verify-dialog>`)
 * @csspart file - a file line in the log (also `own` for files this user sends)
 * @csspart file-name - a file's name (cleaned: no path, no invisible or reordering characters)
 * @csspart file-progress - a transfer's `<progress>` bar
 * @csspart file-accept - the Accept button of an offered file
 * @csspart file-decline - the Decline button of an offered file
 * @csspart file-cancel - the Cancel button of a transfer under way
 * @csspart file-verified - "verified", once every block matched
 * @csspart file-image - a received (or sent) image, shown inline
 * @csspart file-save - the link that saves a received file
 * @csspart attach - the button that picks files to send
 * @csspart typing - "Ann is typing…" under the messages (empty when nobody is)
 * @csspart private - "private" beside a private message (and "to Name" on one this user sent)
 * @csspart private-to - above the message box while writing privately: to whom, and a button back to everyone
 * @csspart peers-list - `<peer-list>`'s parts, exported with the prefix `peers-`: `peers-list`, `peers-peer`, `peers-name`, `peers-state`, `peers-transport`, `peers-path`, `peers-encryption`, `peers-verify`, `peers-verified`, `peers-mismatch`, `peers-changed`, `peers-verified-as`, `peers-identity-missing`, `peers-looks-like`, `peers-id-tag`, `peers-empty`
 *
 * @csspart container - the whole chat
 * @csspart header - room name and status line
 * @csspart status - the status line (role=status)
 * @csspart peers - the `<peer-list>`
 * @csspart messages - the list of messages (inside a role=log live region: new lines are announced, once)
 * @csspart earlier - the list of earlier messages peers passed on when this user joined (above the messages, not announced)
 * @csspart earlier-divider - the line under the earlier messages
 * @csspart receipt - "delivered to 2 of 3" on a message this user sent (once a peer confirmed it)
 * @csspart via - "earlier, passed on by Name" on an earlier message (also the part `earlier` on its line)
 * @csspart message - one message; own messages also have the part `own`
 * @csspart own - a message this user sent
 * @csspart restored - a message kept in this browser from before a reload (`persist`)
 * @csspart signed - "signed by its author" on an earlier message whose author's signature was checked
 * @csspart notice - a join/leave/error line in the log
 * @csspart name - a message's sender name (invisible and text-reordering characters removed)
 * @csspart id-tag - a short sender id shown beside names that look like another's
 * @csspart time - a message's time
 * @csspart text - a message's text
 * @csspart form - the message form
 * @csspart label - the input's label
 * @csspart input - the message input
 * @csspart send - the send button
 *
 * @cssprop [--p2p-chat-font=1em/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif] - font of the whole chat (a `font` shorthand; `inherit` takes the page's)
 * @cssprop [--p2p-chat-height=24rem] - height of the chat
 * @cssprop [--p2p-chat-background=Canvas] - background colour
 * @cssprop [--p2p-chat-color=CanvasText] - text colour
 * @cssprop [--p2p-chat-accent=light-dark(#0969da,#4493f8)] - accent (button, own-name) colour
 * @cssprop [--p2p-chat-on-accent=light-dark(#ffffff,#0d1117)] - text on the accent (the Send button)
 * @cssprop [--p2p-chat-accent-contrast=var(--p2p-chat-on-accent)] - text on the accent, by its newer name: pick one with at least 4.5:1 against your `--p2p-chat-accent`
 * @cssprop [--p2p-chat-own-background=light-dark(rgba(9,105,218,0.08),rgba(68,147,248,0.16))] - background of own messages
 * @cssprop [--p2p-chat-border=1px solid rgba(127,127,127,0.35)] - borders
 * @cssprop [--p2p-chat-radius=0.5rem] - corner radius
 * @cssprop [--p2p-chat-error-color=light-dark(#cf222e,#ff7b72)] - colour of error notices
 */
export class P2pChat extends LitElement {
  /** `chat.focus()` and a click on the chat's frame land in it (the message box, for `focus()`). */
  static override shadowRootOptions: ShadowRootInit = { ...LitElement.shadowRootOptions, delegatesFocus: true };

  static override properties = {
    server: { type: String, reflect: true },
    room: { type: String, reflect: true },
    name: { type: String, reflect: true },
    iceTransportPolicy: { type: String, reflect: true, attribute: 'ice-transport-policy' },
    identity: { type: String },
    iceServers: { attribute: false },
    maxFileSize: { type: Number, attribute: 'max-file-size' },
    autoAcceptImages: { type: Number, attribute: 'auto-accept-images' },
    history: { type: String },
    notify: { type: Boolean, reflect: true },
    persist: { type: Boolean, reflect: true },
    lang: { type: String },
  };

  /**
   * The language of every string the chat shows: `en`, `ko` (its strings load on demand
   * from a file beside the chat's) or one an app added with `P2pChat.addLanguage`.
   * Default: the nearest `lang` around the chat, else the document's.
   */
  override lang = '';

  /**
   * Adds (or extends) a language for every chat of the page: `lang` a BCP 47 tag (`fr`,
   * `pt-BR`), `strings` any of the strings in components/chat-strings.ts (those left out
   * stay English). Chats with that `lang` use it from their next update.
   */
  static addLanguage(lang: string, strings: Partial<ChatStrings>): void {
    addChatLanguage(lang, strings);
    for (const chat of document.querySelectorAll('p2p-chat')) chat.requestUpdate();
  }

  /** The strings in the chat's language (English while another language's file loads). */
  #strings(): ChatStrings {
    return chatStrings(languageOf(this), () => this.requestUpdate());
  }

  /**
   * Survives a reload: this tab keeps its id (the resume token, in sessionStorage, only
   * from the page going away to the next one reading it) and the room's last 200
   * messages in this browser (IndexedDB; `clearHistory()` forgets them). Peers wait up to
   * 10 s for a page that went away without leaving, so a reload shows no leave and join.
   * Read when the chat joins.
   */
  persist = false;

  /**
   * History for late joiners: empty (the default) keeps the room's last 200 public
   * messages of the last 24 hours, passes them on to peers who join later and shows those
   * the peers already here pass on when you join (marked as earlier, and by whom); a
   * number instead of 200 (at most 500); `off`: none of that. Read when the chat joins.
   */
  history = '';
  /**
   * While the page is hidden, each new message raises a desktop notification (the browser
   * asks the person once, at their first message sent) and counts in the page's title,
   * "(3) Title", until the page shows again.
   */
  notify = false;
  /** Files offered by peers larger than this many bytes are declined at once (default 2 GiB). */
  maxFileSize = 2 ** 31;
  /** Raster images (PNG, JPEG, GIF, WebP, AVIF, BMP) up to this many bytes are accepted without asking (default 10 MB; 0: ask for every file). */
  autoAcceptImages = 10_000_000;

  /**
   * Signaling server URL, e.g. `ws://localhost:8080`, or several separated by spaces (the
   * processes of one service sharing rooms through Redis): the chat picks one at random
   * and goes to the next when it fails, keeping its id. Nothing happens until it is set.
   */
  server = '';
  /** The room to join. */
  room = DEFAULT_ROOM;
  /**
   * Which long-lived identity key of this browser profile to use: empty for the default
   * one, another name for another, `ephemeral` for a new key that is not kept (README,
   * "Verifying who you talk to").
   */
  identity = '';
  /**
   * Your display name (default: the server's `guest-xxxx`). Changed while joined, it is a
   * rename: the peers keep their connections and see "Ann is now Annie" (an older server:
   * the chat rejoins instead).
   */
  name = '';
  /**
   * `relay`: connect only through TURN, so peers never learn your addresses ("hide my IP
   * address"; the server must hand out a TURN server). Default `all`.
   */
  iceTransportPolicy: RTCIceTransportPolicy | '' = '';
  /** Your own STUN/TURN servers instead of the ones the signaling server hands out. */
  iceServers: RTCIceServer[] | null = null;

  /** A `server` or `room` the chat cannot use (said in the status line): it does not join while one stands. */
  #unusable: string | null = null;

  // Removing an attribute sets its property to null: every setting tolerates that.
  readonly #mesh = new MeshController(this, () => {
    const name = (this.name ?? '').trim();
    if (!this.server || this.#unusable) return null;
    return {
      server: this.server,
      room: this.room || DEFAULT_ROOM,
      ...(name ? { name } : {}),
      ...(this.iceTransportPolicy === 'relay' || this.iceTransportPolicy === 'all' ? { iceTransportPolicy: this.iceTransportPolicy } : {}),
      ...(this.identity ? { identity: this.identity } : {}),
      ...(this.iceServers ? { iceServers: this.iceServers as IceServer[] } : {}),
      ...this.#fileLimits(),
      history: this.#historySettings(),
      ...(this.persist ? { persist: true } : {}),
    };
  });

  // What only some chats use loads on demand (dist/chunks/ in the drop-in): notifications
  // once `notify` is set, a file's line once there is a file, the dialog at a first
  // comparison of safety codes. A chunk that cannot load leaves that part out: files and
  // comparisons need the Mesh's own chunks, whose failure the chat reports already.
  #notifications: NotifyController | null = null;
  #notificationsLoading = false;
  /** While that module is on its way: the messages it must still count, and whether the person acted (permission). */
  readonly #notifyBacklog: MessageDetail[] = [];
  #askPermissionOnLoad = false;
  #renderFileLine: typeof renderFileLine | null = null;
  #fileLineLoading: Promise<void> | null = null;
  #verifyDialogLoading = false;

  #loadOnDemand(): void {
    if (this.notify && !this.#notificationsLoading) {
      this.#notificationsLoading = true;
      void import('./notify-controller.js').then(({ NotifyController }) => {
        const notifications = new NotifyController(
          this,
          () => this.notify === true,
          () => this.room || DEFAULT_ROOM,
          (name, room, secret) => this.#strings().notification(name, room, secret),
        );
        this.#notifications = notifications;
        // Still within the person's action (browsers allow a few seconds after it).
        if (this.#askPermissionOnLoad) notifications.askPermission();
        for (const detail of this.#notifyBacklog.splice(0)) notifications.message(detail);
      }, ignore);
    }
    if (this.#mesh.hasFiles && !this.#fileLineLoading) {
      // The controller loads it (its file lines' bookkeeping is in it too) and has the waiting lines in before this.
      this.#fileLineLoading = this.#mesh.loadFiles().then((module) => {
        this.#renderFileLine = module?.renderFileLine ?? null;
        this.requestUpdate();
      });
    }
    if (this.#verifying && !this.#verifyDialogLoading) {
      this.#verifyDialogLoading = true;
      import('./verify-dialog.js').catch(ignore);
    }
  }

  #historySettings(): false | { limit?: number } {
    const value = (this.history ?? '').trim().toLowerCase();
    if (value === 'off' || value === 'false') return false;
    const limit = Number(value);
    return value !== '' && Number.isInteger(limit) && limit > 0 ? { limit } : {};
  }

  #fileLimits(): { maxFileSize: number; autoAcceptImages: number } {
    const bytes = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback);
    return { maxFileSize: bytes(this.maxFileSize, 2 ** 31), autoAcceptImages: bytes(this.autoAcceptImages, 10_000_000) };
  }

  /**
   * Offers a file to every peer in the room (or to the peer ids of `to`); resolves with the
   * transfers' ids (one per peer). Peers reached through the server relay are refused
   * (`p2p-file-error` with `file-needs-direct`): files only travel peer to peer.
   */
  sendFile(file: Blob, options: { to?: string | readonly string[] } = {}): Promise<string[]> {
    return this.#mesh.sendFile(file, options.to);
  }

  /** Accepts a file a peer offered (`p2p-file-offer`). */
  acceptFile(id: string): boolean {
    return this.#mesh.mesh?.acceptFile(id) ?? false;
  }

  declineFile(id: string): boolean {
    return this.#mesh.mesh?.declineFile(id) ?? false;
  }

  /** Cancels a transfer under way, either way: the other side is told. */
  cancelFile(id: string): boolean {
    return this.#mesh.mesh?.cancelFile(id) ?? false;
  }

  readonly #fileActions: FileActions = {
    accept: (id) => this.acceptFile(id),
    decline: (id) => this.declineFile(id),
    cancel: (id) => this.cancelFile(id),
  };

  #sendFiles(files: Iterable<File> | null | undefined): void {
    for (const file of files ?? []) void this.sendFile(file);
  }

  #onDrop(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    this.#dropping = false;
    this.#sendFiles(event.dataTransfer.files);
    this.requestUpdate();
  }

  #onDragOver(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    if (!this.#dropping) {
      this.#dropping = true;
      this.requestUpdate();
    }
  }

  #dropping = false;

  /** The file picker: an input made for the moment, so the chat's shadow tree keeps one text input. */
  #pickFiles(): void {
    const picker = document.createElement('input');
    picker.type = 'file';
    picker.multiple = true;
    picker.addEventListener('change', () => this.#sendFiles(picker.files), { once: true });
    picker.click();
  }

  /** A pasted image (a screenshot) is sent as a file; pasted text stays text. */
  #onPaste(event: ClipboardEvent): void {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    this.#sendFiles(files);
  }

  /** Our server-assigned peer id, once joined (null before). */
  get selfId(): string | null {
    return this.#mesh.selfId;
  }

  /**
   * The connection to the signaling server: `idle` (no server set, or left), `connecting`,
   * `joined`, `reconnecting`, `disconnected` or `closed`; `p2p-status` says when it changes.
   */
  get status(): MeshStatus {
    return this.#mesh.status;
  }

  /** Joins (again) with the current settings; the chat does this by itself when `server` is set or changes. */
  connect(): void {
    this.#mesh.restart();
  }

  /** Leaves the room: every connection closes, peers see this one leave; `connect()` joins again. The transcript stays. */
  leave(): void {
    this.#mesh.leave();
  }

  /**
   * Forgets this room's messages: the ones shown, the ones kept in this browser
   * (`persist`), and the ones this chat would pass on to peers who join later.
   */
  clearHistory(): Promise<void> {
    return this.#mesh.clearHistory();
  }

  /** Puts the focus in the message box. */
  override focus(options?: FocusOptions): void {
    const input = this.renderRoot.querySelector<HTMLInputElement>('input[part="input"]');
    if (input) input.focus(options);
    else super.focus(options);
  }

  /** The other peers of the room: `{ id, name, state }`. */
  get peers(): PeerInfo[] {
    return this.#mesh.peers;
  }

  /**
   * The underlying Mesh, for the learning inspector and tests; not part of the element's
   * API (use the attributes, `send`, `peers` and the `p2p-*` events).
   * @internal
   */
  get mesh() {
    return this.#mesh.mesh;
  }

  /** The safety-code comparison on screen: whose, its code or why it failed. */
  #verifying: { id: string; code: string | null; error: string | null; startedByPeer: boolean } | null = null;

  constructor() {
    super();
    this.#mesh.onMessageShown = (detail) => {
      if (this.#mesh.mesh?.isMuted(detail.from)) return;
      if (this.#notifications) this.#notifications.message(detail);
      else if (this.notify && document.visibilityState === 'hidden' && this.#notifyBacklog.push(detail) > NOTIFY_BACKLOG) this.#notifyBacklog.shift();
    };
    // A code for the dialog on screen. (A comparison the peer started opens nothing by
    // itself, which would take the focus from whatever the person was doing: a notice
    // says it, and their verify button shows the same code.)
    this.addEventListener('p2p-verify-code', (event) => {
      const { id, code } = event.detail;
      if (this.#verifying?.id !== id) return;
      // Another code than the one on screen is a new comparison: its buttons answer for it alone.
      this.#verifying = {
        ...this.#verifying,
        code,
        error: null,
        startedByPeer: this.#verifying.code !== null && this.#verifying.code !== code ? true : this.#verifying.startedByPeer,
      };
      this.requestUpdate();
    });
  }

  /**
   * Compares safety codes with a peer: opens the dialog, and resolves with the code both
   * sides now show (or why there is none). See README, "Verifying who you talk to".
   */
  async verifyPeer(id: string): Promise<VerificationOutcome> {
    this.#verifying = { id, code: null, error: null, startedByPeer: false };
    this.requestUpdate();
    const mesh = this.#mesh.mesh;
    const outcome: VerificationOutcome = mesh ? await mesh.verify(id) : { ok: false, reason: 'Not connected.' };
    if (outcome.ok && outcome.startedByPeer && this.#verifying?.id === id) this.#verifying = { ...this.#verifying, startedByPeer: true };
    if (this.#verifying?.id === id) {
      this.#verifying = outcome.ok ? { ...this.#verifying, code: outcome.code } : { ...this.#verifying, error: outcome.reason };
      this.requestUpdate();
    }
    return outcome;
  }

  /** Says whether the compared codes matched (as the dialog's buttons do); fires `p2p-peer-verify`. */
  confirmPeer(id: string, match: boolean): boolean {
    // The answer is about the code the dialog showed: if the connection has another by now, it is not taken.
    const shown = this.#verifying?.id === id ? (this.#verifying.code ?? undefined) : undefined;
    const done = this.#mesh.mesh?.confirmVerification(id, match, shown) ?? false;
    if (this.#verifying?.id === id) this.#verifying = null;
    this.requestUpdate();
    return done;
  }

  /** "✓ signed" says whose key signed the line, and only as much as that key is trusted here. */
  #signedMark(signer: MessageLine['signer'], s: ChatStrings) {
    const [text, title] =
      signer === 'verified'
        ? [s.signed, s.signedTitle]
        : signer === 'new' || signer === undefined
          ? [s.signedUnverified, s.signedUnverifiedTitle]
          : [s.signedChanged, s.signedChangedTitle];
    return html` <span part="signed" class="signed" data-signer=${signer ?? 'new'} title=${title}>${text}</span>`;
  }

  /**
   * What the peer list shows of each peer's trust, derived afresh from the facts each time
   * (the current connection's verdict and identity, and the peer's name now): a ✓ never
   * outlives the keys or the name it was given for.
   */
  #verifications(peers: readonly PeerInfo[]): { status: Record<string, PeerVerification>; names: Record<string, string> } {
    const mesh = this.#mesh.mesh;
    const status: Record<string, PeerVerification> = {};
    const names: Record<string, string> = {};
    for (const peer of mesh ? peers : []) {
      const { match, identity, verifiedAs } = mesh!.verificationOf(peer.id);
      const known = identity?.status;
      // A peer that can prove nothing here (an old version) but whose name was verified: a warning, without a button.
      const shown: PeerVerification | null = !mesh!.canVerify(peer.id)
        ? known === 'missing'
          ? 'missing'
          : null
        : match === false
          ? 'mismatch'
          : known === 'changed' || (known === 'missing' && !match)
            ? known
            : match || known === 'verified'
              ? 'match'
              : identity?.looksLike
                ? 'lookalike'
                : 'can';
      if (!shown) continue;
      status[peer.id] = shown;
      const name = shown === 'match' ? verifiedAs : shown === 'lookalike' ? identity!.looksLike : undefined;
      if (name) names[peer.id] = name;
    }
    return { status, names };
  }

  /**
   * Sends a chat message to every peer in the room. Messages to peers whose channel is
   * still opening wait and go out when it opens.
   */
  send(text: string): SendResult {
    return this.#mesh.send(text);
  }

  /** Sends a private message to one peer (only that peer gets it; both sides show it as private). */
  sendTo(id: string, text: string): SendResult {
    return this.#mesh.send(text, id);
  }

  /**
   * Blocks a peer here: its messages (those already shown too), typing, presence and the
   * earlier messages it passes on are hidden, its files declined; it is not told. The peer
   * list says **blocked**. Until `unblock(id)` or the chat leaves the room.
   */
  block(id: string): void {
    this.#mesh.mesh?.block(id);
    this.requestUpdate();
  }

  unblock(id: string): void {
    this.#mesh.mesh?.unblock(id);
    this.requestUpdate();
  }

  /**
   * Mutes a peer here: its messages are still shown, but raise no notification or title
   * count (`notify`), and its typing is not shown; it is not told. The peer list says
   * **muted**. Until `unmute(id)` or the chat leaves the room.
   */
  mute(id: string): void {
    this.#mesh.mesh?.mute(id);
    this.requestUpdate();
  }

  unmute(id: string): void {
    this.#mesh.mesh?.unmute(id);
    this.requestUpdate();
  }

  /** The peer the message box writes to privately (chosen in the peer list), or null for everyone. */
  #privateTo: string | null = null;

  #writePrivately(id: string | null): void {
    this.#privateTo = id;
    this.requestUpdate();
    void this.updateComplete.then(() => this.focus());
  }

  static override styles = [
    visuallyHidden,
    css`
      :host {
        display: block;
        /* Light or dark as the reader's system says (prefers-color-scheme); a page that
           wants one sets color-scheme on the element, or the colours below. */
        color-scheme: light dark;
        /* Its own sans-serif, not the page's (a plain page's is a serif): --p2p-chat-font: inherit takes the page's. */
        font: var(--p2p-chat-font, 1em/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif);
        color: var(--p2p-chat-color, CanvasText);
        background: var(--p2p-chat-background, Canvas);
        border: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
        border-radius: var(--p2p-chat-radius, 0.5rem);
        height: var(--p2p-chat-height, 24rem);
        box-sizing: border-box;
        overflow: hidden;
      }
      [part='container'] {
        display: grid;
        grid-template-rows: auto 1fr auto auto;
        grid-template-columns: minmax(0, 1fr) minmax(8rem, 12rem);
        grid-template-areas: 'header header' 'log peers' 'typing peers' 'form form';
        height: 100%;
      }
      header {
        grid-area: header;
        padding: 0.5rem 0.75rem;
        border-bottom: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        align-items: baseline;
      }
      h2 {
        font-size: 1em;
        margin: 0;
      }
      [part='status'] {
        margin: 0;
        font-size: 0.85em;
        opacity: 0.8;
      }
      peer-list {
        grid-area: peers;
        padding: 0.5rem 0.75rem;
        border-left: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
        overflow: auto;
        font-size: 0.9em;
      }
      .scroll {
        grid-area: log;
        display: flex;
        flex-direction: column;
        min-height: 0;
        overflow-y: auto;
      }
      .log {
        flex: 1;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0.5rem 0.75rem;
        display: flex;
        flex-direction: column;
        gap: 0.35rem;
      }
      .earlier-divider {
        margin: 0 0.75rem;
        padding-bottom: 0.25rem;
        border-bottom: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
        font-size: 0.8em;
        text-align: center;
      }
      .receipt {
        font-size: 0.8em;
        opacity: 0.8;
      }
      .via,
      .signed {
        font-size: 0.8em;
        font-style: italic;
      }
      li {
        overflow-wrap: anywhere;
      }
      .text {
        white-space: pre-wrap;
      }
      li.own {
        background: var(--p2p-chat-own-background, light-dark(rgba(9, 105, 218, 0.08), rgba(68, 147, 248, 0.16)));
        border-radius: var(--p2p-chat-radius, 0.5rem);
        padding: 0 0.25rem;
      }
      .name {
        font-weight: 600;
      }
      .id-tag {
        font-size: 0.8em;
        font-family: monospace;
        font-weight: normal;
        opacity: 0.8;
      }
      li.own .name {
        color: var(--p2p-chat-accent, light-dark(#0969da, #4493f8));
      }
      time {
        font-size: 0.8em;
        opacity: 0.7;
        margin-inline: 0.35rem;
      }
      li.notice {
        font-size: 0.85em;
        font-style: italic;
        opacity: 0.8;
      }
      li.notice.error {
        color: var(--p2p-chat-error-color, light-dark(#cf222e, #ff7b72));
        opacity: 1;
      }
      form {
        grid-area: form;
        display: flex;
        gap: 0.5rem;
        padding: 0.5rem 0.75rem;
        border-top: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
        align-items: center;
      }
      input {
        flex: 1;
        min-width: 0;
        font: inherit;
        padding: 0.35rem 0.5rem;
      }
      button {
        font: inherit;
        padding: 0.35rem 0.9rem;
        background: var(--p2p-chat-accent, light-dark(#0969da, #4493f8));
        color: var(--p2p-chat-accent-contrast, var(--p2p-chat-on-accent, light-dark(#ffffff, #0d1117)));
        border: none;
        border-radius: var(--p2p-chat-radius, 0.5rem);
        cursor: pointer;
      }
      button.secondary {
        background: transparent;
        color: inherit;
        border: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
        padding: 0.1rem 0.5rem;
      }
      li.file progress {
        width: min(12rem, 60%);
        vertical-align: middle;
      }
      li.file img {
        display: block;
        max-width: min(100%, 16rem);
        max-height: 12rem;
        margin-top: 0.25rem;
        border-radius: var(--p2p-chat-radius, 0.5rem);
      }
      [part='private-to'] {
        /* Shown first, though it comes last for the keyboard and for scripts looking for the message box. */
        order: -1;
        white-space: nowrap;
      }
      .private {
        font-size: 0.8em;
        font-style: italic;
        margin-inline-start: 0.35rem;
        color: var(--p2p-chat-accent, light-dark(#0969da, #4493f8));
      }
      .typing {
        grid-area: typing;
        margin: 0;
        padding: 0 0.75rem;
        min-height: 1.2em;
        font-size: 0.8em;
        font-style: italic;
        opacity: 0.8;
      }
      .file-name {
        font-weight: 600;
      }
      .file-state,
      .file-size {
        font-size: 0.85em;
        opacity: 0.8;
      }
      .file-verified {
        font-size: 0.85em;
        color: var(--peer-list-connected-color, light-dark(#1a7f37, #3fb950));
      }
      .file-error {
        color: var(--p2p-chat-error-color, light-dark(#cf222e, #ff7b72));
      }
      [part='container'].dropping {
        outline: 2px dashed var(--p2p-chat-accent, light-dark(#0969da, #4493f8));
        outline-offset: -4px;
      }
      button:disabled {
        opacity: 0.5;
        cursor: default;
      }
      @media (max-width: 30rem) {
        [part='container'] {
          grid-template-columns: 1fr;
          grid-template-rows: auto auto 1fr auto auto;
          grid-template-areas: 'header' 'peers' 'log' 'typing' 'form';
        }
        peer-list {
          border-left: none;
          border-bottom: var(--p2p-chat-border, 1px solid rgba(127, 127, 127, 0.35));
          max-height: 5rem;
        }
      }
    `,
  ];

  protected override willUpdate(changed: PropertyValues<this>): void {
    this.#checkAttributes(changed);
    if (['server', 'room', 'iceTransportPolicy', 'iceServers', 'identity'].some((key) => changed.has(key as keyof P2pChat))) this.#mesh.restart();
    // A new name while joined is a rename (the peers keep their connections); else a rejoin.
    else if (changed.has('name') && this.name !== changed.get('name') && !((this.name ?? '').trim() !== '' && this.#mesh.mesh?.rename(this.name)))
      this.#mesh.restart();
    if ((changed.has('maxFileSize') || changed.has('autoAcceptImages')) && this.#mesh.mesh) Object.assign(this.#mesh.mesh, this.#fileLimits());
  }

  /**
   * Each changed attribute the chat cannot use is said (`p2p-error` `bad-value` naming it).
   * A `server` or `room` that cannot be used stops the chat from joining (the status line
   * says why: joining another room than the one asked for would be worse); any other goes
   * back to its last good value (or its default), so the property reads what is in use.
   */
  #checkAttributes(changed: PropertyValues<this>): void {
    for (const [property, attribute] of CHECKED_ATTRIBUTES) {
      if (!changed.has(property)) continue;
      const value = this[property];
      const problem = attributeProblem(attribute, value);
      if (!problem) continue;
      const stops = attribute === 'server' || attribute === 'room';
      let said = `${attribute}="${String(value)}" cannot be used: ${problem}.`;
      if (!stops && attribute !== 'lang') {
        const previous = changed.get(property);
        const kept = previous === undefined || attributeProblem(attribute, previous) ? DEFAULTS[property] : previous;
        (this as Record<string, unknown>)[property] = kept;
        said += ` Using ${kept === '' ? 'the default' : `“${String(kept)}”`}.`;
      }
      this.dispatchEvent(new CustomEvent('p2p-error', { detail: { code: 'bad-value', message: said, attribute }, bubbles: true, composed: true }));
    }
    const server = attributeProblem('server', this.server);
    const room = attributeProblem('room', this.room);
    this.#unusable = server ? `The server attribute cannot be used: ${server}.` : room ? `The room “${this.room}” cannot be used: ${room}.` : null;
  }

  #stickToBottom = true;
  #scrollQueued = false;
  #renderedAt = -Infinity;

  protected override scheduleUpdate(): void | Promise<unknown> {
    if (performance.now() - this.#renderedAt > RENDER_GAP_MS) return super.scheduleUpdate();
    // Whatever else asks for a render until then joins this one.
    return nextFrame().then(() => super.scheduleUpdate());
  }

  protected override update(changed: PropertyValues<this>): void {
    // Before the DOM changes: follow new messages only if the reader was at the bottom.
    const log = this.renderRoot.querySelector?.('.scroll');
    if (log && !this.#scrollQueued) this.#stickToBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    super.update(changed);
  }

  /** Also waits for a file's line to be shown when its module is still on its way. */
  protected override async getUpdateComplete(): Promise<boolean> {
    const done = await super.getUpdateComplete();
    if (this.#renderFileLine || !this.#fileLineLoading) return done;
    await this.#fileLineLoading;
    return super.getUpdateComplete();
  }

  protected override updated(): void {
    this.#renderedAt = performance.now();
    this.#loadOnDemand();
    if (!this.#stickToBottom || this.#scrollQueued) return;
    // One scroll per frame, however many messages arrive: no layout per message.
    this.#scrollQueued = true;
    requestAnimationFrame(() => {
      this.#scrollQueued = false;
      const log = this.renderRoot.querySelector('.scroll');
      if (log) log.scrollTop = log.scrollHeight;
    });
  }

  /** The lines to show: none from a blocked peer (nor earlier ones it passed on). */
  #visible<T extends TranscriptLine>(lines: T[]): T[] {
    const blocked = new Set(this.#mesh.mesh?.blocked ?? []);
    if (blocked.size === 0) return lines;
    return lines.filter((line) => line.kind !== 'message' || (!blocked.has(line.from) && !blocked.has(line.via?.id ?? '')));
  }

  /** One chat message (live, or earlier: passed on by a peer when this side joined). */
  #messageLine(line: MessageLine, alike: ReadonlySet<string>, s: ChatStrings) {
    return html`<li
      part="message${line.own ? ' own' : ''}${line.via ? ' earlier' : ''}${line.restored ? ' restored' : ''}"
      class="${line.own ? 'own' : ''}${line.via ? ' earlier' : ''}"
      data-from=${line.from}
    >
      <span part="name" class="name"
        ><bdi>${safeName(line.name)}</bdi>${
          !line.own && alike.has(line.from)
            ? html` <span part="id-tag" class="id-tag" title=${s.sameNameTitle(line.from)}>#${line.from.slice(0, 4)}</span>`
            : nothing
        }</span
      >${
        line.privateWith
          ? html` <span part="private" class="private"
              >${line.own ? s.privateTo(html`<bdi>${safeName(line.privateWith.name)}</bdi>`) : nothing}${s.privateMark}</span
            >`
          : nothing
      }${line.via ? html` <span part="via" class="via">${s.passedOnBy(html`<bdi>${safeName(line.via.name)}</bdi>`)}</span>` : nothing}${
        line.signed ? this.#signedMark(line.signer, s) : nothing
      }<time part="time" datetime=${new Date(line.at).toISOString()}>${formatTime(line.at)}</time><span class="visually-hidden">: </span
      ><span part="text" class="text">${line.text}</span>${
        line.waiting
          ? html` <em class="undelivered">${s.waitingToJoin}</em>`
          : line.own && !line.via && !line.restored && line.reached === 0
            ? html` <em class="undelivered">${s.undelivered}</em>`
            : nothing
      }${line.confirmable ? html` <span part="receipt" class="receipt">${s.delivered(line.delivered ?? 0, line.confirmable)}</span>` : nothing}
    </li>`;
  }

  /** "Ann is typing…", "Ann and Bob are typing…", "3 people are typing…", or nothing. */
  #typingText(s: ChatStrings): string {
    const names = this.#mesh.typingNames.map((name) => safeName(name));
    if (names.length === 0) return '';
    if (names.length === 1) return s.typingOne(names[0]!);
    if (names.length === 2) return s.typingTwo(names[0]!, names[1]!);
    return s.typingMany(names.length);
  }

  #statusText(peers: readonly PeerInfo[], s: ChatStrings): string {
    const mesh = this.#mesh.mesh;
    const error = this.#mesh.lastError;
    const reason = error ? (s.errors[error.code] ?? error.message) : '';
    if (!mesh) return this.#unusable ?? (this.server ? s.notConnected : s.noServer);
    const open = peers.filter((p) => p.state === 'connected').length;
    const inSeconds = (due: number | null) => (due === null ? 0 : Math.max(0, Math.ceil((due - Date.now()) / 1000)));
    switch (mesh.status) {
      case 'connecting':
        // A join refused for its rate waits, then asks again.
        return mesh.refusal ? s.joiningAgain(inSeconds(mesh.nextAttemptAt)) : s.connecting(mesh.serverUrl);
      case 'refused':
        return (error && s.errors[error.code]) || mesh.refusal || reason;
      case 'joined': {
        if (!mesh.canChat) return reason || s.cannotChat;
        const relayed = peers.filter((p) => p.transport === 'relayed').length;
        const direct = peers.filter((p) => p.transport === 'direct' && p.state === 'connected').length;
        if (peers.length === 0) return s.alone;
        const parts = [s.connectedDirectly(direct, peers.length)];
        const clear = peers.filter((p) => p.transport === 'relayed' && p.encrypted !== true).length;
        if (relayed > clear) parts.push(s.relayedEncrypted(relayed - clear));
        if (clear > 0) parts.push(s.relayedClear(clear));
        return `${parts.join('; ')}.`;
      }
      case 'reconnecting':
        return s.reconnecting(inSeconds(mesh.nextAttemptAt), open);
      case 'disconnected':
        return s.disconnected(reason);
      default:
        return reason || s.closed;
    }
  }

  #paths(peers: readonly PeerInfo[]): Record<string, PeerPath> {
    const mesh = this.#mesh.mesh;
    const paths: Record<string, PeerPath> = {};
    for (const peer of peers) {
      const path = mesh?.pathTo(peer.id);
      if (path) paths[peer.id] = path;
    }
    return paths;
  }

  #onSubmit(event: SubmitEvent): void {
    event.preventDefault();
    if (this.#notifications) this.#notifications.askPermission();
    else this.#askPermissionOnLoad = this.notify;
    const input = this.renderRoot.querySelector('input');
    if (!input || input.value.trim() === '') return;
    const to = this.#privateTo !== null && this.peers.some((p) => p.id === this.#privateTo) ? this.#privateTo : null;
    const result = to === null ? this.send(input.value) : this.sendTo(to, input.value);
    // Sent or waiting to go out: the box empties. Reached nobody: the text stays, so it is
    // not lost, and the notice says why.
    if (result.message && !result.error) input.value = '';
    // Sent with the button: back to the box for the next message.
    if (event.submitter) input.focus();
  }

  override render() {
    const mesh = this.#mesh.mesh;
    const cannotSend: ErrorCode | null =
      !mesh || mesh.status === 'closed' || (mesh.status === 'refused' && mesh.nextAttemptAt === null)
        ? 'not-connected'
        : !mesh.canChat
          ? 'relay-disabled'
          : null;
    const selfName = mesh?.displayName ?? '';
    // The peer list is built afresh by each read of `peers`: read once per render.
    const peers = this.peers;
    const verifications = this.#verifications(peers);
    const alike = lookAlikes(peers, selfName);
    // A peer chosen for private messages that has left: back to everyone.
    const privateTo = this.#privateTo === null ? null : (peers.find((p) => p.id === this.#privateTo) ?? null);
    const s = this.#strings();
    const language = languageOf(this);
    return html`
      <section
        part="container"
        lang=${language}
        class=${this.#dropping ? 'dropping' : ''}
        aria-label=${s.chatRoom(this.room || DEFAULT_ROOM, selfName)}
        @dragover=${this.#onDragOver}
        @dragleave=${() => {
          this.#dropping = false;
          this.requestUpdate();
        }}
        @drop=${this.#onDrop}
      >
        <header part="header">
          <h2>#${this.room || DEFAULT_ROOM}</h2>
          <p part="status" role="status">${this.#statusText(peers, s)}</p>
        </header>
        <div class="scroll" tabindex="0" role="group" aria-label=${s.chatLabel}>
          ${
            this.#mesh.earlier.length === 0
              ? nothing
              : html`<section class="earlier" aria-label=${s.earlierLabel}>
                  <ol part="earlier">
                    ${repeat(
                      this.#visible(this.#mesh.earlier),
                      (line) => line.key,
                      (line) => this.#messageLine(line, alike, s),
                    )}
                  </ol>
                  <p part="earlier-divider" class="earlier-divider">${s.earlierDivider}</p>
                </section>`
          }
          <div class="log" role="log" aria-live="polite" aria-relevant="additions" aria-label=${s.messagesLabel}>
            <ol part="messages" aria-label=${s.messagesLabel}>
              ${repeat(
                this.#visible(this.#mesh.transcript),
                (line) => line.key,
                (line) =>
                  line.kind === 'file'
                    ? (this.#renderFileLine?.(line, this.#fileActions, s) ?? nothing)
                    : line.kind === 'message'
                      ? this.#messageLine(line, alike, s)
                      : html`<li part="notice" class="notice${line.error ? ' error' : ''}">
                          ${line.error ? html`<span class="visually-hidden">${s.errorPrefix}</span>` : nothing}${
                            line.say ? line.say(s) : ((line.code && s.errors[line.code]) ?? line.text)
                          }
                        </li>`,
              )}
            </ol>
          </div>
        </div>
        <p part="typing" class="typing">${this.#typingText(s)}</p>
        <peer-list
          part="peers"
          lang=${language}
          exportparts=${PEER_LIST_PARTS}
          .peers=${peers}
          .inRoom=${!!mesh?.selfId && (mesh.status === 'joined' || mesh.status === 'reconnecting')}
          .paths=${this.#paths(peers)}
          .verifications=${verifications.status}
          .verificationNames=${verifications.names}
          self-name=${selfName}
          @verify-request=${(event: CustomEvent<{ id: string }>) => void this.verifyPeer(event.detail.id)}
          .privateMessages=${true}
          @private-request=${(event: CustomEvent<{ id: string }>) => this.#writePrivately(event.detail.id)}
        ></peer-list>
        <p2p-verify-dialog
          part="verify"
          .strings=${s}
          .peerId=${this.#verifying?.id ?? ''}
          .peerName=${peers.find((p) => p.id === this.#verifying?.id)?.name ?? ''}
          .code=${this.#verifying?.code ?? null}
          .error=${this.#verifying?.error ?? null}
          .startedByPeer=${this.#verifying?.startedByPeer ?? false}
          @verify-answer=${(event: CustomEvent<VerifyAnswerDetail>) => this.confirmPeer(event.detail.id, event.detail.match)}
          @verify-close=${() => {
            this.#verifying = null;
            this.requestUpdate();
          }}
        ></p2p-verify-dialog>
        <form part="form" @submit=${this.#onSubmit}>
          <label part="label" for="message" class="visually-hidden">${s.messageLabel}</label>
          <input
            part="input"
            id="message"
            name="message"
            autocomplete="off"
            maxlength=${LIMITS.maxChatTextLength}
            placeholder=${privateTo ? s.placeholderPrivate(safeName(privateTo.name)) : s.placeholder}
            @keydown=${(event: KeyboardEvent) => event.key === 'Escape' && this.#privateTo !== null && this.#writePrivately(null)}
            @input=${(event: InputEvent) => (event.target as HTMLInputElement).value.trim() !== '' && this.#mesh.mesh?.typing(this.#privateTo)}
            ?disabled=${cannotSend !== null}
            @paste=${this.#onPaste}
          />
          <button part="send" type="submit" ?disabled=${cannotSend !== null}>${s.send}</button>
          <button
            part="attach"
            type="button"
            class="secondary"
            aria-label=${s.attach}
            title=${s.attachTitle}
            ?disabled=${cannotSend !== null}
            @click=${this.#pickFiles}
          >
            <svg viewBox="0 0 24 24" width="1.1em" height="1.1em" aria-hidden="true" focusable="false">
              <path
                d="M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.7-5.7l-8 8a6 6 0 0 0 8.5 8.5l7.3-7.3"
                fill="none"
                stroke="currentColor"
                stroke-width="2"
                stroke-linecap="round"
                stroke-linejoin="round"
              />
            </svg>
          </button>
          ${
            privateTo
              ? html`<span part="private-to" class="private"
                  >${s.privateBanner(html`<bdi>${safeName(privateTo.name)}</bdi>`)}
                  <button type="button" class="secondary" aria-label=${s.writeToEveryone} @click=${() => this.#writePrivately(null)}>✕</button></span
                >`
              : nothing
          }
        </form>
      </section>
    `;
  }
}

if (!customElements.get('p2p-chat')) customElements.define('p2p-chat', P2pChat);

declare global {
  interface HTMLElementTagNameMap {
    'p2p-chat': P2pChat;
  }
}
