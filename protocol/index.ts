/** The single source of truth for every message shape and the rules of negotiation. */
export * from './errors.js';
export * from './limits.js';
export * from './signaling.js';
export * from './chat.js';
export * from './relay-payload.js';
export * from './file.js';
export * from './history.js';
export * from './presence.js';
export * from './negotiation.js';
