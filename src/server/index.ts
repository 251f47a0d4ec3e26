// The STUN and TURN server engines (sans-I/O) and the runner that drives the TURN server over any sockets.
export { StunServer, type StunServerOptions, type StunServerCounters, type StunServerDropReason, type StunMethodHandler } from './stun-server.js';
export {
  TurnServer,
  type TurnServerOptions,
  type TurnServerEvent,
  type TurnServerCounters,
  type TurnDropReason,
  type TurnAllocationInfo,
  type TurnDeallocationReason,
  type OpenedRelay,
} from './turn-server.js';
export { DEFAULT_REALM, type TurnCredentialOptions, type TurnRealmCredentials } from './turn-auth.js';
export { PeerPolicy, DEFAULT_DENIED_PEERS, LOOPBACK_PEERS, parseCidr, type PeerPolicyOptions, type CidrRange } from './peer-policy.js';
export { runTurnServer, type RunTurnServerOptions, type RunningTurnEngine, type RelaySocketRequest, type RelaySocketPair } from './turn-server-runner.js';
