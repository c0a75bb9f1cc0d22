/**
 * What a Mesh reports. The element re-dispatches each of these as a `p2p-*` DOM event
 * with the same detail, so this file is the one definition of the event payloads.
 */
import type { ErrorCode, NoteCode, PeerSummary, RelayRequest, RenameRequest, ServerMessage } from '../protocol/index.js';

/** A peer's connection as a person would describe it. */
export type PeerState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export interface PeerInfo {
  readonly id: string;
  readonly name: string;
  readonly state: PeerState;
  /**
   * How chat reaches this peer: `direct` (a WebRTC data channel, peer to peer), `relayed`
   * (through the signaling server: one side has no WebRTC, or ICE failed), or `none`.
   */
  readonly transport: 'direct' | 'relayed' | 'none';
  /** Relayed pairs: true once chat is encrypted end to end, false when it goes in clear text; absent while the keys are swapped. */
  readonly encrypted?: boolean;
  /** The peer's page is hidden (it said so: protocol version 7). */
  readonly away?: boolean;
  /** Blocked here (`block(id)`): nothing of theirs is shown. */
  readonly blocked?: boolean;
  /** Muted here (`mute(id)`): shown, but no notification and no typing. */
  readonly muted?: boolean;
}

export interface PresenceDetail {
  readonly id: string;
  readonly state: 'active' | 'away';
}

/**
 * Which way a working connection runs: `host` (direct between host addresses: same
 * machine or LAN), `nat` (direct through a NAT, found with STUN), `turn` (through a TURN
 * server: still encrypted end to end), `server` (the signaling server's chat relay, which
 * can read the text). In `p2p-peer-state` details and from `pathTo(id)`.
 */
export type PeerPath = 'host' | 'nat' | 'turn' | 'server';

export interface WelcomeDetail {
  readonly id: string;
  readonly room: string;
  readonly peers: readonly PeerSummary[];
}
export interface PeerJoinDetail {
  readonly id: string;
  readonly name: string;
}
/** A peer took a new name without leaving (`previous`: the one it had). */
export interface PeerRenameDetail {
  readonly id: string;
  readonly name: string;
  readonly previous: string;
}
export interface PeerIdDetail {
  readonly id: string;
}
export interface MessageDetail {
  /** The sender's peer id. */
  readonly from: string;
  readonly name: string;
  readonly text: string;
  /** Sent-at time on the sender's clock (ms since the epoch). */
  readonly at: number;
  /** The message id, unique per sender. */
  readonly id: string;
  /** Sent to this peer only (the sender used `sendTo`). */
  readonly private?: boolean;
  /**
   * An earlier message of the room, passed on when this side joined (only in a `history`
   * event), not received from its author: only as trustworthy as the peer `via` that
   * passed it on.
   */
  readonly history?: boolean;
  /** Who passed on an earlier message (`history`): that peer's id. */
  readonly via?: string;
  /**
   * An earlier message whose author (still in the room) signed it with the identity key it
   * bound to its connection with us, and the signature matched: `via` did not change it.
   */
  readonly signed?: true;
  /**
   * With `signed`: the status of the key that signature was checked with, the one this
   * side holds for the author (`verified` by this profile, `new`, or `changed`): a
   * signature proves the line is the author's key's, and the key is only as trusted as that.
   */
  readonly signer?: 'verified' | 'new' | 'changed' | 'missing';
}
/** Earlier messages of the room the peers already there passed on when we joined, oldest first. */
export interface HistoryDetail {
  readonly messages: readonly MessageDetail[];
}
/**
 * How far one of our messages got: `delivered` of the `of` peers that can confirm it
 * (direct channels to peers of protocol version 7) said it arrived; `peers` are they.
 * Peers reached through the relay or running an older version cannot confirm and are
 * not counted in `of`.
 */
export interface MessageStatusDetail {
  readonly id: string;
  readonly delivered: number;
  readonly of: number;
  readonly peers: readonly string[];
}
export interface ErrorDetail {
  readonly code: ErrorCode;
  readonly message: string;
  /** The peer concerned, when there is one. */
  readonly peer?: string;
  /** `<p2p-chat>` only: the attribute whose value cannot be used (`bad-value`). */
  readonly attribute?: string;
}
/**
 * One step of signaling, for learning logs: a message sent to or received from the
 * server (`out`/`in`), or a decision of the negotiation state machine (`note`).
 */
export type SignalDetail =
  | {
      readonly direction: 'out';
      readonly message: RelayRequest | RenameRequest | { readonly type: 'new-peer'; readonly room: string; readonly name?: string };
      readonly peer?: string;
      readonly at: number;
    }
  | { readonly direction: 'in'; readonly message: ServerMessage; readonly peer?: string; readonly at: number }
  | {
      readonly direction: 'note';
      readonly message: { readonly type: 'note'; readonly code: NoteCode; readonly detail?: string };
      readonly peer: string;
      readonly at: number;
    };

export interface PeerStateDetail {
  readonly id: string;
  readonly state: PeerState;
  /** Which way the connection runs, once known (see PeerPath). */
  readonly path?: PeerPath;
  /**
   * On the server relay (`path: 'server'`), once the pair settled it: true when relayed
   * chat is encrypted end to end (the server carries ciphertext), false when it is clear
   * text (a peer or server of an older version, or a page without WebCrypto).
   */
  readonly encrypted?: boolean;
}

export interface StatusDetail {
  /** `refused`: the server refused the join (`reason` says why; a full room is asked again, see `nextAttemptAt`). */
  readonly status: 'idle' | 'connecting' | 'joined' | 'refused' | 'reconnecting' | 'disconnected' | 'closed';
  /** While reconnecting, or waiting to join again after a refusal: when the next attempt is due (ms since the epoch). */
  readonly nextAttemptAt?: number;
  /** With `refused` (or a join refused for its rate): why, in words a person can act on. */
  readonly reason?: string;
}

/** A safety-code comparison finished: the code both people read, and what it is made of. */
export interface VerifyCodeDetail {
  readonly id: string;
  /** 12 digits in three groups, e.g. `0421 9937 1180`. */
  readonly code: string;
  /** Our DTLS fingerprint, e.g. `sha-256 AB:…`. */
  readonly local: string;
  /** The peer's, as its certificate was presented (`source: 'certificate'`) or described. */
  readonly remote: string;
  /** `relay-key`: a sealed relay pair, whose `local`/`remote` are the two ECDH keys (`p-256 AB:…`). */
  readonly source: 'certificate' | 'description' | 'relay-key';
  /** The peer asked to compare (its person is waiting for an answer). */
  readonly startedByPeer: boolean;
}

/** What the user said of a compared code. */
export interface PeerVerifyDetail {
  readonly id: string;
  readonly match: boolean;
  readonly code: string;
}

/** A peer's long-lived identity, checked against this connection and what this profile remembers. */
export interface PeerIdentityDetail {
  readonly id: string;
  /** Fingerprint of its public key, `AB12 CD34 …`. */
  readonly key: string;
  /**
   * `new` (not verified before), `verified` (a key verified before), `changed` (another
   * key than the one verified for this name, one not bound to this connection, or the
   * connection's keys changed since it was verified), `missing` (this name was verified
   * before, but this connection brings no proof: `key` is then the remembered one).
   */
  readonly status: 'new' | 'verified' | 'changed' | 'missing';
  readonly reason?: 'other-key' | 'not-this-connection' | 'keys-changed' | 'not-sent' | 'old-version';
  /** With `verified`: the name the key was verified under, where the peer now uses another. */
  readonly verifiedAs?: string;
  /** With `new`: a name this profile verified that this peer's name looks like (Latin/Cyrillic/Greek twins, invisible characters). */
  readonly looksLike?: string;
}

/** One file going to or coming from one peer (a file sent to three peers is three transfers). */
export interface FileInfo {
  /** The transfer's id. */
  readonly id: string;
  /** The other peer. */
  readonly peer: string;
  readonly direction: 'in' | 'out';
  /** The name as the sender gave it, cleaned to show and to save (no path, no invisible or reordering characters). */
  readonly name: string;
  /** Bytes, as announced by the sender (a receiver holds it to them). */
  readonly size: number;
  /** MIME type as the sender's browser gave it (untrusted; may be empty). */
  readonly mime: string;
}

/** A peer offers a file: accept or decline it (`autoAccept`: an image small enough, accepted already). */
export interface FileOfferDetail extends FileInfo {
  readonly autoAccept: boolean;
}

export interface FileProgressDetail extends FileInfo {
  /** Bytes sent (handed to the channel) or received so far. */
  readonly bytes: number;
  /** 0 to 100. */
  readonly percent: number;
  readonly bytesPerSecond: number;
  /** At the current speed; null while unknown. */
  readonly secondsLeft: number | null;
}

/** Every block arrived and matched the sender's SHA-256 (both sides are told). */
export interface FileCompleteDetail extends FileInfo {
  /** The file, on the receiving side (a Blob of the sender's MIME type); null on the sending side. */
  readonly file: Blob | null;
  readonly verified: true;
}

/** A transfer ended without the file: declined, cancelled, refused (relayed pair, too large) or broken (a hash that does not match, a peer that left). */
export interface FileErrorDetail extends FileInfo {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface MeshEventMap {
  status: StatusDetail;
  welcome: WelcomeDetail;
  'peer-join': PeerJoinDetail;
  'peer-leave': PeerIdDetail;
  /** A peer took a new name (protocol version 8). */
  'peer-rename': PeerRenameDetail;
  'peer-state': PeerStateDetail;
  'channel-open': PeerIdDetail;
  'channel-close': PeerIdDetail;
  message: MessageDetail;
  error: ErrorDetail;
  signal: SignalDetail;
  'verify-code': VerifyCodeDetail;
  'peer-verify': PeerVerifyDetail;
  'peer-identity': PeerIdentityDetail;
  /** A peer is typing (shown for a few seconds; ephemeral). */
  typing: PeerIdDetail;
  /** A peer went away (its page hidden) or came back. */
  presence: PresenceDetail;
  /** Peers confirmed one of our messages (delivery receipts). */
  'message-status': MessageStatusDetail;
  /** Earlier messages passed on when we joined (history for late joiners), one batch per set of answers. */
  history: HistoryDetail;
  'file-offer': FileOfferDetail;
  'file-progress': FileProgressDetail;
  'file-complete': FileCompleteDetail;
  'file-error': FileErrorDetail;
}

export type MeshEventName = keyof MeshEventMap;
