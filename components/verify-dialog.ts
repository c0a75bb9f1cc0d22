import { LitElement, css, html, nothing } from 'lit';
import { safeName } from '../client/display-name.js';
import type { ChatStrings } from './chat-strings.js';

/** What the person said after comparing codes. */
export interface VerifyAnswerDetail {
  readonly id: string;
  readonly match: boolean;
}

/**
 * The safety-code dialog of `<p2p-chat>`: shows the code both people read to each other
 * and takes their answer. A modal `<dialog>` (focus stays inside; Escape closes it).
 *
 * @fires verify-answer - `{ id, match }` when "They match" or "They don't match" is chosen
 * @fires verify-close - when the dialog closes without an answer
 * @csspart dialog - the `<dialog>`
 * @csspart code - the safety code
 * @csspart match - the "They match" button
 * @csspart mismatch - the "They don't match" button
 */
export class VerifyDialog extends LitElement {
  static override properties = {
    peerId: { attribute: false },
    peerName: { attribute: false },
    code: { attribute: false },
    error: { attribute: false },
    startedByPeer: { attribute: false },
    strings: { attribute: false },
  };

  /** The chat's strings, in its language (given by `<p2p-chat>`; this module loads on demand). */
  strings: ChatStrings | null = null;

  /** The peer whose code is compared; empty: the dialog is closed. */
  peerId = '';
  peerName = '';
  /** The code, once both sides have revealed; null while comparing. */
  code: string | null = null;
  /** Why there is no code, if the comparison failed. */
  error: string | null = null;
  startedByPeer = false;

  static override styles = css`
    dialog {
      max-width: min(28rem, 92vw);
      color: CanvasText;
      background: Canvas;
      border: 1px solid GrayText;
      border-radius: 0.5rem;
    }
    .code {
      font:
        600 1.6em/1.3 ui-monospace,
        monospace;
      letter-spacing: 0.08em;
      text-align: center;
      margin: 0.75rem 0;
    }
    .buttons {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5rem;
      justify-content: flex-end;
    }
    button {
      font: inherit;
      padding: 0.3rem 0.8rem;
    }
  `;

  override updated(): void {
    // Open while there is a peer (also when the strings, hence the dialog, came later).
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog) return;
    if (this.peerId && !dialog.open) {
      dialog.showModal();
      // The title first (read out by screen readers); Tab then reaches the answers.
      this.renderRoot.querySelector<HTMLElement>('#title')?.focus();
    }
    if (!this.peerId && dialog.open) dialog.close();
  }

  #answer(match: boolean): void {
    this.dispatchEvent(new CustomEvent<VerifyAnswerDetail>('verify-answer', { detail: { id: this.peerId, match }, bubbles: true, composed: true }));
  }

  #closed(): void {
    if (this.peerId) this.dispatchEvent(new CustomEvent('verify-close', { bubbles: true, composed: true }));
  }

  override render() {
    const s = this.strings;
    if (!s) return nothing;
    const name = html`<bdi>${safeName(this.peerName)}</bdi>`;
    return html`<dialog part="dialog" aria-labelledby="title" @close=${this.#closed}>
      <h3 id="title" tabindex="-1">${s.compareWith(name)}</h3>
      ${this.startedByPeer ? html`<p>${s.askedToCompare(name)}</p>` : nothing}
      ${
        this.error
          ? html`<p role="alert">${this.error}</p>`
          : this.code
            ? html`<p>${s.readDigits(name)}</p>
                <p part="code" class="code" aria-label=${s.safetyCode(this.code)}>${this.code}</p>`
            : html`<p role="status">${s.comparing}</p>`
      }
      <div class="buttons">
        ${
          this.code && !this.error
            ? html`<button part="match" type="button" @click=${() => this.#answer(true)}>${s.theyMatch}</button>
                <button part="mismatch" type="button" @click=${() => this.#answer(false)}>${s.theyDiffer}</button>`
            : nothing
        }
        <form method="dialog"><button type="submit">${s.close}</button></form>
      </div>
    </dialog>`;
  }
}

if (!customElements.get('p2p-verify-dialog')) customElements.define('p2p-verify-dialog', VerifyDialog);

declare global {
  interface HTMLElementTagNameMap {
    'p2p-verify-dialog': VerifyDialog;
  }
}
