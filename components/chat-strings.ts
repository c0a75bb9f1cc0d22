/**
 * Every string `<p2p-chat>`, `<peer-list>` and the safety-code dialog show, by language.
 * English is built in; Korean loads on demand from its own file (chat-strings-ko.ts, a
 * sibling chunk in dist/); an app adds a language with `P2pChat.addLanguage(lang, strings)`
 * (or `addChatLanguage`): any string it leaves out stays English.
 *
 * Functions take the parts to place: `Part` values are names already wrapped for display
 * (`<bdi>`), placed as they are; plain `string` arguments go into attributes.
 */
import type { ErrorCode } from '../protocol/index.js';

/** A piece of a line: text, or a name already wrapped for display. */
export type Part = unknown;
/** What a function gives back: a string, or parts in order (names placed where the language puts them). */
export type Parts = string | readonly Part[];

export interface ChatStrings {
  // <p2p-chat>: the frame, the status line and the log
  chatRoom: (room: string, self: string) => string;
  noServer: string;
  notConnected: string;
  connecting: (url: string) => string;
  cannotChat: string;
  connectedDirectly: (direct: number, total: number) => string;
  /** Joined, and no one else is in the room. */
  alone: string;
  /** The peer list while the chat is not in the room (not joined yet, or refused). */
  notInRoom: string;
  relayedEncrypted: (count: number) => string;
  relayedClear: (count: number) => string;
  reconnecting: (seconds: number, open: number) => string;
  /** A join the server refused for its rate: asked again in `seconds`. */
  joiningAgain: (seconds: number) => string;
  /** The signaling connection is back after an outage. */
  reconnected: string;
  disconnected: (reason: string) => string;
  closed: string;
  chatLabel: string;
  messagesLabel: string;
  earlierLabel: string;
  earlierDivider: string;
  errorPrefix: string;
  sameNameTitle: (id: string) => string;
  privateTo: (name: Part) => Parts;
  privateMark: string;
  passedOnBy: (name: Part) => Parts;
  signed: string;
  signedTitle: string;
  /** A signed line whose author's key this profile has not verified (signed by the key we hold for them; not more). */
  signedUnverified: string;
  signedUnverifiedTitle: string;
  /** A signed line whose author's key changed (or is unproven): the signature says little. */
  signedChanged: string;
  signedChangedTitle: string;
  undelivered: string;
  /** An own message written before the chat joined the room. */
  waitingToJoin: string;
  delivered: (count: number, of: number) => string;
  typingOne: (name: string) => string;
  typingTwo: (a: string, b: string) => string;
  typingMany: (count: number) => string;
  messageLabel: string;
  placeholder: string;
  placeholderPrivate: (name: string) => string;
  send: string;
  attach: string;
  attachTitle: string;
  privateBanner: (name: Part) => Parts;
  writeToEveryone: string;
  // notices
  isHere: (name: string) => string;
  left: (name: string) => string;
  isNow: (previous: string, name: string) => string;
  asksToVerify: (name: string) => string;
  /** A desktop notification's title (`notify`). */
  notification: (name: string, room: string, secret: boolean) => string;
  /** Error notices by code; a code left out shows the message as the mesh gave it (English). */
  errors: Partial<Record<ErrorCode, string>>;
  // <peer-list>
  peopleLabel: string;
  you: string;
  nobodyElse: string;
  transport: { direct: string; relayed: string; none: string };
  transportTitle: { direct: string; relayed: string; none: string };
  encrypted: string;
  encryptedTitle: string;
  notEncrypted: string;
  notEncryptedTitle: string;
  path: { host: string; nat: string; turn: string };
  pathTitle: { host: string; nat: string; turn: string };
  state: { connecting: string; connected: string; reconnecting: string; failed: string; closed: string };
  away: string;
  awayTitle: string;
  blocked: string;
  blockedTitle: string;
  muted: string;
  mutedTitle: string;
  verified: string;
  verifiedTitle: string;
  codesDiffer: string;
  codesDifferTitle: string;
  keyChanged: string;
  keyChangedTitle: string;
  /** Verified under another name than the peer uses now. */
  verifiedAs: (name: string) => string;
  verifiedAsTitle: (name: string) => string;
  identityMissing: string;
  identityMissingTitle: string;
  looksLike: (name: string) => string;
  looksLikeTitle: (name: string) => string;
  verify: string;
  verifyLabel: (name: string) => string;
  privateButton: string;
  privateLabel: (name: string) => string;
  otherNameTitle: (id: string) => string;
  // files
  fileFrom: (peer: Part, what: Part) => Parts;
  fileTo: (what: Part, peer: Part) => Parts;
  accept: string;
  decline: string;
  cancel: string;
  waitingFor: (peer: Part) => Parts;
  sentWaitingCheck: string;
  progress: (percent: number, bytes: string, size: string, speed: string | null, secondsLeft: number | null) => string;
  fileVerified: string;
  fileVerifiedTitle: string;
  save: string;
  /** Several offers from one peer shown as one line. */
  filesOffered: (peer: Part, count: number, size: string) => Parts;
  filesWaiting: (count: number) => string;
  filesAccepted: (count: number) => string;
  filesNotReceived: (count: number) => string;
  acceptAll: string;
  declineAll: string;
  filesShow: string;
  // the safety-code dialog
  compareWith: (name: Part) => Parts;
  askedToCompare: (name: Part) => Parts;
  readDigits: (name: Part) => Parts;
  safetyCode: (code: string) => string;
  comparing: string;
  theyMatch: string;
  theyDiffer: string;
  close: string;
}

export const EN: ChatStrings = {
  chatRoom: (room, self) => `Chat room ${room}${self ? `, ${self}` : ''}`,
  noServer: 'No signaling server set (the server attribute).',
  notConnected: 'Not connected.',
  connecting: (url) => `Connecting to ${url}…`,
  cannotChat: 'This browser cannot chat here.',
  alone: 'In the room; no one else is here yet.',
  notInRoom: 'Not in the room.',
  connectedDirectly: (direct, total) => `${direct} of ${total} peer${total === 1 ? '' : 's'} connected directly (peer-to-peer)`,
  relayedEncrypted: (count) => `${count} relayed through the server, encrypted end to end`,
  relayedClear: (count) => `${count} relayed through the server, which can read those messages`,
  reconnecting: (seconds, open) =>
    `Signaling server unreachable: reconnecting${seconds > 0 ? ` in ${seconds} s.` : '…'}${
      open > 0 ? ` ${open} peer${open === 1 ? '' : 's'} still connected directly: chat keeps working.` : ''
    }`,
  joiningAgain: (seconds) => `The server is busy with joins: joining again${seconds > 0 ? ` in ${seconds} s` : ''}…`,
  reconnected: 'Reconnected to the signaling server.',
  disconnected: (reason) => `Signaling lost${reason ? `: ${reason.replace(/[.\s]+$/, '')}` : ''}. Open chats keep working; new peers cannot join.`,
  closed: 'Closed.',
  chatLabel: 'Chat',
  messagesLabel: 'Messages',
  earlierLabel: 'Earlier messages',
  earlierDivider: 'Earlier messages above, passed on by peers who were here',
  errorPrefix: 'Error: ',
  sameNameTitle: (id) => `This name looks like another one here: this is peer ${id}`,
  privateTo: (name) => ['to ', name, ', '],
  privateMark: 'private',
  passedOnBy: (name) => ['earlier, passed on by ', name],
  signed: '✓ signed by its author',
  signedTitle: 'Signed with the key you verified for its author: whoever passed it on did not change it',
  signedUnverified: 'signed (key not verified)',
  signedUnverifiedTitle: 'Signed with a key you have not verified: unchanged since its author signed it',
  signedChanged: '⚠ signed, key changed',
  signedChangedTitle: 'Signed with a key that is not the one you verified',
  undelivered: '(no one else is here: not delivered)',
  waitingToJoin: '(goes out once the chat has joined)',
  delivered: (count, of) => `delivered to ${count} of ${of}`,
  typingOne: (name) => `${name} is typing…`,
  typingTwo: (a, b) => `${a} and ${b} are typing…`,
  typingMany: (count) => `${count} people are typing…`,
  messageLabel: 'Message',
  placeholder: 'Write a message and press Enter',
  placeholderPrivate: (name) => `Private message to ${name}`,
  send: 'Send',
  attach: 'Send a file',
  attachTitle: 'Send a file (or drop it here, or paste an image)',
  privateBanner: (name) => ['to ', name, ', private'],
  writeToEveryone: 'write to everyone again',
  isHere: (name) => `${name} is here`,
  left: (name) => `${name} left`,
  isNow: (previous, name) => `${previous} is now ${name}`,
  asksToVerify: (name) => `${name} asks to compare safety codes: press verify beside their name.`,
  notification: (name, room, secret) => `${name}${secret ? ' (private)' : ''} in #${room}`,
  errors: {},
  peopleLabel: 'People in this room',
  you: '(you)',
  nobodyElse: 'No one else is here yet.',
  transport: { direct: 'P2P', relayed: 'via server', none: 'unreachable' },
  transportTitle: {
    direct: 'Direct WebRTC data channel: messages go browser to browser, the server never sees them.',
    relayed: 'Relayed: this pair cannot connect directly, so messages pass through the signaling server, which can read them.',
    none: 'No direct connection is possible and the server does not relay messages.',
  },
  encrypted: 'encrypted',
  encryptedTitle:
    'Encrypted end to end: the server carries only ciphertext it cannot read or alter. Compare safety codes (verify) to be sure it did not swap the keys.',
  notEncrypted: 'not encrypted',
  notEncryptedTitle: 'Not encrypted: the peer, the server or this page cannot seal relayed messages, so the server can read them.',
  path: { host: 'local', nat: 'via NAT', turn: 'via TURN' },
  pathTitle: {
    host: "Between your devices' own addresses: the same machine or local network.",
    nat: 'Directly through a NAT router: the addresses were found with STUN.',
    turn: 'Through a TURN relay server, because no direct path exists: still encrypted end to end, the TURN server cannot read the messages.',
  },
  state: { connecting: 'connecting', connected: 'connected', reconnecting: 'reconnecting', failed: 'failed', closed: 'closed' },
  away: 'away',
  awayTitle: 'Their page is hidden',
  blocked: 'blocked',
  blockedTitle: 'Nothing of theirs is shown here',
  muted: 'muted',
  mutedTitle: 'No notifications from them',
  verified: '✓ verified',
  verifiedTitle: 'You compared safety codes with this peer (now, or with this same key before) and they matched',
  codesDiffer: '⚠ codes differ',
  codesDifferTitle: 'The safety codes did not match: someone may be reading this connection',
  keyChanged: '⚠ key changed',
  keyChangedTitle: 'Not the identity key or connection keys you verified: compare safety codes again',
  verifiedAs: (name) => `✓ verified as ${name}`,
  verifiedAsTitle: (name) => `This key was verified as ${name}; the name changed since`,
  identityMissing: '⚠ unverified — identity missing',
  identityMissingTitle: 'Verified before, but no proof of its key here: compare safety codes',
  looksLike: (name) => `⚠ looks like ${name}`,
  looksLikeTitle: (name) => `Looks like ${name}, whom you verified, with another key`,
  verify: 'verify',
  verifyLabel: (name) => `verify ${name}: compare safety codes`,
  privateButton: 'private',
  privateLabel: (name) => `write to ${name} privately`,
  otherNameTitle: (id) => `Another name here looks like this one: this is peer ${id}`,
  fileFrom: (peer, what) => [peer, ' sends ', what],
  fileTo: (what, peer) => [what, ' to ', peer],
  accept: 'Accept',
  decline: 'Decline',
  cancel: 'Cancel',
  waitingFor: (peer) => ['waiting for ', peer, ' to accept'],
  sentWaitingCheck: 'sent; waiting for the check',
  progress: (percent, bytes, size, speed, secondsLeft) =>
    [`${percent}%`, `${bytes} of ${size}`, ...(speed ? [`${speed}/s`] : []), ...(secondsLeft ? [`${secondsLeft} s left`] : [])].join(' · '),
  fileVerified: '✓ verified',
  fileVerifiedTitle: "Every block matched the sender's SHA-256",
  save: 'Save',
  filesOffered: (peer, count, size) => [peer, ` offered ${count} files (${size})`],
  filesWaiting: (count) => `${count} waiting`,
  filesAccepted: (count) => `${count} accepted`,
  filesNotReceived: (count) => `${count} not received`,
  acceptAll: 'Accept all',
  declineAll: 'Decline all',
  filesShow: 'The files',
  compareWith: (name) => ['Compare safety codes with ', name],
  askedToCompare: (name) => [name, ' asked to compare codes with you.'],
  readDigits: (name) => ['Read these digits to ', name, ' by voice or in person. If both screens show the same code, nobody is between you.'],
  safetyCode: (code) => `Safety code ${code}`,
  comparing: 'Comparing…',
  theyMatch: 'They match',
  theyDiffer: "They don't match",
  close: 'Close',
};

/** Languages whose strings load on demand, by primary subtag. */
const LOADERS: Record<string, () => Promise<Partial<ChatStrings>>> = {
  ko: () => import('./chat-strings-ko.js').then((module) => module.KO),
};

/** Built-in languages loaded so far, the apps' own strings, and the two merged over English. */
const builtIn = new Map<string, Partial<ChatStrings>>();
const added = new Map<string, Partial<ChatStrings>>();
const merged = new Map<string, ChatStrings>([['en', EN]]);
const loading = new Map<string, Promise<void>>();

/** Whether the chat has strings for `lang` (English, a built-in language, or one an app added), by it or its primary subtag. */
export function hasChatLanguage(lang: string): boolean {
  const key = lang.toLowerCase();
  const primary = key.split('-')[0]!;
  return primary === 'en' || primary in LOADERS || added.has(key) || added.has(primary);
}

function forget(key: string): void {
  for (const name of [...merged.keys()]) if (name === key || name.startsWith(`${key}-`)) merged.delete(name);
}

/**
 * Adds (or extends) a language: `lang` is a BCP 47 tag (`fr`, `pt-BR`); strings left out
 * stay English (or the built-in Korean, for `ko`). Chats render with it from their next update.
 */
export function addChatLanguage(lang: string, strings: Partial<ChatStrings>): void {
  const key = lang.toLowerCase();
  const before = added.get(key);
  added.set(key, { ...before, ...strings, errors: { ...before?.errors, ...strings.errors } });
  forget(key);
}

function table(key: string): ChatStrings | undefined {
  const cached = merged.get(key);
  if (cached) return cached;
  const base = builtIn.get(key);
  const own = added.get(key);
  if (!base && !own) return undefined;
  const strings: ChatStrings = { ...EN, ...base, ...own, errors: { ...EN.errors, ...base?.errors, ...own?.errors } };
  merged.set(key, strings);
  return strings;
}

/**
 * The strings for `lang` (`ko-KR` falls back to `ko`, an unknown language to English).
 * A built-in language that loads on demand is English (or the app's own strings) until
 * its file is in: `ready` is called then. A file that does not load is not asked for again.
 */
export function chatStrings(lang: string, ready: () => void): ChatStrings {
  const key = lang.toLowerCase();
  const primary = key.split('-')[0]!;
  const load = LOADERS[primary];
  if (load && !builtIn.has(primary)) {
    let pending = loading.get(primary);
    if (!pending) {
      pending = load().then(
        (strings) => {
          builtIn.set(primary, strings);
          forget(primary);
        },
        () => {
          builtIn.set(primary, {});
        },
      );
      loading.set(primary, pending);
    }
    void pending.then(ready);
  }
  return table(key) ?? table(primary) ?? EN;
}

/**
 * The language of an element: its `lang` (the property: our elements keep it as a Lit
 * property, which a script may set without the attribute), else the nearest ancestor's
 * (out of shadow roots too), else the document's.
 */
export function languageOf(element: Element): string {
  let node: Element | null = element;
  while (node) {
    const lang = (node as HTMLElement).lang ?? node.getAttribute('lang');
    if (lang) return lang;
    node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host as Element | undefined) ?? null;
  }
  return document.documentElement.lang || 'en';
}
