import { LitElement, css, html, nothing } from 'lit';
import type { PeerInfo, PeerPath, PeerState } from '../client/mesh-events.js';
import { lookAlikes, safeName } from '../client/display-name.js';

const TRANSPORT_LABEL: Record<PeerInfo['transport'], string> = {
  direct: 'P2P',
  relayed: 'via server',
  none: 'unreachable',
};

const TRANSPORT_TITLE: Record<PeerInfo['transport'], string> = {
  direct: 'Direct WebRTC data channel: messages go browser to browser, the server never sees them.',
  relayed: 'Relayed: this pair cannot connect directly, so messages pass through the signaling server, which can read them.',
  none: 'No direct connection is possible and the server does not relay messages.',
};

const RELAY_ENCRYPTED_TITLE =
  'Encrypted end to end: the server carries only ciphertext it cannot read or alter. Compare safety codes (verify) to be sure it did not swap the keys.';
const RELAY_CLEAR_TITLE = 'Not encrypted: the peer, the server or this page cannot seal relayed messages, so the server can read them.';

/** Which way a direct connection runs (the selected ICE candidate pair). */
const PATH_LABEL: Record<'host' | 'nat' | 'turn', string> = {
  host: 'local',
  nat: 'via NAT',
  turn: 'via TURN',
};

const PATH_TITLE: Record<'host' | 'nat' | 'turn', string> = {
  host: "Between your devices' own addresses: the same machine or local network.",
  nat: 'Directly through a NAT router: the addresses were found with STUN.',
  turn: 'Through a TURN relay server, because no direct path exists: still encrypted end to end, the TURN server cannot read the messages.',
};

const STATE_LABEL: Record<PeerState, string> = {
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  failed: 'failed',
  closed: 'closed',
};

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
 * @csspart changed - the warning when a peer shows another identity key than the one verified before
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
    privateMessages: { attribute: false },
  };

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
   * `changed` (another identity key than the one verified before: a warning). Peers not
   * listed get neither.
   */
  verifications: Readonly<Record<string, 'can' | 'match' | 'mismatch' | 'changed'>> = {};

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

  #encryptionLabel(peer: PeerInfo) {
    if (peer.transport !== 'relayed' || peer.encrypted === undefined) return nothing;
    return peer.encrypted
      ? html`<span part="encryption" class="path" data-encrypted="true" title=${RELAY_ENCRYPTED_TITLE}>encrypted</span>`
      : html`<span part="encryption" class="path" data-encrypted="false" title=${RELAY_CLEAR_TITLE}>not encrypted</span>`;
  }

  #pathLabel(peer: PeerInfo) {
    const path = this.paths[peer.id];
    if (peer.transport !== 'direct' || !path || path === 'server') return nothing;
    return html`<span part="path path-${path}" class="path" data-path=${path} title=${PATH_TITLE[path]}>${PATH_LABEL[path]}</span>`;
  }

  #verification(peer: PeerInfo) {
    const status = this.verifications[peer.id];
    if (!status) return nothing;
    const request = () => this.dispatchEvent(new CustomEvent('verify-request', { detail: { id: peer.id }, bubbles: true, composed: true }));
    return html`${
        status === 'match'
          ? html` <span part="verified" class="verified" title="You compared safety codes with this peer (now, or with this same key before) and they matched"
              >✓ verified</span
            >`
          : status === 'mismatch'
            ? html` <strong part="mismatch" class="mismatch" title="The safety codes did not match: someone may be reading this connection"
                >⚠ codes differ</strong
              >`
            : status === 'changed'
              ? html` <strong
                  part="changed"
                  class="mismatch"
                  title="This peer shows another identity key than the one you verified before, or one not made for this connection: compare safety codes again"
                  >⚠ key changed</strong
                >`
              : nothing
      }
      <button part="verify" type="button" class="verify" @click=${request} aria-label=${`verify ${safeName(peer.name)}: compare safety codes`}>verify</button>`;
  }

  override render() {
    const alike = lookAlikes(this.peers, this.selfName);
    return html`
      <ul part="list" aria-label="People in this room">
        ${
          this.selfName
            ? html`<li part="peer peer-self">
                <span part="name"><bdi>${safeName(this.selfName)}</bdi> (you)</span>
              </li>`
            : nothing
        }
        ${this.peers.map(
          (peer) =>
            html`<li part="peer peer-${peer.state}" data-peer-id=${peer.id} data-state=${peer.state}>
              <span part="name"
                ><bdi>${safeName(peer.name)}</bdi>${
                  alike.has(peer.id)
                    ? html` <span part="id-tag" class="id-tag" title="Another name here looks like this one: this is peer ${peer.id}"
                        >#${peer.id.slice(0, 4)}</span
                      >`
                    : nothing
                }</span
              >
              <span class="meta">
                <span
                  part="transport transport-${peer.transport}"
                  class="transport ${peer.transport}"
                  data-transport=${peer.transport}
                  title=${TRANSPORT_TITLE[peer.transport]}
                  >${TRANSPORT_LABEL[peer.transport]}</span
                >${this.#pathLabel(peer)}${this.#encryptionLabel(peer)} <span part="state" class="state ${peer.state}">${STATE_LABEL[peer.state]}</span>${
                  peer.away ? html` <span part="away" class="away" title="Their page is hidden">away</span>` : nothing
                }${peer.blocked ? html` <span part="blocked" class="blocked" title="Nothing of theirs is shown here">blocked</span>` : nothing}${
                  peer.muted ? html` <span part="muted" class="muted" title="No notifications from them">muted</span>` : nothing
                }${this.#verification(peer)}${
                  this.privateMessages && peer.state === 'connected'
                    ? html` <button
                        part="private"
                        type="button"
                        class="verify"
                        aria-label=${`write to ${safeName(peer.name)} privately`}
                        @click=${() => this.dispatchEvent(new CustomEvent('private-request', { detail: { id: peer.id }, bubbles: true, composed: true }))}
                      >
                        private
                      </button>`
                    : nothing
                }
              </span>
            </li>`,
        )}
      </ul>
      ${this.peers.length === 0 ? html`<p part="empty" class="empty">No one else is here yet.</p>` : nothing}
    `;
  }
}

if (!customElements.get('peer-list')) customElements.define('peer-list', PeerList);

declare global {
  interface HTMLElementTagNameMap {
    'peer-list': PeerList;
  }
}
