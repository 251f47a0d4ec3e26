// Node entry point (`icebridge/node`): the isomorphic core, plus the Node socket adapters and server drivers.
// Names exported here take precedence over the core's of the same name (ES module star-export rules):
// `stunBinding` here opens its own socket, the core's needs one given.
export * from './index.js';
export { UdpSocket, type UdpSocketOptions } from './node/udp-socket.js';
export { StreamSocket, type StreamSocketOptions } from './node/stream-socket.js';
export { stunBinding, resolveHost, type NodeStunBindingOptions } from './node/stun-binding.js';
export { startStunServer, type NodeStunServerOptions, type RunningStunServer } from './node/stun-server.js';
export { connectBridge, type NodeBridgeConnectOptions } from './node/bridge-client.js';
export { startTurnServer, type NodeTurnServerOptions, type RunningTurnServer } from './node/turn-server.js';
export { allocateTurn, resolveTurnUri, type AllocateTurnOptions, type ResolvedTurnServer } from './node/turn-client.js';
export { lazyNodeMdns, openMulticastSocket, type MdnsInterface, type NodeMdnsOptions } from './node/mdns-sockets.js';
export { createIceAgent, listHostAddresses, selectHostAddresses, type NodeIceAgentOptions, type HostAddress } from './node/ice-agent.js';
// `new IceAgent({ iceServers, iceTransportPolicy })`: the same name and surface as the page's Worker-backed agent.
export { IceAgent, type NodeIceAgentConstructor } from './node/node-ice-agent.js';
export { IceAgentEventObject as IceAgentEvent, type IceCandidatePairStats, type IceGatheringState, type SelectedCandidatePair } from './ice/ice-agent.js';
export type { IceServerConfig, IceTransportPolicy, GatheringError } from './ice/gatherer.js';
export type { IceParameters, IceTransportState } from './ice/agent.js';
export type { IceCandidateInit } from './ice/candidate.js';
export { startIcebridgeServer, type IcebridgeServerOptions, type RunningIcebridgeServer } from './node/serve.js';
export { attachSignalingRelay, SignalingCloseCode, type SignalingRelayOptions, type RunningSignalingRelay } from './node/signaling-relay.js';
export { startBridge, BRIDGE_DEFAULTS, BridgeCloseCode, type BridgeOptions, type RunningBridge } from '../bridge/index.js';
