/** The drop-in build's entry (dist/p2p-chat.js): the chat, its peer list and the Mesh. */
export { P2pChat } from './p2p-chat.js';
export { PeerList } from './peer-list.js';
export { Mesh } from '../client/mesh.js';
