/**
 * How <p2p-chat> shows a file in its log (a FileLine of the transcript): who offers or
 * receives what, the answer buttons, progress with speed and time left, and the result;
 * and several offers from one peer as one line (a FileOffersLine: "Bob offered 37 files",
 * Accept all / Decline all, the offers themselves behind a disclosure).
 * A received raster image is shown inline, only ever through `<img>` from a blob: URL;
 * any other file (SVG included: it is markup) is only offered for saving. The Save link's
 * blob: URL is typed application/octet-stream (components/file-transcript.ts) and carries
 * a `download` name, with no `target`: opened in a tab or a frame it is a download, never
 * the sender's HTML or SVG running in this origin (beside the identity keys).
 */
import { html, nothing } from 'lit';
import type { FileLine, FileOffersLine } from './mesh-controller.js';
import { safeName } from '../client/display-name.js';
import { isInlineImage } from '../client/file-name.js';
import type { ChatStrings } from './chat-strings.js';

export interface FileActions {
  accept(id: string): void;
  decline(id: string): void;
  cancel(id: string): void;
}

/** `1.2 MB`, `340 kB`, `12 B` (decimal units, as file managers show them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function progressText(line: FileLine, s: ChatStrings): string {
  return s.progress(
    Math.floor(line.percent),
    formatBytes(line.bytes),
    formatBytes(line.size),
    line.bytesPerSecond > 0 ? formatBytes(line.bytesPerSecond) : null,
    line.secondsLeft !== null && line.secondsLeft > 0 ? Math.ceil(line.secondsLeft) : null,
  );
}

export function renderFileLine(line: FileLine | FileOffersLine, actions: FileActions, s: ChatStrings): unknown {
  if ('offers' in line) return renderOffersLine(line, actions, s);
  const peer = html`<bdi>${safeName(line.peerName)}</bdi>`;
  const incoming = line.direction === 'in';
  const what = html`<span part="file-name" class="file-name"><bdi>${line.name}</bdi></span> <span class="file-size">(${formatBytes(line.size)})</span>`;
  const head = incoming ? s.fileFrom(peer, what) : s.fileTo(what, peer);
  let body: unknown = nothing;
  switch (line.state) {
    case 'offered':
      body = incoming
        ? html` <button part="file-accept" type="button" @click=${() => actions.accept(line.id)}>${s.accept}</button>
            <button part="file-decline" type="button" class="secondary" @click=${() => actions.decline(line.id)}>${s.decline}</button>`
        : html` <span class="file-state">${s.waitingFor(peer)}</span>
            <button part="file-cancel" type="button" class="secondary" @click=${() => actions.cancel(line.id)}>${s.cancel}</button>`;
      break;
    case 'moving':
    case 'verifying':
      body = html`<br /><progress
          part="file-progress"
          max=${Math.max(line.size, 1)}
          .value=${line.size === 0 ? 1 : line.bytes}
          aria-label=${`${line.name}: ${Math.floor(line.percent)}%`}
        ></progress>
        <span class="file-state">${line.state === 'verifying' ? s.sentWaitingCheck : progressText(line, s)}</span>
        <button part="file-cancel" type="button" class="secondary" @click=${() => actions.cancel(line.id)}>${s.cancel}</button>`;
      break;
    case 'done':
      body = html` <span part="file-verified" class="file-verified" title=${s.fileVerifiedTitle}>${s.fileVerified}</span>${
          line.url && isInlineImage(line.mime) ? html`<br /><img part="file-image" src=${line.url} alt=${line.name} />` : nothing
        }${incoming && line.url ? html` <a part="file-save" href=${line.url} download=${line.name} rel="noopener">${s.save}</a>` : nothing}`;
      break;
    case 'failed':
      body = html` <span class="file-error"><span class="visually-hidden">${s.errorPrefix}</span>${line.error}</span>`;
      break;
  }
  return html`<li part="file${incoming ? '' : ' own'}" class="file${incoming ? '' : ' own'}" data-file=${line.id} data-state=${line.state}>${head}${body}</li>`;
}

/** Several offers from one peer: how many, what became of them, one answer for all that wait, and each one on demand. */
function renderOffersLine(line: FileOffersLine, actions: FileActions, s: ChatStrings) {
  const peer = html`<bdi>${safeName(line.peerName)}</bdi>`;
  const waiting = line.offers.filter((offer) => offer.state === 'offered');
  const ended = line.count - line.accepted - line.offers.filter((offer) => offer.state !== 'failed').length;
  const lastError = [...line.offers].reverse().find((offer) => offer.state === 'failed')?.error;
  return html`<li part="file" class="file offers" data-offers=${line.peer} data-waiting=${waiting.length}>
    ${s.filesOffered(peer, line.count, formatBytes(line.bytes))}${
      waiting.length > 0
        ? html` <span class="file-state">${s.filesWaiting(waiting.length)}</span>
            <button part="file-accept" type="button" @click=${() => waiting.forEach((offer) => actions.accept(offer.id))}>${s.acceptAll}</button>
            <button part="file-decline" type="button" class="secondary" @click=${() => waiting.forEach((offer) => actions.decline(offer.id))}>
              ${s.declineAll}
            </button>`
        : nothing
    }${line.accepted > 0 ? html` <span class="file-state">${s.filesAccepted(line.accepted)}</span>` : nothing}${
      ended > 0
        ? html` <span class="file-error"
            ><span class="visually-hidden">${s.errorPrefix}</span>${s.filesNotReceived(ended)}${lastError ? `: ${lastError}` : ''}</span
          >`
        : nothing
    }
    <details>
      <summary>${s.filesShow}</summary>
      <ol>
        ${line.offers.map((offer) => renderFileLine(offer, actions, s))}
      </ol>
    </details>
  </li>`;
}

// The file lines' bookkeeping comes in the same chunk: a page with files needs both.
export { FileTranscript } from './file-transcript.js';
