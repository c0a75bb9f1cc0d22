import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import type { P2pChat } from './p2p-chat.js';
import { InspectorModel, STATE_KINDS, type PeerRecord, type SequenceEntry, type StateKind } from './inspector-model.js';
import { INSPECTOR_LANGS, hasKey, resolveLang, translate, type InspectorKey, type InspectorLang } from './inspector-i18n.js';
import { languageOf } from './chat-strings.js';
import { readPairStats } from './pair-stats.js';
import { connectionFingerprints, fingerprintInSdp } from '../client/safety-code.js';
import { pathOf, statsById } from '../client/connection-path.js';
import { visuallyHidden } from './shared-styles.js';

/** SDP lines a learner should notice, by prefix. */
const SDP_HIGHLIGHTS = ['m=application', 'a=ice-ufrag', 'a=ice-pwd', 'a=fingerprint', 'a=setup', 'a=sctp-port'] as const;

const PC_STATE_EVENTS: readonly [StateKind, string][] = [
  ['signalingState', 'signalingstatechange'],
  ['iceGatheringState', 'icegatheringstatechange'],
  ['iceConnectionState', 'iceconnectionstatechange'],
  ['connectionState', 'connectionstatechange'],
];

const clock = (at: number) => {
  const d = new Date(at);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
};

/**
 * A live view of every WebRTC connection of a `<p2p-chat>`: the signaling sequence, the
 * state timelines, the SDP with its important lines explained, the ICE candidates and
 * the selected candidate pair. In English and Korean.
 *
 * ```html
 * <p2p-chat id="chat" server="ws://localhost:8080"></p2p-chat>
 * <p2p-inspector for="chat" lang="ko"></p2p-inspector>
 * ```
 *
 * @csspart inspector - the whole inspector
 * @csspart peer - one remote peer's section
 * @csspart sequence - the sequence diagram table
 * @csspart states - the state timeline table
 * @csspart sdp - one session description
 * @csspart candidates - the candidate table
 * @csspart pair - the selected candidate pair
 * @csspart path - which way the chat runs (host, through NAT, TURN or the server relay), explained
 * @csspart verify - who is really on the other end: the fingerprints, the certificate presented, how the safety code was made, the identity key
 * @cssprop [--p2p-inspector-accent=light-dark(#0969da,#4493f8)] - arrows and highlights
 * @cssprop [--p2p-inspector-mark=rgba(255,200,0,0.35)] - background of highlighted SDP lines
 * @cssprop [--p2p-inspector-border=1px solid rgba(127,127,127,0.35)] - borders
 */
export class P2pInspector extends LitElement {
  static override properties = {
    for: { type: String, reflect: true },
    lang: { type: String },
    chat: { attribute: false },
  };

  /** The id of the `<p2p-chat>` to inspect (in the same document or shadow root). */
  for = '';
  /** `en` or `ko`; default: the language of the document. */
  override lang = '';
  /** The chat to inspect (set directly, or found through `for`). */
  chat: P2pChat | null = null;

  readonly #model = new InspectorModel();
  #attached: P2pChat | null = null;
  readonly #detach: (() => void)[] = [];
  readonly #tracked = new WeakSet<RTCPeerConnection>();
  #poll: ReturnType<typeof setInterval> | null = null;

  /** The language in use: its `lang`, else the nearest ancestor's (as the chat finds its own), else English. */
  get language(): InspectorLang {
    return resolveLang(languageOf(this));
  }

  t(key: InspectorKey): string {
    return translate(this.language, key);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#poll = setInterval(() => void this.#refreshStats(), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
    this.#attach(null);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('for') || changed.has('chat') || !this.#attached) {
      const root = this.getRootNode() as Document | ShadowRoot;
      const found = this.chat ?? (this.for ? (root.getElementById?.(this.for) as P2pChat | null) : null);
      if (found !== this.#attached) this.#attach(found);
    }
  }

  #attach(chat: P2pChat | null): void {
    for (const undo of this.#detach.splice(0)) undo();
    this.#attached = chat;
    if (!chat) return;
    const on = <K extends keyof HTMLElementEventMap>(type: K, listener: (event: HTMLElementEventMap[K]) => void) => {
      chat.addEventListener(type, listener);
      this.#detach.push(() => chat.removeEventListener(type, listener));
    };
    on('p2p-signal', (event) => {
      this.#model.signal(event.detail);
      if (event.detail.peer) this.#track(event.detail.peer);
      this.requestUpdate();
    });
    on('p2p-peer-join', (event) => {
      this.#model.peer(event.detail.id, event.detail.name);
      this.#track(event.detail.id);
      this.requestUpdate();
    });
    // Same peer, same connection: only its name changes.
    on('p2p-peer-rename', (event) => {
      this.#model.peer(event.detail.id, event.detail.name);
      this.requestUpdate();
    });
    on('p2p-peer-leave', (event) => {
      this.#model.left(event.detail.id);
      this.requestUpdate();
    });
    // The path (host, NAT, TURN, server relay) can change at any time: show it when it does.
    on('p2p-peer-state', () => this.requestUpdate());
    on('p2p-verify-code', (event) => {
      const record = this.#model.peer(event.detail.id);
      const { local, remote, source, code, startedByPeer } = event.detail;
      record.fingerprints = { local, remote, source };
      record.verify = { code, startedByPeer, at: Date.now() };
      this.requestUpdate();
    });
    on('p2p-peer-identity', (event) => {
      this.#model.peer(event.detail.id).identity = { key: event.detail.key, status: event.detail.status };
      this.requestUpdate();
    });
    on('p2p-channel-open', (event) => {
      this.#model.state(event.detail.id, 'channelState', 'open', Date.now());
      this.requestUpdate();
    });
    on('p2p-channel-close', (event) => {
      this.#model.state(event.detail.id, 'channelState', 'closed', Date.now());
      this.requestUpdate();
    });
    for (const peer of chat.peers) {
      this.#model.peer(peer.id, peer.name);
      this.#track(peer.id);
    }
  }

  /** Follows the state events of the connection to one peer. */
  #track(id: string): void {
    const pc = this.#attached?.mesh?.connectionTo(id);
    if (!pc || this.#tracked.has(pc)) return;
    this.#tracked.add(pc);
    const now = Date.now();
    for (const [kind, type] of PC_STATE_EVENTS) {
      this.#model.state(id, kind, pc[kind as Exclude<StateKind, 'channelState'>], now);
      pc.addEventListener(type, () => {
        this.#model.state(id, kind, pc[kind as Exclude<StateKind, 'channelState'>], Date.now());
        this.requestUpdate();
      });
    }
    if (this.#model.peer(id).states.channelState.length === 0) this.#model.state(id, 'channelState', 'connecting', now);
  }

  async #refreshStats(): Promise<void> {
    const mesh = this.#attached?.mesh;
    if (!mesh) return;
    let changed = false;
    for (const record of this.#model.peers.values()) {
      const pc = mesh.connectionTo(record.id);
      if (!pc || pc.connectionState !== 'connected') continue;
      // One read of the stats for both the pair and the certificate presented.
      const reports = await statsById(pc).catch(() => null);
      record.stats = reports ? readPairStats(reports) : null;
      record.fingerprints = (await connectionFingerprints(pc, reports ?? undefined)) ?? record.fingerprints;
      changed = true;
    }
    if (changed) this.requestUpdate();
  }

  static override styles = [
    visuallyHidden,
    css`
      :host {
        display: block;
        font: inherit;
        --accent: var(--p2p-inspector-accent, light-dark(#0969da, #4493f8));
        --line: var(--p2p-inspector-border, 1px solid rgba(127, 127, 127, 0.35));
      }
      header {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: baseline;
        justify-content: space-between;
      }
      h2 {
        font-size: 1.1em;
        margin: 0;
      }
      h3 {
        font-size: 1em;
        margin: 1rem 0 0.25rem;
      }
      details[part~='peer'] {
        border: var(--line);
        border-radius: 0.5rem;
        padding: 0.5rem 0.75rem;
        margin: 0.5rem 0;
      }
      summary {
        font-weight: 600;
        cursor: pointer;
      }
      .help {
        font-size: 0.85em;
        opacity: 0.8;
        margin: 0 0 0.25rem;
      }
      .scroll {
        overflow-x: auto;
      }
      table {
        border-collapse: collapse;
        font-size: 0.85em;
        width: 100%;
      }
      th,
      td {
        border-bottom: var(--line);
        padding: 0.15rem 0.35rem;
        text-align: left;
        vertical-align: top;
        /* Korean words are not broken between syllables. */
        word-break: keep-all;
      }
      /* On a phone the sequence scrolls sideways instead of squeezing its columns. */
      table[part='sequence'] {
        min-width: 42rem;
      }
      td.lanes {
        position: relative;
        min-width: 9rem;
        width: 9rem;
      }
      .lane-labels {
        display: grid;
        grid-template-columns: repeat(3, 1fr);
        font-size: 0.75em;
        text-align: center;
      }
      .arrow {
        position: absolute;
        top: 50%;
        height: 0;
        border-top: 2px solid var(--accent);
      }
      .arrow::after {
        content: '';
        position: absolute;
        top: -6px;
        border: 5px solid transparent;
      }
      .arrow.right::after {
        right: -6px;
        border-left-color: var(--accent);
      }
      .arrow.left::after {
        left: -6px;
        border-right-color: var(--accent);
      }
      .lanes::before {
        content: '';
        position: absolute;
        inset: 0;
        background: linear-gradient(
          to right,
          transparent 16.4%,
          rgba(127, 127, 127, 0.4) 16.6%,
          transparent 16.8%,
          transparent 49.9%,
          rgba(127, 127, 127, 0.4) 50%,
          transparent 50.1%,
          transparent 83.2%,
          rgba(127, 127, 127, 0.4) 83.4%,
          transparent 83.6%
        );
      }
      pre {
        font-size: 0.8em;
        overflow-x: auto;
        margin: 0.25rem 0;
      }
      mark {
        background: var(--p2p-inspector-mark, rgba(255, 200, 0, 0.35));
        color: inherit;
      }
      .timeline span + span::before {
        content: ' → ';
        opacity: 0.6;
      }
      .left-peer {
        opacity: 0.6;
      }
    `,
  ];

  override render() {
    const peers = [...this.#model.peers.values()];
    return html`<section part="inspector" lang=${this.language} aria-labelledby="title">
      <header>
        <h2 id="title">${this.t('title')}${this.#attached?.name ? `: ${this.#attached.name}` : ''}</h2>
        <label
          >${this.t('language')}
          <select @change=${(e: Event) => (this.lang = (e.target as HTMLSelectElement).value)} aria-label=${this.t('language')}>
            ${INSPECTOR_LANGS.map((lang) => html`<option value=${lang} ?selected=${lang === this.language}>${lang === 'en' ? 'English' : '한국어'}</option>`)}
          </select></label
        >
      </header>
      ${!this.#attached ? html`<p>${this.t('noChat')}</p>` : peers.length === 0 ? html`<p>${this.t('noPeers')}</p>` : peers.map((peer) => this.#renderPeer(peer))}
    </section>`;
  }

  #renderPeer(peer: PeerRecord) {
    return html`<details part="peer" open class=${peer.left ? 'left-peer' : ''} data-peer=${peer.id}>
      <summary>${this.t('peer')}: ${peer.name} (${peer.id.slice(0, 6)})</summary>
      ${this.#renderSequence(peer)} ${this.#renderStates(peer)} ${this.#renderPitfalls(peer)} ${this.#renderSdp(peer)} ${this.#renderCandidates(peer)}
      ${this.#renderPair(peer)} ${this.#renderVerify(peer)}
    </details>`;
  }

  #renderVerify(peer: PeerRecord) {
    const fp = peer.fingerprints;
    const described = fingerprintInSdp(peer.remoteSdp ?? undefined) ?? fp?.remote ?? '';
    return html`<section part="verify">
      <h3>${this.t('verify')}</h3>
      <p class="help">${this.t('verifyHelp')}</p>
      ${
        fp
          ? html`<dl>
              <dt>${this.t('fpOurs')}</dt>
              <dd><code>${fp.local}</code></dd>
              <dt>${this.t('fpTheirsSdp')}</dt>
              <dd><code>${described}</code></dd>
              <dt>${this.t('fpTheirsCert')}</dt>
              <dd>
                ${fp.source === 'certificate' ? html`<code>${fp.remote}</code> ${fp.remote === described ? html`(${this.t('fpSame')})` : nothing}` : this.t('fpNoStats')}
              </dd>
            </dl>`
          : nothing
      }
      ${
        peer.identity
          ? html`<p data-identity=${peer.identity.status}>
              <strong>${this.t('identityKey')}:</strong> <code>${peer.identity.key}</code> — ${this.t(`identity:${peer.identity.status}`)}
            </p>`
          : nothing
      }
      ${
        peer.verify
          ? html`<h4>${this.t('verifySteps')}${peer.verify.startedByPeer ? html` (${this.t('verifyStartedByPeer')})` : nothing}</h4>
              <ol class="steps">
                <li>${this.t('verifyStep1')}</li>
                <li>${this.t('verifyStep2')}</li>
                <li>${this.t('verifyStep3')} <strong data-code>${peer.verify.code}</strong></li>
              </ol>
              <p class="help">${this.t('verifyStep4')}</p>`
          : html`<p class="help">${this.t('verifyNone')}</p>`
      }
    </section>`;
  }

  /** Lane of each party: 0 this browser, 1 server, 2 peer. */
  #route(entry: SequenceEntry): [number, number] {
    if (entry.direction === 'out') return entry.type === 'new-peer' || entry.type === 'rename' ? [0, 1] : [0, 2];
    if (entry.type === 'offer' || entry.type === 'answer' || entry.type === 'candidate') return [2, 0];
    return [1, 0];
  }

  #party(lane: number): string {
    return this.t(lane === 0 ? 'you' : lane === 1 ? 'server' : 'remote');
  }

  #renderSequence(peer: PeerRecord) {
    const rows = [...this.#model.joinSteps.filter((s) => s.at <= (peer.sequence[0]?.at ?? Infinity)), ...peer.sequence];
    return html`<h3>${this.t('sequence')}</h3>
      <p class="help">${this.t('sequenceHelp')}</p>
      <div class="scroll">
        <table part="sequence">
          <caption class="visually-hidden">
            ${this.t('sequence')}
          </caption>
          <thead>
            <tr>
              <th scope="col">${this.t('colTime')}</th>
              <th scope="col">
                <span class="visually-hidden">${this.t('colArrow')}</span>
                <div class="lane-labels" aria-hidden="true"><span>${this.t('you')}</span><span>${this.t('server')}</span><span>${this.t('remote')}</span></div>
              </th>
              <th scope="col">${this.t('colFrom')}</th>
              <th scope="col">${this.t('colTo')}</th>
              <th scope="col">${this.t('colMessage')}</th>
              <th scope="col">${this.t('colDetail')}</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map((entry) => {
              const [from, to] = this.#route(entry);
              const left = (Math.min(from, to) * 2 + 1) * (100 / 6);
              const width = Math.abs(to - from) * (100 / 3);
              const key = `explain:${entry.type}:${entry.direction}`;
              return html`<tr data-type=${entry.type} data-direction=${entry.direction}>
                <td>${clock(entry.at)}</td>
                <td class="lanes" aria-hidden="true"><span class="arrow ${to > from ? 'right' : 'left'}" style="left:${left}%;width:${width}%"></span></td>
                <td>${this.#party(from)}</td>
                <td>${this.#party(to)}</td>
                <td><code>${entry.type}</code>${entry.candidateType ? html` <small>(${entry.candidateType})</small>` : nothing}</td>
                <td>${hasKey(key) ? this.t(key) : ''}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`;
  }

  #renderStates(peer: PeerRecord) {
    return html`<h3>${this.t('states')}</h3>
      <p class="help">${this.t('statesHelp')}</p>
      <div class="scroll">
        <table part="states">
          <thead>
            <tr>
              <th scope="col">${this.t('stateName')}</th>
              <th scope="col">${this.t('stateHistory')}</th>
            </tr>
          </thead>
          <tbody>
            ${STATE_KINDS.map((kind) => {
              const history = peer.states[kind];
              return html`<tr data-state-kind=${kind}>
                <th scope="row">${this.t(kind)}</th>
                <td class="timeline">
                  ${history.map((change, i) => {
                    const next = history[i + 1];
                    const spent = next ? `${Math.max(0, Math.round(next.at - change.at))} ms` : this.t('now');
                    return html`<span data-state=${change.state}><code>${change.state}</code> (${spent})</span>`;
                  })}
                </td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`;
  }

  #renderPitfalls(peer: PeerRecord) {
    const notes: InspectorKey[] = [];
    if (peer.pitfalls.has('candidates-queued')) notes.push('queuedNote');
    if (peer.pitfalls.has('collision-polite')) notes.push('collisionPolite');
    if (peer.pitfalls.has('collision-impolite')) notes.push('collisionImpolite');
    if (peer.pitfalls.has('ice-restart')) notes.push('iceRestartNote');
    return html`<h3>${this.t('pitfalls')}</h3>
      <ul class="pitfalls">
        ${notes.length === 0 ? html`<li>${this.t('nothingSpecial')}</li>` : notes.map((key) => html`<li data-pitfall=${key}>${this.t(key)}</li>`)}
      </ul>`;
  }

  #renderSdp(peer: PeerRecord) {
    const block = (label: InspectorKey, sdp: string | null) => {
      if (!sdp) return html`<p>${this.t(label)}: ${this.t('none')}</p>`;
      const lines = sdp.split(/\r?\n/).filter((line) => line !== '');
      const seen = new Set<string>();
      return html`<details part="sdp">
        <summary>${this.t(label)}</summary>
        <pre tabindex="0" aria-label=${this.t(label)}>
${lines.map((line) => {
            const mark = SDP_HIGHLIGHTS.find((prefix) => line.startsWith(prefix));
            if (mark) seen.add(mark);
            return mark ? html`<mark title=${this.t(`sdp:${mark}`)}>${line}</mark> ` : `${line}\n`;
          })}</pre>
        <ul>
          ${SDP_HIGHLIGHTS.filter((prefix) => seen.has(prefix)).map((prefix) => html`<li>${this.t(`sdp:${prefix}`)}</li>`)}
        </ul>
      </details>`;
    };
    return html`<h3>${this.t('sdp')}</h3>
      <p class="help">${this.t('sdpHelp')}</p>
      ${block('localSdp', peer.localSdp)} ${block('remoteSdp', peer.remoteSdp)}`;
  }

  #renderCandidates(peer: PeerRecord) {
    const status = (s: string): InspectorKey =>
      s === 'sent' ? 'statusSent' : s === 'queued' ? 'statusQueued' : s === 'released' ? 'statusReleased' : 'statusApplied';
    const mdns = peer.candidates.some((c) => c.address.endsWith('.local'));
    return html`<h3>${this.t('candidates')}</h3>
      <p class="help">${this.t('candidatesHelp')}</p>
      ${mdns ? html`<p class="help">${this.t('mdnsHelp')}</p>` : nothing}
      <div class="scroll">
        <table part="candidates">
          <thead>
            <tr>
              <th scope="col">${this.t('colTime')}</th>
              <th scope="col">${this.t('colDirection')}</th>
              <th scope="col">${this.t('colType')}</th>
              <th scope="col">${this.t('colAddress')}</th>
              <th scope="col">${this.t('colPort')}</th>
              <th scope="col">${this.t('colProtocol')}</th>
              <th scope="col">${this.t('colStatus')}</th>
            </tr>
          </thead>
          <tbody>
            ${peer.candidates.map(
              (row) =>
                html`<tr data-side=${row.side} data-type=${row.type} data-status=${row.status}>
                  <td>${clock(row.at)}</td>
                  <td>${this.t(row.side === 'local' ? 'gathered' : 'received')}</td>
                  <td>${row.end ? this.t('endOfCandidates') : row.type}</td>
                  <td>${row.address}</td>
                  <td>${row.port}</td>
                  <td>${row.protocol}</td>
                  <td>${this.t(status(row.status))}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`;
  }

  /** Which way the chat with a peer runs, explained (the mesh knows the relay and the prflx-at-a-host case). */
  #renderPath(peer: PeerRecord) {
    const stats = peer.stats;
    const path = this.#attached?.mesh?.pathTo(peer.id) ?? (stats ? pathOf(stats.local.type, stats.remote.type) : null);
    if (!path) return nothing;
    return html`<p part="path" data-path=${path}><strong>${this.t('path')}:</strong> ${this.t(`path:${path}`)}</p>`;
  }

  #renderPair(peer: PeerRecord) {
    const stats = peer.stats;
    return html`<h3>${this.t('selectedPair')}</h3>
      <p class="help">${this.t('selectedPairHelp')}</p>
      ${this.#renderPath(peer)}
      ${
        !stats
          ? html`<p>${this.t('notConnected')}</p>`
          : html`<table part="pair" data-selected-pair>
              <tbody>
                <tr>
                  <th scope="row">${this.t('local')}</th>
                  <td>${stats.local.type} ${stats.local.address}:${stats.local.port} ${stats.local.protocol}</td>
                </tr>
                <tr>
                  <th scope="row">${this.t('remoteSide')}</th>
                  <td>${stats.remote.type} ${stats.remote.address}:${stats.remote.port} ${stats.remote.protocol}</td>
                </tr>
                <tr>
                  <th scope="row">${this.t('rtt')}</th>
                  <td>${stats.rttMs === null ? '?' : `${stats.rttMs.toFixed(1)} ms`}</td>
                </tr>
                <tr>
                  <th scope="row">${this.t('bytesSent')}</th>
                  <td>${stats.bytesSent}</td>
                </tr>
                <tr>
                  <th scope="row">${this.t('bytesReceived')}</th>
                  <td>${stats.bytesReceived}</td>
                </tr>
              </tbody>
            </table>`
      }`;
  }
}

if (!customElements.get('p2p-inspector')) customElements.define('p2p-inspector', P2pInspector);

declare global {
  interface HTMLElementTagNameMap {
    'p2p-inspector': P2pInspector;
  }
}
