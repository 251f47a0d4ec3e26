// Node entry point (`icebridge/node`): the isomorphic core, plus the Node socket adapters and server drivers.
// Names exported here take precedence over the core's of the same name (ES module star-export rules):
// `stunBinding` here opens its own socket, the core's needs one given.
/**
 * Node: the core plus real sockets, `IceAgent` on node:dgram, the STUN/TURN servers, the bridge and `icebridge serve`.
 * @module icebridge/node
 */
export * from './index.js';
export { UdpSocket, type UdpSocketOptions } from './node/udp-socket.js';
export { StreamSocket, type StreamSocketOptions } from './node/stream-socket.js';
export { stunBinding, resolveHost, type NodeStunBindingOptions } from './node/stun-binding.js';
export { startStunServer, type NodeStunServerOptions, type RunningStunServer } from './node/stun-server.js';
export { connectBridge, type NodeBridgeConnectOptions } from './node/bridge-client.js';
export { startTurnServer, TURN_SERVER_DEFAULT_HOSTS, type NodeTurnServerOptions, type RunningTurnServer } from './node/turn-server.js';
export { allocateTurn, resolveTurnUri, type AllocateTurnOptions, type ResolvedTurnServer } from './node/turn-client.js';
export { lazyNodeMdns, openMulticastSocket, type MdnsInterface, type NodeMdnsOptions } from './node/mdns-sockets.js';
export { createIceAgent, listHostAddresses, selectHostAddresses, type NodeIceAgentOptions, type HostAddress } from './node/ice-agent.js';
// `new IceAgent({ iceServers, iceTransportPolicy })`: the same name and surface as the page's Worker-backed agent.
export { IceAgent, type NodeIceAgentConstructor } from './node/node-ice-agent.js';
export { type IceCandidatePairStats, type IceGatheringState, type SelectedCandidatePair } from './ice/ice-agent.js';
export type { IceServerConfig, IceTransportPolicy, GatheringError } from './ice/gatherer.js';
export type { IceParameters, IceTransportState } from './ice/agent.js';
export type { IceCandidateInit } from './ice/candidate.js';
export {
  startIcebridgeServer, type IcebridgeServerOptions, type RunningIcebridgeServer, type ServeBridgeOptions, type ServeTurnOptions,
} from './node/serve.js';
export { attachSignalingRelay, SignalingCloseCode, type SignalingRelayOptions, type RunningSignalingRelay } from './node/signaling-relay.js';
export { startBridge, BRIDGE_DEFAULTS, BridgeCloseCode, type BridgeOptions, type RunningBridge } from '../bridge/index.js';

// Types the Node API's signatures name (options, metrics, listeners), exported so users can name them too.
export type { BridgeCarriers, WebTransportOptions, BridgeMdnsResolver, BridgeMetricsSnapshot, DropReason, RefusalReason, CarrierSnapshot } from '../bridge/index.js';
export { BridgeMetrics } from '../bridge/index.js';
export { isBridgeWorker, serveAsClusterWorker } from '../bridge/cluster-worker.js';
export { TcpActiveSocket, TcpPassiveSocket, TCP_CANDIDATE_DEFAULTS, type TcpCandidateOptions } from './node/tcp-candidate-sockets.js';
export type { RunningBridgeCluster } from '../bridge/cluster.js';
export type { CertificateHash as WebTransportCertificateHash } from '../bridge/index.js';
export type { BridgeResolveFunction } from '../bridge/resolver.js';
export type { LookupOutcome } from './bridge/metrics.js';
export type { LookupAnswer } from './bridge/session-types.js';
export type { PageFilesOptions, PageFiles, PageFileResult } from './node/page-files.js';
export type { SignalingCounters, SignalingClosure, SignalingRefusal } from './node/signaling-relay.js';
export { TURN_STREAM_DEFAULTS } from './node/turn-stream-listener.js';
export type { TurnStreamLimits, TurnStreamListeners, TurnStreamCounters, TurnStreamTransport, TurnTlsCredentials, ResolvedTurnStreamLimits } from './node/turn-stream-listener.js';
