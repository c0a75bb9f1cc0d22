export { createSignalingServer, CLOSE_CODES, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_HEARTBEAT_MS } from './signaling-server.js';
export type { SignalingServer, SignalingServerOptions, SignalingServerStats } from './signaling-server.js';
export { RoomRegistry } from './room-registry.js';
export type { RateLimit } from './admission.js';
export { jsonLogger, silentLogger, type Logger, type LogEntry, type LogLevel } from './log.js';
