/** Entry point: registers <p2p-chat> and <peer-list> and exports the classes. */
export { P2pChat } from './p2p-chat.js';
export { PeerList } from './peer-list.js';
export { Mesh, type MeshOptions, type MeshStatus, type SendResult, type SignalingSocket, type SocketConstructor } from '../client/mesh.js';
export { MeshController, type TranscriptLine } from './mesh-controller.js';
export type * from '../client/mesh-events.js';
export type { P2pEventMap } from './events.js';
export { P2pInspector } from './p2p-inspector.js';
