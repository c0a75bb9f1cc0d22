/**
 * Every error that crosses a wire or reaches a user has a stable code from this list.
 * Codes are part of the public contract: add new ones, never rename.
 */
export const ERROR_CODES = {
  // A frame or data-channel message that does not parse.
  'bad-json': 'The frame is not valid JSON text.',
  'not-an-object': 'The message must be a JSON object.',
  'unknown-type': 'The message type is not one this protocol knows.',
  'missing-field': 'A required field is missing.',
  'wrong-type': 'A field has the wrong type.',
  'too-large': 'A field or frame is larger than its limit.',
  'bad-value': 'A field has a value outside what is allowed.',
  'binary-not-supported': 'Only text frames carry signaling messages.',
  // The signaling server refusing an action.
  'not-joined': 'Join a room (send new-peer) before signaling.',
  'already-joined': 'This connection has already joined a room.',
  'unknown-peer': 'There is no such peer in your room.',
  'room-full': 'The room has reached its capacity.',
  'server-shutdown': 'The signaling server is shutting down.',
  'rate-limited': 'Too many messages: slow down (frames over the rate are dropped).',
  'server-full': 'The server has reached its capacity of clients.',
  'relay-disabled': 'This server does not relay chat messages: only direct (WebRTC) connections work here.',
  'server-unavailable': 'This server cannot reach the shared state of its service (Redis) just now: try another server, or again in a moment.',
  'receiver-busy': 'The peer you are sending to does not read fast enough: your frames to it are being dropped.',
  // Raised by the client side (Mesh) to its user.
  'webrtc-unsupported': 'This browser cannot make WebRTC connections (no RTCPeerConnection).',
  'signaling-unavailable': 'The signaling server could not be reached.',
  'signaling-closed': 'The connection to the signaling server was lost.',
  'peer-failed': 'The connection to a peer failed and could not be restored.',
  'bad-peer-message': 'A peer sent a data-channel message that does not parse.',
  'not-connected': 'No peer is connected: the message reached nobody.',
  'bad-ice-server': 'The browser refuses an ICE server (STUN/TURN) setting: it is left out.',
  'verify-failed': 'Comparing safety codes with a peer failed (its reveal did not match its commitment, or the connection went away).',
  'verify-mismatch': 'The safety codes do not match: someone may be reading this connection.',
  'identity-changed': 'A peer shows another identity key than the one verified before, or one not made for this connection: someone may be in the middle.',
  'relay-tampered':
    'A relayed message failed its integrity check (altered on the way, not sealed for this pair, or unencrypted where the pair encrypts): it was dropped.',
  'relay-downgrade': 'Turning off relay encryption was refused.',
  'relay-gap': 'Relayed messages are missing or out of order.',
  'identity-missing': 'A peer verified before did not prove its key here.',
  'file-needs-direct': 'Files need a direct connection: this peer is reached through the server relay (or runs a version without files), so nothing was sent.',
  'file-too-large': 'The file is larger than this chat accepts.',
  'file-declined': 'The peer declined the file.',
  'file-cancelled': 'The file transfer was cancelled.',
  'file-failed': 'The file transfer broke off: a block did not match its hash, the sender broke the protocol, or the connection closed.',
  'turn-failed': 'A TURN server refused the credentials or could not be reached: pairs that need it use the relay instead.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The codes alone, to check one that arrives: a client carries these, not the messages
 * above (the server sends its message with every error; test/node keeps the two lists equal).
 */
const CODE_NAMES: ReadonlySet<string> = new Set<ErrorCode>([
  'bad-json',
  'not-an-object',
  'unknown-type',
  'missing-field',
  'wrong-type',
  'too-large',
  'bad-value',
  'binary-not-supported',
  'not-joined',
  'already-joined',
  'unknown-peer',
  'room-full',
  'server-shutdown',
  'rate-limited',
  'server-full',
  'relay-disabled',
  'server-unavailable',
  'receiver-busy',
  'webrtc-unsupported',
  'signaling-unavailable',
  'signaling-closed',
  'peer-failed',
  'bad-peer-message',
  'not-connected',
  'bad-ice-server',
  'verify-failed',
  'verify-mismatch',
  'identity-changed',
  'relay-tampered',
  'relay-downgrade',
  'relay-gap',
  'identity-missing',
  'file-needs-direct',
  'file-too-large',
  'file-declined',
  'file-cancelled',
  'file-failed',
  'turn-failed',
]);

/** A protocol error: a stable code, a readable message, and the field at fault if any. */
export interface ProtocolError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly field?: string;
}

/** A typed error; without `message`, the code itself (the server's `errorMessage` has the texts). */
export function protocolError(code: ErrorCode, message?: string, field?: string): ProtocolError {
  const error: { code: ErrorCode; message: string; field?: string } = {
    code,
    message: message ?? code,
  };
  if (field !== undefined) error.field = field;
  return error;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODE_NAMES.has(value);
}

/** The outcome of a parse: either a typed value or a typed error, never a throw. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ProtocolError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: ProtocolError): Result<T> => ({ ok: false, error });
