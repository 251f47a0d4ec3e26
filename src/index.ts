// Public isomorphic API: runs in pages, Workers and Node alike.
/**
 * The isomorphic core: STUN, TURN and ICE engines, codecs and servers, for pages, Workers, Deno and Node.
 * @module icebridge/core
 */
export * from './stun/index.js';
export { StunClient, type StunClientEvent, type StunTransactionResult, type StunRequestOptions } from './stun/client.js';
export { TransactionTable, type TransactionOptions } from './stun/transactions.js';
export { stunBinding, StunBindingError, type StunBindingOptions, type StunBindingResult } from './stun/binding.js';
export { StunServer, type StunServerOptions, type StunServerCounters } from './server/stun-server.js';
export { DestinationUnreachableError, type DatagramSocket, type DatagramHandler, type UnreachableHandler } from './net/datagram-socket.js';
export { FramedStreamSocket, type ByteStream } from './net/framed-stream-socket.js';
export { ActiveStreamSocket, PassiveStreamSocket, StreamConnections, STREAM_CANDIDATE_DEFAULTS, type StreamCandidateOptions } from './net/stream-candidate-socket.js';
export { Rfc4571Framer, frameRfc4571, RFC4571_MAX_PACKET } from './net/rfc4571-framer.js';
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
  BridgeConnection, BridgeListener, BridgeSocket, BridgeStream, BridgeError,
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
export { RelayedPassiveSocket, type OpenTcpRelay, type TcpRelayAllocation } from './ice/tcp-relays.js';
export {
  IceAgentEventObject as IceAgentEvent,
  IceCandidateEvent,
  IceCandidateErrorEvent,
  IceDataEvent,
  IceRemoteCandidateEvent,
  type IceAgentEventMap,
  type IceAgentEventType,
  type IceCandidateErrorInit,
} from './ice/ice-agent-events.js';
export { IceAgentEventTarget, type IceAddEventListenerOptions, type IceEventHandler, type IceEventListener } from './ice/ice-agent-event-target.js';
export type { IceCandidateInitLike } from './ice/candidate.js';
export { IceSendError, DEFAULT_MAX_DATAGRAM_SIZE, type IceSendErrorCode } from './ice/datagram-size.js';
export { validateIceConfiguration, validateIceServer, type IceConfigurationToValidate } from './ice/ice-server-validation.js';
export {
  toSessionDescription, fromSessionDescription, DUMMY_FINGERPRINT,
  type SessionIceDescription, type SessionDescriptionOptions, type ParsedSessionDescription, type DtlsSetupRole,
} from './ice/session-description.js';
export type { IceServerConfig, IceTransportPolicy, GatheringError } from './ice/gatherer.js';
export { parseCandidate, formatCandidate, candidateToInit, candidateFromInit, computePriority, IceCandidateError, type IceCandidate, type IceCandidateInit, type IceCandidateType } from './ice/candidate.js';
export {
  parseIceAttributeLine, parseIceDescription, formatIceDescription, IceSdpError, ICE_SDP_LIMITS,
  type IceDescription, type IceSdpLine, type IceSdpLimits, type IceDescriptionParseOptions,
} from './ice/sdp.js';

// Types the signatures above name (fields, options, counters, codes), exported so users can name them too.
export type {
  BindFrame, BoundFrame, CloseFrame, ConnectFrame, ConnectedFrame, DataFrame, EndFrame, ErrorFrame, HelloFrame,
  MdnsRegisterFrame, MdnsRegisteredFrame, MdnsUnregisterFrame, ResolveFrame, ResolvedFrame, StreamFrame, WindowFrame,
  ListenFrame, ListeningFrame, AcceptedFrame, HostAddressesFrame,
} from './net/bridge-frame-types.js';
export type { TimerHandle } from './net/clock.js';
export type { StreamFramerOptions } from './net/stream-framer.js';
export type { BytesSource, WebTransportInit } from './net/webtransport-carrier.js';
export type { IceServerScheme, IceServerTransport } from './net/ice-server-uri.js';
export type { RandomFill } from './ice/credentials.js';
export type { CandidatePairState } from './ice/candidate-pair.js';
export type { IceRole } from './ice/checks.js';
export type { IceProtocol, IceTcpType, IceCandidateErrorCode } from './ice/candidate.js';
export type { IceSdpErrorCode } from './ice/sdp.js';
export type { StunBindingErrorCode } from './stun/binding.js';
export type { StunClientCounters } from './stun/client.js';
export type { TransactionCounters } from './stun/transactions.js';
export type { PeerPolicyOptions, PeerVerdict } from './server/peer-policy.js';
export type { Rfc5780Options, Rfc5780Socket } from './server/rfc5780.js';
export type { StunServerDropReason } from './server/stun-server.js';
export type { TurnRealmCredentials } from './server/turn-realms.js';
export type { TurnDropReason } from './server/turn-server-counters.js';
export type { TurnAllocationInfo, TurnDeallocationReason } from './server/turn-server-events.js';
export type { TurnTcpEvent, TurnTcpCloseReason } from './server/turn-tcp-events.js';
