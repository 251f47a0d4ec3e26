// Page entry point (`icebridge/worker`): icebridge runs in a Web Worker this starts by itself, reaching the
// network through a bridge; the page holds thin handles with the same API. The error classes are exported
// here too: compare with these (or by `name` and `code`), not with the ones of another bundle.
/**
 * The page client of the icebridge Worker: bridge connections, STUN, NAT discovery, TURN and ICE agents that run in the Worker.
 * @module icebridge/worker
 */
import { IcebridgeWorker } from './worker/client.js';
import type { WorkerBridgeConnection } from './worker/client.js';
import type { WorkerIceAgent } from './worker/client-agent.js';
import type { WorkerRelaySocket } from './worker/client-sockets.js';
import type { BridgeConfig, IceAgentConfig, NatDiscoveryConfig, NatDiscoveryResult, StunBindingConfig, TurnAllocationConfig } from './worker/protocol.js';
import type { StunBindingResult } from './stun/binding.js';
import type { TransportAddress } from './net/transport-address.js';

export { IcebridgeWorker, IcebridgeWorkerError, WorkerBridgeConnection, type IcebridgeWorkerOptions } from './worker/client.js';
export { WorkerIceAgent, WorkerIceAgentEvent } from './worker/client-agent.js';
export { WorkerBridgeSocket, WorkerRelaySocket } from './worker/client-sockets.js';
export { bridgeUrl, bridgeWebTransportUrl, type BridgeCarrierChoice, type BridgeCertificateHash, type BridgeConfig, type IceAgentConfig, type NatDiscoveryConfig, type NatDiscoveryResult, type StunBindingConfig, type TurnAllocationConfig } from './worker/protocol.js';
export { NatDiscoveryError } from './nat/errors.js';
export { BridgeError, type BridgeCarrierKind } from './net/bridge-client.js';
export { TurnError, TurnErrorCode } from './turn/errors.js';
export { StunBindingError, type StunBindingResult } from './stun/binding.js';
export { IceCandidateError, type IceCandidateInit } from './ice/candidate.js';
export type { IceParameters, IceTransportState } from './ice/agent.js';
export type { IceCandidatePairStats, IceGatheringState, SelectedCandidatePair } from './ice/ice-agent.js';
export type { IceServerConfig, IceTransportPolicy } from './ice/gatherer.js';
export type { TransportAddress } from './net/transport-address.js';

/** Which Worker to use; default the page's shared one (IcebridgeWorker.shared()). */
export interface WorkerChoice {
  worker?: IcebridgeWorker;
}

/** Like `new RTCPeerConnection(config)` for ICE alone: `{ bridge, iceServers, iceTransportPolicy }`. */
export function createIceAgent(config: IceAgentConfig & WorkerChoice): Promise<WorkerIceAgent> {
  const { worker, ...rest } = config;
  return (worker ?? IcebridgeWorker.shared()).createIceAgent(rest);
}

/** A bridge session in the Worker; rejects with BridgeError (closeCode 4001 for a bad token, 4002 expired). */
export function connectBridge(bridge: BridgeConfig, options: WorkerChoice = {}): Promise<WorkerBridgeConnection> {
  return (options.worker ?? IcebridgeWorker.shared()).connectBridge(bridge);
}

/** One STUN Binding through the bridge: the bridge host's address as `server` sees it. */
export function stunBinding(server: string | TransportAddress, options: StunBindingConfig & WorkerChoice & { bridge: BridgeConfig }): Promise<StunBindingResult> {
  const { worker, ...rest } = options;
  return (worker ?? IcebridgeWorker.shared()).stunBinding(server, rest);
}

/** A TURN allocation through the bridge (UDP to the server); close() deletes it and closes its bridge session. */
/** RFC 5780 NAT behaviour discovery of the bridge host's network (the server must run in RFC 5780 mode). */
export function discoverNat(server: string | TransportAddress, options: NatDiscoveryConfig & WorkerChoice & { bridge: BridgeConfig }): Promise<NatDiscoveryResult> {
  const { worker, ...rest } = options;
  return (worker ?? IcebridgeWorker.shared()).discoverNat(server, rest);
}

export function allocateTurn(server: string | TransportAddress, options: TurnAllocationConfig & WorkerChoice & { bridge: BridgeConfig }): Promise<WorkerRelaySocket> {
  const { worker, ...rest } = options;
  return (worker ?? IcebridgeWorker.shared()).allocateTurn(server, rest);
}
