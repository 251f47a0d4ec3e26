// Public isomorphic API: runs in pages, Workers and Node alike.
export * from './stun/index.js';
export { StunClient, type StunClientEvent, type StunTransactionResult, type StunRequestOptions } from './stun/client.js';
export { TransactionTable, type TransactionOptions } from './stun/transactions.js';
export { stunBinding, StunBindingError, type StunBindingOptions, type StunBindingResult } from './stun/binding.js';
export { StunServer, type StunServerOptions, type StunServerCounters } from './server/stun-server.js';
export { DestinationUnreachableError, type DatagramSocket, type DatagramHandler, type UnreachableHandler } from './net/datagram-socket.js';
export { FramedStreamSocket, type ByteStream } from './net/framed-stream-socket.js';
export type { TransportAddress, AddressFamily } from './net/transport-address.js';
export { formatTransportAddress } from './net/transport-address.js';
export type { Engine, Transmit, DatagramSource, SocketId } from './net/engine.js';
export { EngineDriver, type EngineDriverOptions } from './net/driver.js';
export { realClock, type Clock } from './net/clock.js';
export { parseIceServerUri, formatIceServerUri, IceServerUriError, type IceServerUri } from './net/ice-server-uri.js';
export {
  BRIDGE_PROTOCOL_VERSION, BRIDGE_SUBPROTOCOL_V2, BridgeFeature, BridgeFrameError, decodeBridgeFrame, encodeBridgeFrame, encodeDataFrame,
  type BridgeFrame, type BridgeFrameErrorCode, type BridgeLimits,
} from './net/bridge-frame.js';
export { mintRestCredential, verifyRestCredential, type RestCredential, type RestCredentialCheck, type MintRestCredentialOptions } from './net/rest-credentials.js';
export {
  BridgeConnection, BridgeSocket, BridgeStream, BridgeError,
  type BridgeConnectOptions, type BridgeSessionLimits, type BridgeStreamConnectOptions, type ResolveOptions, type ResolvedAddress, type WebSocketConstructor,
  type BridgeCarrierChoice, type BridgeCarrierKind, type CertificateHash, type WebTransportConstructor,
} from './net/bridge-client.js';
export { TurnServer, runTurnServer, PeerPolicy, type TurnServerOptions, type TurnServerEvent, type TurnServerCounters, type RunTurnServerOptions, type RunningTurnEngine } from './server/index.js';
export * from './turn/index.js';
export * from './nat/index.js';
// mDNS ICE candidates (draft-ietf-mmusic-mdns-ice-candidates): the service an IceAgent's `mdns` option takes.
export { MdnsService, MdnsResolveError, type MdnsHostNames, type MdnsSocket, type MdnsServiceOptions } from './mdns/mdns-service.js';
export type { MdnsEngineOptions, MdnsUnresolvedReason } from './mdns/mdns-engine.js';
export { isMdnsCandidateAddress, isUuidLocalName, generateMdnsName } from './mdns/mdns-names.js';
export type { MdnsHostCandidates, MdnsCandidateError } from './ice/mdns-candidates.js';
// ICE (RFC 8445): the sans-I/O engine, and IceAgent — the engine driven over whatever DatagramSockets
// `sockets` opens (node:dgram, bridge sockets, simulated ones). icebridge/node and the page entry give the
// same agent with the sockets chosen for their runtime.
export { IceAgentEngine, type IceAgentEngineOptions, type IceAgentEvent as IceAgentEngineEvent, type IceAgentCounters, type IceParameters, type IceTransportState } from './ice/agent.js';
export { IceAgent, type IceAgentOptions, type IceGatheringState, type IceCandidatePairStats, type SelectedCandidatePair } from './ice/ice-agent.js';
export type { IceAgentEventMap } from './ice/ice-agent-events.js';
export {
  toSessionDescription, fromSessionDescription, DUMMY_FINGERPRINT,
  type SessionIceDescription, type SessionDescriptionOptions, type ParsedSessionDescription, type DtlsSetupRole,
} from './ice/session-description.js';
export type { IceServerConfig, IceTransportPolicy, GatheringError } from './ice/gatherer.js';
export { parseCandidate, formatCandidate, candidateToInit, candidateFromInit, computePriority, IceCandidateError, type IceCandidate, type IceCandidateInit, type IceCandidateType } from './ice/candidate.js';
export { parseIceAttributeLine, parseIceDescription, formatIceDescription, IceSdpError, type IceDescription, type IceSdpLine } from './ice/sdp.js';
