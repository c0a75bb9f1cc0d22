/** Helpers for the real-browser tests: a real signaling server, real RTCPeerConnections. */
import { executeServerCommand } from '@web/test-runner-commands';
import '../components/index.js';
import type { P2pChat } from '../components/p2p-chat.js';
import type { P2pInspector } from '../components/p2p-inspector.js';
import type { P2pEventMap } from '../components/events.js';

declare global {
  interface Window {
    P2P_SIGNALING_URL?: string;
    P2P_NO_RELAY_URL?: string;
    P2P_SMALL_QUEUES_URL?: string;
  }
}

/** The signaling server the test-runner config started for this run. */
export function signalingUrl(): string {
  const url = window.P2P_SIGNALING_URL;
  if (!url) throw new Error('P2P_SIGNALING_URL is not set: run the tests through web-test-runner.config.mjs');
  return url;
}

/** A signaling server started with relaying off (`relay: false`). */
export function noRelayUrl(): string {
  const url = window.P2P_NO_RELAY_URL;
  if (!url) throw new Error('P2P_NO_RELAY_URL is not set: run the tests through web-test-runner.config.mjs');
  return url;
}

/** A signaling server with a small per-receiver queue (256 KiB), for the flooding test. */
export function smallQueuesUrl(): string {
  const url = window.P2P_SMALL_QUEUES_URL;
  if (!url) throw new Error('P2P_SMALL_QUEUES_URL is not set: run the tests through web-test-runner.config.mjs');
  return url;
}

/**
 * Adds an iframe showing a test fixture page with a chat in it; `no-webrtc` is the peer
 * page with WebRTC taken away first.
 */
export function addFramedChat(fixture: 'peer' | 'no-webrtc' | 'drop-in' | 'elements', server: string, room: string, name: string): HTMLIFrameElement {
  const page = fixture === 'drop-in' || fixture === 'elements' ? fixture : 'peer';
  const frame = document.createElement('iframe');
  frame.src = `/test/fixtures/${page}.html?server=${encodeURIComponent(server)}&room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}${fixture === 'no-webrtc' ? '&webrtc=off' : ''}`;
  document.body.append(frame);
  return frame;
}

/** The <p2p-chat> inside a frame, once it is there. */
export function framedChat(frame: HTMLIFrameElement): P2pChat | null {
  return (frame.contentDocument?.querySelector('p2p-chat') as P2pChat | null) ?? null;
}

let rooms = 0;
/** A room no other test uses. */
export function uniqueRoom(label: string): string {
  return `${label}-${Date.now().toString(36)}-${++rooms}`;
}

/** Puts a <p2p-chat> on the page; it joins the room at once. */
export function addChat(
  room: string,
  name: string,
  { parent = document.body, server = signalingUrl() }: { parent?: HTMLElement; server?: string } = {},
): P2pChat {
  const chat = document.createElement('p2p-chat');
  chat.setAttribute('server', server);
  chat.setAttribute('room', room);
  chat.setAttribute('name', name);
  parent.append(chat);
  return chat;
}

/** Records every event of one type an element fires. */
export function record<K extends keyof P2pEventMap>(target: EventTarget, type: K): P2pEventMap[K]['detail'][] {
  const seen: P2pEventMap[K]['detail'][] = [];
  target.addEventListener(type, (event) => seen.push((event as P2pEventMap[K]).detail));
  return seen;
}

/** Polls until `check` is true, or fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until every chat has an open channel to every other one. */
export async function waitForMesh(chats: readonly P2pChat[], timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    () =>
      chats.every((chat) => {
        const connected = chat.peers.filter((p) => p.state === 'connected').map((p) => p.id);
        return chats.every((other) => other === chat || (other.selfId !== null && connected.includes(other.selfId)));
      }),
    `a full mesh of ${chats.length} peers`,
    timeoutMs,
  );
}

export function removeAll(chats: readonly HTMLElement[]): void {
  for (const chat of chats) chat.remove();
}

/** Sets up a mesh of chats and waits until it is complete. */
export async function meshOf(room: string, names: readonly string[], server?: string): Promise<P2pChat[]> {
  const chats = names.map((name) => addChat(room, name, server ? { server } : {}));
  await waitForMesh(chats);
  return chats;
}

/** Sorted texts of the messages `list` recorded from `from`. */
export function textsFrom(list: readonly { from: string; text: string }[], from: string | null): string[] {
  return list.filter((m) => m.from === from).map((m) => m.text);
}

/** Ann's chat in a new room, and a <p2p-inspector> (in `lang`) attached to it. */
export function addInspectedChat(label: string, lang = 'en'): { room: string; a: P2pChat; inspector: P2pInspector } {
  const room = uniqueRoom(label);
  const a = addChat(room, 'Ann');
  a.id = `chat-${room}`;
  const inspector = document.createElement('p2p-inspector');
  inspector.setAttribute('for', a.id);
  inspector.setAttribute('lang', lang);
  document.body.append(inspector);
  return { room, a, inspector };
}

/** The demo page in a desktop-sized frame, joined to `room` on the test server. */
export function addDemoFrame(room: string): HTMLIFrameElement {
  const frame = document.createElement('iframe');
  frame.style.width = '1200px';
  frame.style.height = '900px';
  frame.title = 'demo';
  frame.src = `/demo/index.html?server=${encodeURIComponent(signalingUrl())}&room=${room}`;
  document.body.append(frame);
  return frame;
}

/** The demo's document once it has loaded. */
export async function demoLoaded(frame: HTMLIFrameElement): Promise<Document> {
  await waitUntil(() => frame.contentDocument?.readyState === 'complete' && frame.contentDocument.getElementById('chat') !== null, 'the demo');
  return frame.contentDocument!;
}

/** A page in the other browser, driven by the server command `remote-peer` (scripts/remote-peers.mjs). */
export const remote = <T>(payload: Record<string, unknown>) => executeServerCommand<T, Record<string, unknown>>('remote-peer', payload);

/** `size` random bytes (getRandomValues gives at most 64 KiB at a time). */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  return bytes;
}

/** SHA-256 as lower-case hex, as `sha256sum` prints it. */
export async function sha256Hex(data: Blob | BufferSource): Promise<string> {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Makes the document report `state` and fires visibilitychange, as a browser does when a tab is hidden or shown. */
export function setVisibility(state: 'hidden' | 'visible'): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}
