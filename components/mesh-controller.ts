/**
 * A Reactive Controller that gives an element a Mesh: creates it from the element's
 * settings, re-dispatches its events on the element as `p2p-*` DOM events, keeps the
 * visible transcript, and closes the mesh when the element leaves the page.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Mesh, type MeshOptions, type SendResult } from '../client/mesh.js';
import type { ErrorDetail, MeshEventMap, MeshEventName, PeerInfo } from '../client/mesh-events.js';
import { p2pEvent } from './events.js';
import { safeName } from '../client/display-name.js';

/** One line of the transcript: a chat message, or a short note (join, leave, error). */
export type TranscriptLine =
  | {
      readonly kind: 'message';
      readonly key: string;
      readonly from: string;
      readonly name: string;
      readonly text: string;
      readonly at: number;
      readonly own: boolean;
      readonly reached: number;
    }
  | { readonly kind: 'notice'; readonly key: string; readonly text: string; readonly at: number; readonly error: boolean };

const RELAYED_EVENTS: readonly MeshEventName[] = [
  'status',
  'welcome',
  'peer-join',
  'peer-leave',
  'peer-state',
  'channel-open',
  'channel-close',
  'message',
  'error',
  'signal',
  'verify-code',
  'peer-verify',
  'peer-identity',
];

export class MeshController implements ReactiveController {
  mesh: Mesh | null = null;
  transcript: TranscriptLine[] = [];
  lastError: ErrorDetail | null = null;
  #keys = 0;
  #started = false;
  /** Names of peers seen in this room, so a leave can say who left. */
  readonly #names = new Map<string, string>();

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly settings: () => MeshOptions | null,
    private readonly maxLines = 500,
  ) {
    host.addController(this);
  }

  get selfId(): string | null {
    return this.mesh?.selfId ?? null;
  }

  get peers(): PeerInfo[] {
    return this.mesh?.peers ?? [];
  }

  hostConnected(): void {
    // Re-joins when the element is moved or re-attached; the first join waits for the
    // element's first update, which knows its attributes.
    if (this.#started) this.restart();
  }

  hostDisconnected(): void {
    this.mesh?.close();
    this.mesh = null;
  }

  /** Leaves the current room (if any) and joins with the current settings. */
  restart(): void {
    this.#started = true;
    this.mesh?.close();
    this.mesh = null;
    this.lastError = null;
    const options = this.settings();
    if (!options || !this.host.isConnected) {
      this.host.requestUpdate();
      return;
    }
    const mesh = new Mesh(options);
    this.mesh = mesh;
    for (const type of RELAYED_EVENTS) {
      mesh.addEventListener(type, (event: Event) => {
        if (this.mesh !== mesh) return;
        const detail = (event as CustomEvent<MeshEventMap[typeof type]>).detail;
        this.#record(type, detail);
        this.host.requestUpdate();
        this.host.dispatchEvent(p2pEvent(type, detail));
      });
    }
    mesh.connect();
    this.host.requestUpdate();
  }

  send(text: string): SendResult {
    const mesh = this.mesh;
    if (!mesh) return { message: null, sent: [], queued: [], error: 'signaling-unavailable' };
    const result = mesh.send(text);
    if (result.message && !result.error) {
      const m = result.message;
      this.#push({
        kind: 'message',
        key: `m${++this.#keys}`,
        from: mesh.selfId ?? '',
        name: m.name,
        text: m.text,
        at: m.at,
        own: true,
        reached: result.sent.length + result.queued.length,
      });
    }
    this.host.requestUpdate();
    return result;
  }

  #record<K extends MeshEventName>(type: K, detail: MeshEventMap[K]): void {
    const now = Date.now();
    switch (type) {
      case 'message': {
        const d = detail as MeshEventMap['message'];
        this.#push({ kind: 'message', key: `m${++this.#keys}`, from: d.from, name: d.name, text: d.text, at: d.at, own: false, reached: 0 });
        return;
      }
      case 'verify-code': {
        const d = detail as MeshEventMap['verify-code'];
        if (!d.startedByPeer) return;
        const name = safeName(this.#names.get(d.id) ?? 'A peer');
        this.#push({
          kind: 'notice',
          key: `n${++this.#keys}`,
          text: `${name} asks to compare safety codes: press verify beside their name.`,
          at: now,
          error: false,
        });
        return;
      }
      case 'peer-join': {
        const d = detail as MeshEventMap['peer-join'];
        this.#names.set(d.id, d.name);
        this.#push({ kind: 'notice', key: `n${++this.#keys}`, text: `${safeName(d.name)} is here`, at: now, error: false });
        return;
      }
      case 'peer-leave': {
        const d = detail as MeshEventMap['peer-leave'];
        const name = safeName(this.#names.get(d.id) ?? 'A peer');
        this.#push({ kind: 'notice', key: `n${++this.#keys}`, text: `${name} left`, at: now, error: false });
        return;
      }
      case 'error': {
        const d = detail as MeshEventMap['error'];
        this.lastError = d;
        this.#push({ kind: 'notice', key: `n${++this.#keys}`, text: d.message, at: now, error: true });
        return;
      }
      default:
        return;
    }
  }

  #push(line: TranscriptLine): void {
    // In place: a burst of messages must not copy the whole transcript each time.
    this.transcript.push(line);
    if (this.transcript.length > this.maxLines) this.transcript.splice(0, this.transcript.length - this.maxLines);
  }
}
