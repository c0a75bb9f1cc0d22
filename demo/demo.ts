/**
 * The learning page: one <p2p-chat>, a per-peer tracker of the five phases of the
 * reference design, and a log of every signaling step, all from `p2p-*` events.
 */
import '../components/index.js';
import type { SignalDetail } from '../client/mesh-events.js';
import { architectureCosts } from './architecture.js';
import type { P2pChat } from '../components/p2p-chat.js';

type Phase = 'join' | 'sdp' | 'ice' | 'open' | 'messages';
const PHASES: readonly { id: Phase; label: string }[] = [
  { id: 'join', label: '1 join' },
  { id: 'sdp', label: '2 offer/answer' },
  { id: 'ice', label: '3 candidates' },
  { id: 'open', label: '4 channel open' },
  { id: 'messages', label: '5 messages' },
];

const EXPLAIN: Record<string, string> = {
  'out new-peer': 'joining the room',
  'in welcome': 'the server gave us an id and listed the peers already here (they will offer to us)',
  'in new-peer': 'a newcomer: we were here first, so we create the channel "chat" and offer',
  'out offer': 'our SDP offer: what we want to connect (a data channel) and our ICE credentials',
  'in offer': 'their SDP offer: we apply it (setRemoteDescription) and answer',
  'out answer': 'our SDP answer',
  'in answer': 'their answer: we apply it, and both sides know each other',
  'out candidate': 'one of our network addresses (an ICE candidate)',
  'in candidate': 'one of their network addresses: added once their description is set',
  'in peer-disconnected': 'the peer left: its connection is closed',
  'out rename':
    'we take a new name without leaving: the server checks it and tells the room. Every connection stays as it is: no new offer, answer or candidates',
  'in peer-renamed': 'they took a new name without leaving: same peer, same connection (no new offer, answer or candidates)',
  'in error': 'the server refused something',
  'note candidate-queued': "candidate arrived before the remote description: queued (the reference's pitfall)",
  'note candidates-released': 'remote description set: queued candidates added in order',
  'note offer-collision-ignored': 'both sides offered at once: we are impolite and keep our offer',
  'note offer-collision-rollback': 'both sides offered at once: we are polite and answer theirs',
  'note ice-restart': 'the path failed: restarting ICE with new credentials',
};

const params = new URLSearchParams(location.search);
const chat = document.querySelector<P2pChat>('#chat')!;
const form = document.querySelector<HTMLFormElement>('#join')!;
const log = document.querySelector<HTMLOListElement>('#log')!;
const peerPhases = document.querySelector<HTMLDivElement>('#peer-phases')!;
const anotherTab = document.querySelector<HTMLAnchorElement>('#another-tab')!;
const anotherTab2 = document.querySelector<HTMLAnchorElement>('#another-tab-2')!;

const defaults = {
  name: params.get('name') ?? `guest${Math.floor(Math.random() * 900 + 100)}`,
  room: params.get('room') ?? 'lobby',
  server: params.get('server') ?? `ws://${location.hostname || 'localhost'}:8080`,
};
(form.elements.namedItem('name') as HTMLInputElement).value = defaults.name;
(form.elements.namedItem('room') as HTMLInputElement).value = defaults.room;
(form.elements.namedItem('server') as HTMLInputElement).value = defaults.server;

/**
 * Join, or only rename: a new name in the same room on the same server is a `rename`
 * (protocol 8) and every connection stays, so its phase record stays too. What starts
 * afresh is decided by the chat itself: see `sameSession`.
 */
function join(name: string, room: string, server: string): void {
  chat.name = name;
  chat.room = room;
  chat.server = server;
  const next = new URL(location.href);
  next.searchParams.set('room', room);
  next.searchParams.set('server', server);
  next.searchParams.delete('name');
  anotherTab.href = next.href;
  anotherTab2.href = next.href;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(form);
  join(String(data.get('name')), String(data.get('room')), String(data.get('server')));
});

// ---- live phases per peer -------------------------------------------------------------

const progress = new Map<string, { name: string; done: Set<Phase>; candidates: number }>();
let joined = false;
/** The session (the chat's mesh) the records belong to. */
let session: unknown = null;

/**
 * A new session (a join, a rejoin in another room, a rename the server could not take)
 * means new connections: the records and the log start afresh. A rename, or a signaling
 * reconnect that keeps the open channels, is the same session: everything stays.
 */
function sameSession(): void {
  const current = chat.mesh;
  if (current === session) return;
  session = current;
  joined = false;
  progress.clear();
  log.replaceChildren();
}

function peer(id: string, name?: string) {
  let entry = progress.get(id);
  if (!entry) progress.set(id, (entry = { name: name ?? id.slice(0, 6), done: new Set<Phase>(['join']), candidates: 0 }));
  if (name) entry.name = name;
  return entry;
}

function renderPhases(): void {
  const cards = [...progress.entries()].map(([id, entry]) => {
    const card = document.createElement('article');
    card.className = 'peer-card';
    card.dataset['peer'] = id;
    const title = document.createElement('strong');
    title.textContent = `${entry.name} (${id.slice(0, 6)}) · ${entry.candidates} candidate(s) exchanged`;
    const steps = document.createElement('ol');
    for (const phase of PHASES) {
      const li = document.createElement('li');
      li.textContent = phase.label;
      li.dataset['phase'] = phase.id;
      if (entry.done.has(phase.id)) li.className = 'done';
      steps.append(li);
    }
    card.append(title, steps);
    return card;
  });
  if (cards.length === 0) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = joined ? 'Joined. Waiting for someone else: open another tab.' : 'Not joined yet.';
    cards.push(p as unknown as HTMLElement);
  }
  peerPhases.replaceChildren(...cards);
}

function logLine(text: string, kind: string): void {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

function describe(detail: SignalDetail): string {
  const arrow = detail.direction === 'out' ? '→' : detail.direction === 'in' ? '←' : '•';
  const type = detail.direction === 'note' ? detail.message.code : detail.message.type;
  const key = `${detail.direction} ${type}`;
  const named = detail.direction === 'in' && detail.message.type === 'new-peer' ? detail.message.name : undefined;
  let who = detail.peer ? ` ${named ?? progress.get(detail.peer)?.name ?? detail.peer.slice(0, 6)}` : '';
  // A rename says who was who: "old → new" (the card follows with p2p-peer-rename), or our new name.
  if (detail.direction === 'in' && detail.message.type === 'peer-renamed') who += ` → ${detail.message.name}`;
  if (detail.direction === 'out' && detail.message.type === 'rename') who = ` "${detail.message.name}"`;
  const time = new Date(detail.at).toLocaleTimeString(undefined, { hour12: false });
  let extra = '';
  if (detail.direction !== 'note' && detail.message.type === 'candidate') {
    const candidate = detail.message.candidate;
    extra = candidate ? ` [${/ typ (\w+)/.exec(candidate.candidate)?.[1] ?? '?'}]` : ' [end of candidates]';
  }
  return `${time} ${arrow} ${type}${who}${extra}: ${EXPLAIN[key] ?? (detail.direction === 'note' ? (detail.message.detail ?? '') : '')}`;
}

/** Listens to the chat, the records first following its session. */
function on<K extends keyof HTMLElementEventMap>(type: K, listener: (event: HTMLElementEventMap[K]) => void): void {
  chat.addEventListener(type, (event) => {
    sameSession();
    listener(event);
  });
}

// A new session shows "Not joined yet" as soon as it starts.
on('p2p-status', () => renderPhases());
on('p2p-signal', (event) => {
  const detail = event.detail;
  logLine(describe(detail), detail.direction);
  if (!detail.peer) return;
  const type = detail.direction === 'note' ? '' : detail.message.type;
  const entry = peer(detail.peer);
  if (type === 'offer' || type === 'answer') entry.done.add('sdp');
  if (type === 'candidate') {
    entry.done.add('ice');
    entry.candidates++;
  }
  renderPhases();
});
on('p2p-welcome', (event) => {
  joined = true;
  logLine(`You are ${event.detail.id.slice(0, 6)} in room "${event.detail.room}" with ${event.detail.peers.length} other peer(s).`, 'info');
  renderPhases();
});
on('p2p-peer-join', (event) => {
  peer(event.detail.id, event.detail.name);
  renderPhases();
});
on('p2p-peer-rename', (event) => {
  // Same peer, same connection: only the name on its card changes.
  peer(event.detail.id, event.detail.name);
  renderPhases();
});
on('p2p-channel-open', (event) => {
  peer(event.detail.id).done.add('open');
  logLine(`data channel "chat" open with ${progress.get(event.detail.id)?.name}: messages now go peer to peer`, 'info');
  renderPhases();
});
on('p2p-message', (event) => {
  peer(event.detail.from).done.add('messages');
  renderPhases();
});
on('p2p-peer-leave', (event) => {
  logLine(`${progress.get(event.detail.id)?.name ?? 'a peer'} left`, 'info');
  progress.delete(event.detail.id);
  renderPhases();
});
on('p2p-error', (event) => {
  logLine(`error ${event.detail.code}: ${event.detail.message}`, 'error');
});

renderPhases();
join(defaults.name, defaults.room, defaults.server);

// ---- one-click lesson: two chats in this page ------------------------------------------

const lessonButton = document.querySelector<HTMLButtonElement>('#lesson-button')!;
lessonButton.addEventListener('click', () => {
  const lesson = document.querySelector<HTMLElement>('#lesson')!;
  const ann = document.querySelector<P2pChat>('#lesson-ann')!;
  const bo = document.querySelector<P2pChat>('#lesson-bo')!;
  const room = `lesson-${Math.random().toString(36).slice(2, 8)}`;
  const server = (form.elements.namedItem('server') as HTMLInputElement).value;
  lesson.hidden = false;
  ann.room = room;
  ann.server = server;
  // Bo joins once Ann is in, so Ann is the existing peer who offers.
  ann.addEventListener(
    'p2p-welcome',
    () => {
      bo.room = room;
      bo.server = server;
    },
    { once: true },
  );
  lessonButton.disabled = true;
  lesson.scrollIntoView({ behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
});

// ---- architecture calculator -------------------------------------------------------------

const calc = document.querySelector<HTMLFormElement>('#calc')!;
const calcBody = document.querySelector<HTMLTableSectionElement>('#calc-table tbody')!;
const NAMES = { mesh: 'Mesh (this chat)', sfu: 'SFU', mcu: 'MCU' } as const;
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
function renderCalculator(): void {
  const peers = Number((calc.elements.namedItem('peers') as HTMLInputElement).value);
  const bitrate = Number((calc.elements.namedItem('bitrate') as HTMLInputElement).value);
  calcBody.replaceChildren(
    ...architectureCosts(peers, bitrate).map((cost) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = NAMES[cost.architecture];
      tr.append(th);
      for (const value of [cost.connections, cost.clientUp, cost.clientDown, cost.serverIn, cost.serverOut]) {
        const td = document.createElement('td');
        td.textContent = fmt(value);
        tr.append(td);
      }
      return tr;
    }),
  );
}
calc.addEventListener('input', renderCalculator);
renderCalculator();
