import { LitElement, css, html, nothing } from 'lit';
import type { PeerInfo, PeerPath } from '../client/mesh-events.js';
import { lookAlikes, safeName } from '../client/display-name.js';
import { chatStrings, languageOf, type ChatStrings } from './chat-strings.js';

/**
 * The peers of a room and the live state of the connection to each.
 *
 * @fires verify-request - `{ id }` when a peer's "verify" button is pressed
 * @fires private-request - `{ id }` when a peer's "private message" button is pressed (shown with `privateMessages`)
 * States are written out in words (not shown by colour alone).
 *
 * @csspart list - the `<ul>` of peers
 * @csspart peer - one peer's `<li>`; also has the part `peer-<state>`
 * @csspart name - a peer's name (invisible and text-reordering characters removed)
 * @csspart id-tag - a short id shown beside names that look alike, so people can tell them apart
 * @csspart state - a peer's connection state, in words
 * @csspart away - "away" beside a peer whose page is hidden
 * @csspart blocked - "blocked" beside a peer blocked here
 * @csspart muted - "muted" beside a peer muted here (no notifications from it)
 * @csspart transport - how messages reach the peer: `P2P` (direct) or `via server` (relayed)
 * @csspart encryption - on a relayed pair: `encrypted` (end to end: the server carries ciphertext) or `not encrypted` (the server can read it)
 * @csspart path - which way a direct connection runs: `local`, `via NAT` or `via TURN` (from the selected candidate pair)
 * @csspart verify - the "verify" button of a peer whose safety code can be compared
 * @csspart private - the "private message" button of a peer (with `privateMessages`)
 * @csspart verified - "verified", after the codes were compared and matched
 * @csspart mismatch - the warning after the codes did not match
 * @csspart changed - the warning when a peer shows another identity key than the one verified before, or its connection keys changed since
 * @csspart verified-as - "✓ verified as <name>": verified when the peer had another name (the ✓ is for that name's person)
 * @csspart identity-missing - the warning when a peer verified before brings no proof of its identity key on this connection
 * @csspart looks-like - the warning when a peer's name looks like one verified before but its key is another
 * @csspart empty - the text shown when no one else is in the room
 * @cssprop [--peer-list-connected-color=light-dark(#1a7f37,#3fb950)] - colour of the `connected` state
 * @cssprop [--peer-list-pending-color=light-dark(#9a6700,#d29922)] - colour of `connecting` / `reconnecting`
 * @cssprop [--peer-list-failed-color=light-dark(#cf222e,#ff7b72)] - colour of `failed` / `closed`
 * @cssprop [--peer-list-gap=0.25rem] - space between peers
 */
export class PeerList extends LitElement {
  static override properties = {
    peers: { attribute: false },
    selfName: { type: String, attribute: 'self-name' },
    paths: { attribute: false },
    verifications: { attribute: false },
    verificationNames: { attribute: false },
    privateMessages: { attribute: false },
    inRoom: { attribute: false },
    lang: { type: String },
  };

  /** `en`, `ko` or a language an app added (`P2pChat.addLanguage`); default: the nearest `lang` around it. */
  override lang = '';

  #strings(): ChatStrings {
    return chatStrings(languageOf(this), () => this.requestUpdate());
  }

  /** False while the chat is not in the room (joining, or refused): the list says so instead of "no one else is here". */
  inRoom = true;

  /** Show a "private message" button beside each reachable peer (`<p2p-chat>` does). */
  privateMessages = false;

  /** The peers to show, as `<p2p-chat>`'s `peers` property gives them. */
  peers: readonly PeerInfo[] = [];
  /** Our own name, listed first as "(you)". */
  selfName = '';
  /** Which way each direct connection runs (peer id → `host` / `nat` / `turn`), as `<p2p-chat>` knows it. */
  paths: Readonly<Record<string, PeerPath>> = {};
  /**
   * Safety codes, by peer id: `can` (a "verify" button), `match` (verified: the codes were
   * the same, now or with this key before), `mismatch` (they were not: a warning),
   * `changed` (another identity key than the one verified before, or new connection keys
   * since: a warning), `missing` (verified before, no proof on this connection: a
   * warning), `lookalike` (a name like a verified one, with another key: a warning).
   * Peers not listed get neither.
   */
  verifications: Readonly<Record<string, PeerVerification>> = {};
  /**
   * By peer id: with `match`, the name it was verified under where it now uses another
   * ("✓ verified as …"); with `lookalike`, the verified name it looks like.
   */
  verificationNames: Readonly<Record<string, string>> = {};

  static override styles = css`
    :host {
      display: block;
      font: inherit;
    }
    ul {
      list-style: none;
      margin: 0;
      padding: 0;
      display: flex;
      flex-direction: column;
      gap: var(--peer-list-gap, 0.25rem);
    }
    li {
      display: flex;
      flex-wrap: wrap;
      justify-content: space-between;
      gap: 0 0.5rem;
      overflow-wrap: anywhere;
    }
    /* A narrow list puts the badges under the name rather than squeezing the name. */
    [part='name'] {
      min-width: min(6em, 100%);
    }
    .state,
    .transport {
      font-size: 0.85em;
      white-space: nowrap;
    }
    .transport {
      border: 1px solid currentColor;
      border-radius: 0.6em;
      padding: 0 0.35em;
      margin-right: 0.25em;
    }
    .path {
      font-size: 0.8em;
      margin-right: 0.25em;
      opacity: 0.85;
      white-space: nowrap;
    }
    .transport.relayed {
      color: var(--peer-list-pending-color, light-dark(#9a6700, #d29922));
    }
    .connected {
      color: var(--peer-list-connected-color, light-dark(#1a7f37, #3fb950));
    }
    .connecting,
    .reconnecting {
      color: var(--peer-list-pending-color, light-dark(#9a6700, #d29922));
    }
    .failed,
    .closed {
      color: var(--peer-list-failed-color, light-dark(#cf222e, #ff7b72));
    }
    .id-tag {
      font-size: 0.8em;
      font-family: monospace;
      opacity: 0.8;
    }
    .verify {
      font: inherit;
      font-size: 0.8em;
      padding: 0 0.4em;
    }
    .verified {
      font-size: 0.85em;
      color: var(--peer-list-connected-color, light-dark(#1a7f37, #3fb950));
    }
    .mismatch {
      font-size: 0.85em;
      color: var(--peer-list-failed-color, light-dark(#cf222e, #ff7b72));
    }
    .empty {
      margin: 0;
      opacity: 0.75;
    }
  `;

  #encryptionLabel(peer: PeerInfo, s: ChatStrings) {
    if (peer.transport !== 'relayed' || peer.encrypted === undefined) return nothing;
    return peer.encrypted
      ? html`<span part="encryption" class="path" data-encrypted="true" title=${s.encryptedTitle}>${s.encrypted}</span>`
      : html`<span part="encryption" class="path" data-encrypted="false" title=${s.notEncryptedTitle}>${s.notEncrypted}</span>`;
  }

  #pathLabel(peer: PeerInfo, s: ChatStrings) {
    const path = this.paths[peer.id];
    if (peer.transport !== 'direct' || !path || path === 'server') return nothing;
    return html`<span part="path path-${path}" class="path" data-path=${path} title=${s.pathTitle[path]}>${s.path[path]}</span>`;
  }

  #verification(peer: PeerInfo, s: ChatStrings) {
    const status = this.verifications[peer.id];
    if (!status) return nothing;
    const request = () => this.dispatchEvent(new CustomEvent('verify-request', { detail: { id: peer.id }, bubbles: true, composed: true }));
    const other = this.verificationNames[peer.id];
    const name = safeName(other ?? '');
    // [part, text, title]: a ✓ in green, a warning in red and bold.
    const badge: readonly [string, string, string] | null =
      status === 'match'
        ? other
          ? ['verified-as', s.verifiedAs(name), s.verifiedAsTitle(name)]
          : ['verified', s.verified, s.verifiedTitle]
        : status === 'mismatch'
          ? ['mismatch', s.codesDiffer, s.codesDifferTitle]
          : status === 'changed'
            ? ['changed', s.keyChanged, s.keyChangedTitle]
            : status === 'missing'
              ? ['identity-missing', s.identityMissing, s.identityMissingTitle]
              : status === 'lookalike'
                ? ['looks-like', s.looksLike(name), s.looksLikeTitle(name)]
                : null;
    return html`${
        badge && status === 'match'
          ? html` <span part=${badge[0]} class="verified" title=${badge[2]}>${badge[1]}</span>`
          : badge
            ? html` <strong part=${badge[0]} class="mismatch" title=${badge[2]}>${badge[1]}</strong>`
            : nothing
      } <button part="verify" type="button" class="verify" @click=${request} aria-label=${s.verifyLabel(safeName(peer.name))}>${s.verify}</button>`;
  }

  override render() {
    const alike = lookAlikes(this.peers, this.selfName);
    const s = this.#strings();
    return html`
      <ul part="list" aria-label=${s.peopleLabel}>
        ${
          this.selfName
            ? html`<li part="peer peer-self">
                <span part="name"><bdi>${safeName(this.selfName)}</bdi> ${s.you}</span>
              </li>`
            : nothing
        }
        ${this.peers.map(
          (peer) =>
            html`<li part="peer peer-${peer.state}" data-peer-id=${peer.id} data-state=${peer.state}>
              <span part="name"
                ><bdi>${safeName(peer.name)}</bdi>${
                  alike.has(peer.id) ? html` <span part="id-tag" class="id-tag" title=${s.otherNameTitle(peer.id)}>#${peer.id.slice(0, 4)}</span>` : nothing
                }</span
              >
              <span class="meta">
                <span
                  part="transport transport-${peer.transport}"
                  class="transport ${peer.transport}"
                  data-transport=${peer.transport}
                  title=${s.transportTitle[peer.transport]}
                  >${s.transport[peer.transport]}</span
                >${this.#pathLabel(peer, s)}${this.#encryptionLabel(peer, s)} <span part="state" class="state ${peer.state}">${s.state[peer.state]}</span>${
                  peer.away ? html` <span part="away" class="away" title=${s.awayTitle}>${s.away}</span>` : nothing
                }${peer.blocked ? html` <span part="blocked" class="blocked" title=${s.blockedTitle}>${s.blocked}</span>` : nothing}${
                  peer.muted ? html` <span part="muted" class="muted" title=${s.mutedTitle}>${s.muted}</span>` : nothing
                }${this.#verification(peer, s)}${
                  this.privateMessages && peer.state === 'connected'
                    ? html` <button
                        part="private"
                        type="button"
                        class="verify"
                        aria-label=${s.privateLabel(safeName(peer.name))}
                        @click=${() => this.dispatchEvent(new CustomEvent('private-request', { detail: { id: peer.id }, bubbles: true, composed: true }))}
                      >
                        ${s.privateButton}
                      </button>`
                    : nothing
                }
              </span>
            </li>`,
        )}
      </ul>
      ${this.peers.length === 0 ? html`<p part="empty" class="empty">${this.inRoom ? s.nobodyElse : s.notInRoom}</p>` : nothing}
    `;
  }
}

/** What `<peer-list>` shows of a peer's safety codes and identity (see `verifications`). */
export type PeerVerification = 'can' | 'match' | 'mismatch' | 'changed' | 'missing' | 'lookalike';

if (!customElements.get('peer-list')) customElements.define('peer-list', PeerList);

declare global {
  interface HTMLElementTagNameMap {
    'peer-list': PeerList;
  }
}
