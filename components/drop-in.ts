/** The drop-in build's entry (dist/p2p-chat.js): the chat, its peer list and the Mesh. */
import { LitElement, css, html, nothing } from 'lit';

export { P2pChat } from './p2p-chat.js';
export { PeerList } from './peer-list.js';
export { Mesh } from '../client/mesh.js';

// The chunks it loads on demand that render (dist/chunks/, see scripts/build.mjs) take
// this Lit rather than carry a copy of their own. A symbol from the registry, so no page
// name is taken.
(globalThis as Record<symbol, unknown>)[Symbol.for('p2p-chat:lit')] = { LitElement, css, html, nothing };
