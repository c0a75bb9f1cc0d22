/** The learning view's drop-in build (dist/p2p-inspector.js), separate from the chat's. */
export { P2pInspector } from './p2p-inspector.js';
