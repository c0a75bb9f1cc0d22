/**
 * Notifications for a chat whose page is hidden (the `notify` attribute): each new
 * message raises a desktop notification (once the person allowed them) and counts in the
 * document's title, "(3) Title", until the page shows again. The permission is asked at
 * the person's first action in the chat (browsers ask only from a user gesture).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MessageDetail } from '../client/mesh-events.js';
import { safeName } from '../client/display-name.js';

/** A notification's body is cut to this many characters. */
const BODY_LENGTH = 140;

export class NotifyController implements ReactiveController {
  #unread = 0;
  /** The title before the count was put in front of it. */
  #title: string | null = null;

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly enabled: () => boolean,
    private readonly room: () => string,
    /** A notification's title, in the chat's language (chat-strings.ts `notification`). */
    private readonly title: (name: string, room: string, secret: boolean) => string,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  hostDisconnected(): void {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#clear();
  }

  /** Unread messages while the page was hidden. */
  get unread(): number {
    return this.#unread;
  }

  /** Asks for the permission if it was never asked (call from a user action in the chat). */
  askPermission(): void {
    if (this.enabled() && typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission();
  }

  /** A live message arrived (and was shown). */
  message(detail: MessageDetail): void {
    if (!this.enabled() || document.visibilityState !== 'hidden') return;
    this.#unread++;
    this.#title ??= document.title;
    document.title = `(${this.#unread}) ${this.#title}`;
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    const text = detail.text.length > BODY_LENGTH ? `${detail.text.slice(0, BODY_LENGTH - 1)}…` : detail.text;
    try {
      // One notification per room: a newer one replaces the last instead of piling up.
      const notification = new Notification(this.title(safeName(detail.name), this.room(), detail.private === true), {
        body: text,
        tag: `p2p-chat-${this.room()}`,
      });
      notification.addEventListener('click', () => {
        window.focus();
        this.host.focus();
        notification.close();
      });
    } catch {
      // Some browsers allow notifications only from a service worker: the title still counts.
    }
  }

  readonly #onVisibility = () => {
    if (document.visibilityState === 'visible') this.#clear();
  };

  #clear(): void {
    this.#unread = 0;
    if (this.#title !== null) document.title = this.#title;
    this.#title = null;
  }
}
