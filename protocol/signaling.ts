/**
 * Signaling messages: JSON text frames over one WebSocket between a browser and the
 * signaling server. The names of the reference design are kept: `new-peer`, `offer`,
 * `answer`, `candidate`, `peer-disconnected`; `welcome` and `error` are added.
 *
 * A client says where a relayed message goes (`to`); the server replaces that with the
 * sender's server-assigned id (`from`). A client never sends `from`, and the server
 * ignores it if it does.
 */
import { ERROR_CODES, isErrorCode, type ErrorCode, type Result } from './errors.js';
import {
  array,
  isObject,
  nullableNumber,
  nullableObject,
  nullableString,
  number,
  object,
  optionalString,
  parseObject,
  reject,
  string,
  checkString,
  readValue,
  optionalBoolean,
  optionalNumber,
  type JsonObject,
} from './fields.js';
import { DEFAULT_ROOM, LIMITS, NAME_FORBIDDEN, PEER_ID_PATTERN, ROOM_PATTERN } from './limits.js';
import { readRelayPayload, type RelayPayload } from './relay-payload.js';

/**
 * The protocol version a client or server speaks, sent in the handshake (`new-peer`,
 * `welcome`, and each peer's summary). Version 1 is the original protocol (no field);
 * version 2 adds connection epochs on signals, `bye`, and the channel's `ping`/`pong`;
 * version 3 adds the error code `server-unavailable` (a server of a cluster that lost its
 * Redis; older clients get `server-shutdown` with the same text); version 4 adds the
 * data-channel messages `verify-commit` and `verify-reveal` (safety codes) and
 * `identity` (a long-lived key bound to the connection); version 5 adds what `relay`
 * may carry besides clear chat: `relay-key` and `sealed` (relayed chat encrypted end to end);
 * version 6 adds the `file-*` data-channel messages and transfer channels (files);
 * version 7 adds `history-request`, `history` and `history-end` (history for late joiners)
 * and `receipt` (delivery receipts) and `presence` (away/active); version 8 adds `persist`
 * on `new-peer` and `returning` on `peer-disconnected` (a reload keeps the id and peers
 * wait for it) and the data-channel message `rename`; version 9 adds the sequence number
 * `n` of a `sealed` relay payload (replays refused, drops and reorders shown).
 * Receivers ignore message types they do not know, so newer messages never break an
 * older client; a sender uses a newer message only with a peer that announced it.
 */
export const PROTOCOL_VERSION = 9;

/**
 * The close code of a signaling WebSocket whose page origin the server does not allow
 * (`--allowed-origins`), with the close reason `origin-refused`. The server takes the
 * upgrade and closes at once, so a page can tell this refusal (do not retry: the operator
 * must allow the origin) from a server it cannot reach (a refused upgrade, HTTP 403, looks
 * to a page like any failed connection). In the private range 4000-4999 of RFC 6455.
 */
export const CLOSE_ORIGIN_REFUSED = 4403;

/** An ICE candidate as `RTCIceCandidate.toJSON()` gives it. */
export interface IceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment?: string | null;
}

/** An ICE (STUN/TURN) server as `RTCIceServer` takes it. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface PeerSummary {
  readonly id: string;
  readonly name: string;
  /** false: this peer cannot make WebRTC connections; chat with it goes through the relay. */
  readonly webrtc?: false;
  /** The protocol version the peer speaks (absent: 1). */
  readonly version?: number;
}

/** What the server tells a joiner about its limits. */
export interface ServerLimits {
  readonly maxRoomSize: number;
  readonly maxFrameBytes: number;
  readonly maxChatTextLength: number;
  readonly maxNameLength: number;
  /** Whether the server relays chat (`relay`) for pairs that cannot connect directly. */
  readonly relay: boolean;
}

// ---- client -> server ----------------------------------------------------------------

/** Phase 1 (join): the new client announces itself and names the room it joins. */
export interface NewPeerRequest {
  readonly type: 'new-peer';
  readonly room: string;
  readonly name?: string;
  /**
   * The `resume` token of an earlier `welcome`: rejoining with it keeps the same id, so
   * peers still connected over WebRTC know it is the same peer (after a signaling outage).
   */
  readonly resume?: string;
  /** false: this browser has no WebRTC; the others will chat with it through the relay. */
  readonly webrtc?: false;
  /** The protocol version the client speaks (absent: 1). */
  readonly version?: number;
  /**
   * true (protocol version 8): this page keeps its resume token across a reload (the
   * `persist` attribute). If its socket drops without a clean close, the server tells the
   * room it is `returning`, so peers wait a moment for it before saying it left.
   */
  readonly persist?: true;
}

/**
 * Which peer connection a signal belongs to (protocol version 2). Each side names its
 * own RTCPeerConnection with a random `epoch`; a signal carries the sender's (`epoch`)
 * and, once known, the receiver's (`peerEpoch`). A signal meant for a connection the
 * receiver has since replaced is recognised and ignored instead of landing on the new one.
 */
export interface SignalEpochs {
  readonly epoch?: string;
  readonly peerEpoch?: string;
}
/** Phase 2 (SDP): the offerer's session description for one peer. */
export interface OfferRequest extends SignalEpochs {
  readonly type: 'offer';
  readonly to: string;
  readonly sdp: string;
}
/** Phase 2 (SDP): the answerer's reply. */
export interface AnswerRequest extends SignalEpochs {
  readonly type: 'answer';
  readonly to: string;
  readonly sdp: string;
}
/** Phase 3 (ICE): one gathered candidate; `null` says gathering is complete. */
export interface CandidateRequest extends SignalEpochs {
  readonly type: 'candidate';
  readonly to: string;
  readonly candidate: IceCandidate | null;
}
/**
 * The sender closed its direct connection to the receiver for good (ICE could not be
 * restored) and goes on through the relay (protocol version 2). Without it, a side whose
 * data channel still reads `open` over a dead path would keep sending into it.
 */
export interface ByeRequest extends SignalEpochs {
  readonly type: 'bye';
  readonly to: string;
}

export type RelayRequest = OfferRequest | AnswerRequest | CandidateRequest | ByeRequest;

/**
 * A chat message for one peer, carried by the server because the pair cannot connect
 * directly (no WebRTC on one side, or ICE failed even after restarts). In clear text the
 * server sees it (the UI says so); sealed (protocol version 5, relay-payload.ts) it
 * carries ciphertext.
 */
export interface ChatRelayRequest {
  readonly type: 'relay';
  readonly to: string;
  readonly message: RelayPayload;
}

/**
 * Version 8: "call me this from now on", without leaving. The server checks the name as
 * in a join, keeps it (later joiners are introduced with it) and tells the room.
 */
/** The protocol version that has `rename` and `peer-renamed`, `persist` and `returning`. */
export const RENAME_VERSION = 8;

export interface RenameRequest {
  readonly type: 'rename';
  readonly name: string;
}

export type ClientMessage = NewPeerRequest | RelayRequest | ChatRelayRequest | RenameRequest;

// ---- server -> client ----------------------------------------------------------------

export interface WelcomeMessage {
  readonly type: 'welcome';
  /** The joiner's own id, assigned by the server. */
  readonly id: string;
  readonly room: string;
  /** Everyone already in the room: they will send offers to the joiner. */
  readonly peers: readonly PeerSummary[];
  readonly iceServers: readonly IceServer[];
  readonly limits: ServerLimits;
  /** Secret token proving ownership of `id`; send it in `new-peer` to rejoin as the same peer. */
  readonly resume: string;
  /** The protocol version the server speaks (absent: 1). */
  readonly version?: number;
}
export interface NewPeerNotice {
  readonly type: 'new-peer';
  readonly id: string;
  readonly name: string;
  readonly webrtc?: false;
  readonly version?: number;
}
export interface OfferMessage extends SignalEpochs {
  readonly type: 'offer';
  readonly from: string;
  readonly sdp: string;
}
export interface AnswerMessage extends SignalEpochs {
  readonly type: 'answer';
  readonly from: string;
  readonly sdp: string;
}
export interface CandidateMessage extends SignalEpochs {
  readonly type: 'candidate';
  readonly from: string;
  readonly candidate: IceCandidate | null;
}
export interface ByeMessage extends SignalEpochs {
  readonly type: 'bye';
  readonly from: string;
}
export interface PeerDisconnectedMessage {
  readonly type: 'peer-disconnected';
  readonly id: string;
  /**
   * true (protocol version 8): the peer's page went away without leaving (a reload, most
   * likely) and it said it would come back with its id: wait a moment before saying it left.
   */
  readonly returning?: true;
}
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: ErrorCode;
  readonly message: string;
  /** The field of the refused frame at fault, when one is. */
  readonly field?: string;
  /**
   * With `rate-limited`: in how many milliseconds (a whole number) the budget that refused
   * will have room for one more (a join, or a frame). Clients that do not know it ignore it.
   */
  readonly retryAfterMs?: number;
}

/**
 * Fresh ICE servers for a long session (protocol version 2): time-limited TURN
 * credentials are renewed before they expire, so an ICE restart after a day still works.
 * They replace the welcome's for connections made or restarted from now on.
 */
export interface IceServersMessage {
  readonly type: 'ice-servers';
  readonly iceServers: readonly IceServer[];
}

export interface ChatRelayMessage {
  readonly type: 'relay';
  readonly from: string;
  readonly message: RelayPayload;
}

export type RelayedMessage = OfferMessage | AnswerMessage | CandidateMessage | ByeMessage;
/** Version 8: a peer of the room took a new display name (`rename`). */
export interface PeerRenamedMessage {
  readonly type: 'peer-renamed';
  readonly id: string;
  readonly name: string;
}
export type ServerMessage =
  WelcomeMessage | NewPeerNotice | RelayedMessage | ChatRelayMessage | IceServersMessage | PeerDisconnectedMessage | PeerRenamedMessage | ErrorMessage;

export type SignalingMessage = ClientMessage | ServerMessage;

// ---- rules ---------------------------------------------------------------------------

const peerId = { max: LIMITS.maxPeerIdLength, min: 1, pattern: PEER_ID_PATTERN };
const room = { max: LIMITS.maxRoomLength, min: 1, pattern: ROOM_PATTERN };
const name = { max: LIMITS.maxNameLength, min: 1, forbidden: NAME_FORBIDDEN };
const sdp = { max: LIMITS.maxSdpLength, min: 1 };
const resumeToken = { max: LIMITS.maxResumeTokenLength, min: 16, pattern: PEER_ID_PATTERN };
const epoch = { max: LIMITS.maxEpochLength, min: 1, pattern: PEER_ID_PATTERN };
const version = { min: 1, max: 1_000_000, integer: true };

function readEpochs(obj: JsonObject): SignalEpochs {
  const own = optionalString(obj, 'epoch', epoch);
  const peer = optionalString(obj, 'peerEpoch', epoch);
  return { ...(own === undefined ? {} : { epoch: own }), ...(peer === undefined ? {} : { peerEpoch: peer }) };
}

function withVersion<T extends object>(value: T, obj: JsonObject): T & { version?: number } {
  const v = optionalNumber(obj, 'version', version);
  return v === undefined ? value : { ...value, version: v };
}

function readCandidate(obj: JsonObject): IceCandidate | null {
  const value = nullableObject(obj, 'candidate');
  if (value === null) return null;
  const candidate: { -readonly [K in keyof IceCandidate]: IceCandidate[K] } = {
    candidate: string(value, 'candidate', { max: LIMITS.maxCandidateLength }),
    sdpMid: nullableString(value, 'sdpMid', { max: LIMITS.maxSdpMidLength }),
    sdpMLineIndex: nullableNumber(value, 'sdpMLineIndex', { min: 0, max: 1023, integer: true }),
  };
  const ufrag = nullableString(value, 'usernameFragment', { max: LIMITS.maxUfragLength });
  if (ufrag !== null) candidate.usernameFragment = ufrag;
  return candidate;
}

/** Trims a display name; an empty or missing name becomes undefined. */
function readName(obj: JsonObject): string | undefined {
  const value = optionalString(obj, 'name', { max: LIMITS.maxNameLength, forbidden: NAME_FORBIDDEN });
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function readClientMessage(obj: JsonObject): ClientMessage {
  const type = string(obj, 'type', { max: 32 });
  switch (type) {
    case 'new-peer': {
      const roomName = optionalString(obj, 'room', room);
      const peerName = readName(obj);
      const resume = optionalString(obj, 'resume', resumeToken);
      const webrtc = optionalBoolean(obj, 'webrtc');
      const persist = optionalBoolean(obj, 'persist');
      return withVersion(
        {
          type,
          room: roomName ?? DEFAULT_ROOM,
          ...(peerName === undefined ? {} : { name: peerName }),
          ...(resume === undefined ? {} : { resume }),
          ...(webrtc === false ? { webrtc } : {}),
          ...(persist === true ? { persist } : {}),
        },
        obj,
      );
    }
    case 'offer':
    case 'answer':
      return { type, to: string(obj, 'to', peerId), sdp: string(obj, 'sdp', sdp), ...readEpochs(obj) };
    case 'candidate':
      return { type, to: string(obj, 'to', peerId), candidate: readCandidate(obj), ...readEpochs(obj) };
    case 'bye':
      return { type, to: string(obj, 'to', peerId), ...readEpochs(obj) };
    case 'relay':
      return { type, to: string(obj, 'to', peerId), message: readRelayPayload(object(obj, 'message')) };
    case 'rename': {
      const newName = readName(obj);
      return newName === undefined ? reject('missing-field', 'A new name is needed.', 'name') : { type, name: newName };
    }
    default:
      return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  }
}

function readIceServer(value: unknown, index: number): IceServer {
  const key = `iceServers[${index}]`;
  if (!isObject(value)) reject('wrong-type', `${key} must be an object.`, key);
  const urlRule = { max: LIMITS.maxIceUrlLength, min: 1 };
  const urls = Object.prototype.hasOwnProperty.call(value, 'urls') ? value['urls'] : undefined;
  let parsedUrls: string | readonly string[];
  if (Array.isArray(urls)) {
    if (urls.length === 0 || urls.length > LIMITS.maxIceServers) reject('bad-value', `${key}.urls count`, key);
    parsedUrls = urls.map((url) => checkString(url, `${key}.urls`, urlRule));
  } else {
    parsedUrls = string(value, 'urls', urlRule);
  }
  const username = optionalString(value, 'username', { max: 256 });
  const credential = optionalString(value, 'credential', { max: 256 });
  return {
    urls: parsedUrls,
    ...(username === undefined ? {} : { username }),
    ...(credential === undefined ? {} : { credential }),
  };
}

function readPeerSummary(value: unknown, index: number): PeerSummary {
  if (!isObject(value)) reject('wrong-type', `peers[${index}] must be an object.`, 'peers');
  const webrtc = optionalBoolean(value, 'webrtc');
  const summary = { id: string(value, 'id', peerId), name: string(value, 'name', name) };
  return withVersion(webrtc === false ? { ...summary, webrtc } : summary, value);
}

function readServerMessage(obj: JsonObject): ServerMessage {
  const type = string(obj, 'type', { max: 32 });
  switch (type) {
    case 'welcome': {
      const limits = object(obj, 'limits');
      const count = { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true };
      return withVersion(
        {
          type,
          id: string(obj, 'id', peerId),
          room: string(obj, 'room', room),
          peers: array(obj, 'peers', 10_000).map(readPeerSummary),
          iceServers: array(obj, 'iceServers', LIMITS.maxIceServers).map(readIceServer),
          limits: {
            maxRoomSize: number(limits, 'maxRoomSize', count),
            maxFrameBytes: number(limits, 'maxFrameBytes', count),
            maxChatTextLength: number(limits, 'maxChatTextLength', count),
            maxNameLength: number(limits, 'maxNameLength', count),
            relay: optionalBoolean(limits, 'relay') ?? false,
          },
          resume: string(obj, 'resume', resumeToken),
        },
        obj,
      );
    }
    case 'new-peer': {
      const webrtc = optionalBoolean(obj, 'webrtc');
      const notice = { type, id: string(obj, 'id', peerId), name: string(obj, 'name', name) };
      return withVersion(webrtc === false ? { ...notice, webrtc } : notice, obj);
    }
    case 'relay':
      return { type, from: string(obj, 'from', peerId), message: readRelayPayload(object(obj, 'message')) };
    case 'offer':
    case 'answer':
      return { type, from: string(obj, 'from', peerId), sdp: string(obj, 'sdp', sdp), ...readEpochs(obj) };
    case 'candidate':
      return { type, from: string(obj, 'from', peerId), candidate: readCandidate(obj), ...readEpochs(obj) };
    case 'bye':
      return { type, from: string(obj, 'from', peerId), ...readEpochs(obj) };
    case 'peer-renamed':
      return { type, id: string(obj, 'id', peerId), name: string(obj, 'name', name) };
    case 'peer-disconnected':
      return optionalBoolean(obj, 'returning') === true ? { type, id: string(obj, 'id', peerId), returning: true } : { type, id: string(obj, 'id', peerId) };
    case 'ice-servers':
      return { type, iceServers: array(obj, 'iceServers', LIMITS.maxIceServers).map(readIceServer) };
    case 'error': {
      const code = string(obj, 'code', { max: 64 });
      if (!isErrorCode(code)) reject('bad-value', `Unknown error code "${code}".`, 'code');
      const field = optionalString(obj, 'field', { max: 64 });
      const message = string(obj, 'message', { max: 1000 });
      const retryAfterMs = optionalNumber(obj, 'retryAfterMs', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
      return {
        type,
        code,
        message,
        ...(field === undefined ? {} : { field }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    default:
      return reject('unknown-type', `Unknown message type "${type}".`, 'type');
  }
}

/** Parses a frame a client sent to the server. Never throws. */
export function parseClientMessage(raw: unknown, maxLength: number = LIMITS.maxFrameBytes): Result<ClientMessage> {
  return parseObject(raw, maxLength, readClientMessage);
}

/** Parses a frame the server sent to a client. Never throws. */
export function parseServerMessage(raw: unknown, maxLength: number = LIMITS.maxFrameBytes): Result<ServerMessage> {
  return parseObject(raw, maxLength, readServerMessage);
}

/** Validates a list of ICE servers (e.g. from a CLI flag) with the same rules as `welcome`. */
export function parseIceServers(value: unknown): Result<readonly IceServer[]> {
  return readValue(value, (list) => {
    if (!Array.isArray(list)) return reject('wrong-type', 'ICE servers must be a JSON array.', 'iceServers');
    if (list.length > LIMITS.maxIceServers) reject('too-large', `At most ${LIMITS.maxIceServers} ICE servers.`, 'iceServers');
    return list.map(readIceServer);
  });
}

/** What the server forwards for a relay request: `to` replaced by the sender's id. */
export function relayed(request: RelayRequest, from: string): RelayedMessage {
  const epochs = {
    ...(request.epoch === undefined ? {} : { epoch: request.epoch }),
    ...(request.peerEpoch === undefined ? {} : { peerEpoch: request.peerEpoch }),
  };
  switch (request.type) {
    case 'offer':
    case 'answer':
      return { type: request.type, from, sdp: request.sdp, ...epochs };
    case 'candidate':
      return { type: request.type, from, candidate: request.candidate, ...epochs };
    case 'bye':
      return { type: request.type, from, ...epochs };
  }
}

export function errorMessage(code: ErrorCode, message?: string, field?: string): ErrorMessage {
  const text = message ?? ERROR_CODES[code];
  return field === undefined ? { type: 'error', code, message: text } : { type: 'error', code, message: text, field };
}

/** The one way messages are put on the wire. */
export function encode(message: SignalingMessage): string {
  return JSON.stringify(message);
}
