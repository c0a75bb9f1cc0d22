/**
 * The `p2p-*` DOM events of <p2p-chat>: bubbling, composed CustomEvents whose details
 * are the Mesh's (client/mesh-events.ts). Typed in HTMLElementEventMap so that
 * `chat.addEventListener('p2p-message', (e) => e.detail.text)` type-checks.
 */
import type {
  ErrorDetail,
  MessageDetail,
  HistoryDetail,
  MessageStatusDetail,
  PresenceDetail,
  MeshEventMap,
  MeshEventName,
  PeerIdDetail,
  PeerJoinDetail,
  PeerRenameDetail,
  PeerStateDetail,
  SignalDetail,
  StatusDetail,
  VerifyCodeDetail,
  PeerVerifyDetail,
  PeerIdentityDetail,
  WelcomeDetail,
  FileOfferDetail,
  FileProgressDetail,
  FileCompleteDetail,
  FileErrorDetail,
} from '../client/mesh-events.js';

export interface P2pEventMap {
  'p2p-welcome': CustomEvent<WelcomeDetail>;
  'p2p-peer-join': CustomEvent<PeerJoinDetail>;
  'p2p-peer-leave': CustomEvent<PeerIdDetail>;
  'p2p-peer-rename': CustomEvent<PeerRenameDetail>;
  'p2p-peer-state': CustomEvent<PeerStateDetail>;
  'p2p-channel-open': CustomEvent<PeerIdDetail>;
  'p2p-channel-close': CustomEvent<PeerIdDetail>;
  'p2p-message': CustomEvent<MessageDetail>;
  'p2p-error': CustomEvent<ErrorDetail>;
  'p2p-signal': CustomEvent<SignalDetail>;
  'p2p-status': CustomEvent<StatusDetail>;
  'p2p-verify-code': CustomEvent<VerifyCodeDetail>;
  'p2p-peer-verify': CustomEvent<PeerVerifyDetail>;
  'p2p-peer-identity': CustomEvent<PeerIdentityDetail>;
  'p2p-typing': CustomEvent<PeerIdDetail>;
  'p2p-message-status': CustomEvent<MessageStatusDetail>;
  'p2p-presence': CustomEvent<PresenceDetail>;
  'p2p-history': CustomEvent<HistoryDetail>;
  'p2p-file-offer': CustomEvent<FileOfferDetail>;
  'p2p-file-progress': CustomEvent<FileProgressDetail>;
  'p2p-file-complete': CustomEvent<FileCompleteDetail>;
  'p2p-file-error': CustomEvent<FileErrorDetail>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- augments the DOM's map with ours
  interface HTMLElementEventMap extends P2pEventMap {}
}

/** The DOM event name for a Mesh event. */
export function domEventName<K extends MeshEventName>(type: K): `p2p-${K}` {
  return `p2p-${type}`;
}

/** Bubbling and composed; `p2p-message` and `p2p-history` are also cancelable (what is cancelled is not shown). */
export function p2pEvent<K extends MeshEventName>(type: K, detail: MeshEventMap[K]): CustomEvent<MeshEventMap[K]> {
  return new CustomEvent(domEventName(type), { detail, bubbles: true, composed: true, cancelable: type === 'message' || type === 'history' });
}
