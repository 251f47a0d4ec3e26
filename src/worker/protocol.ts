// What crosses the page ↔ Worker boundary: configuration, handles and event snapshots (all structured-
// cloneable), and the API the Worker exposes through comlink. Types only, plus the bridge URL rule.
import { withoutToken, type BridgeCarrierKind } from '../net/bridge-carrier.js';
import type { BridgeLimits, ResolvedAddress } from '../net/bridge-frame.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { IceCandidateInit } from '../ice/candidate.js';
import type { IceParameters, IceTransportState } from '../ice/agent.js';
import type { IceServerConfig, IceTransportPolicy, GatheringError } from '../ice/gatherer.js';
import type { IceAgentOptions, IceCandidatePairStats, IceGatheringState, SelectedCandidatePair } from '../ice/ice-agent.js';
import type { StunBindingResult } from '../stun/binding.js';
import type { NatBehaviorResult } from '../nat/nat-discovery.js';
import type { SerializedError } from './errors.js';
import type { BytesSource } from '../net/webtransport-carrier.js';

/** A certificate hash of the bridge's WebTransport endpoint (W3C `serverCertificateHashes`; `value` base64 or bytes). */
export interface BridgeCertificateHash {
  algorithm: 'sha-256';
  value: string | BytesSource;
}

/** Which carrier reaches the bridge: WebTransport first then WebSocket (`auto`), or one of them only. */
export type BridgeCarrierChoice = 'auto' | 'webtransport' | 'websocket';

/**
 * The bridge: a `ws://…` URL with the token already in its query, or the URL and the token apart, with its
 * WebTransport endpoint if it has one (`webTransportUrl`, and `certificateHashes` for a self-signed
 * certificate). `carrier` defaults to `auto` when `webTransportUrl` is given, else `websocket`.
 */
export type BridgeConfig =
  | string
  | {
      url: string;
      username?: string;
      credential?: string;
      webTransportUrl?: string;
      certificateHashes?: BridgeCertificateHash[];
      carrier?: BridgeCarrierChoice;
    };

/**
 * A TypeError for a `bridge` that is no BridgeConfig, or whose URL is not absolute, before the Worker is asked:
 * it would try it as a URL relative to its own script (where a server that takes any WebSocket leaves the
 * agent waiting out the hello timeout), and a Worker from a blob: URL cannot resolve it at all.
 */
export function checkBridgeConfig(bridge: unknown): void {
  const url = typeof bridge === 'string' ? bridge : typeof bridge === 'object' && bridge !== null && !(bridge instanceof URL) ? (bridge as { url?: unknown }).url : undefined;
  if (typeof url !== 'string') {
    const got = bridge instanceof URL ? 'a URL object (pass its href)' : bridge === null ? 'null' : typeof bridge === 'object' ? 'an object without a url string' : typeof bridge;
    throw new TypeError(`bridge must be the bridge's ws:// or wss:// URL, or { url, username, credential, … }; got ${got}`);
  }
  // The query may hold the credential: it is not repeated.
  const shown = (u: string) => JSON.stringify(withoutToken(u));
  if (!/^(wss?|https?):\/\/[^/?#]/i.test(url)) throw new TypeError(`bridge URL must be absolute, ws://HOST… or wss://HOST…; got ${shown(url)}`);
  if (typeof bridge === 'string') return;
  const { username, credential, webTransportUrl, certificateHashes } = bridge as Exclude<BridgeConfig, string>;
  for (const [name, value] of [['username', username], ['credential', credential]] as const) {
    if (value !== undefined && typeof value !== 'string') throw new TypeError(`bridge.${name} must be a string, got ${typeof value}`);
  }
  if (webTransportUrl !== undefined && !(typeof webTransportUrl === 'string' && /^https:\/\/[^/?#]/i.test(webTransportUrl))) {
    throw new TypeError(`bridge.webTransportUrl must be the bridge's https://HOST… WebTransport URL, got ${typeof webTransportUrl === 'string' ? shown(webTransportUrl) : typeof webTransportUrl}`);
  }
  if (certificateHashes !== undefined && !Array.isArray(certificateHashes)) throw new TypeError('bridge.certificateHashes must be an array of { algorithm: \'sha-256\', value }');
}

/** The WebSocket URL of a bridge config: `username` and `credential` go in the query (bridge/README.md). */
export function bridgeUrl(config: BridgeConfig): string {
  if (typeof config === 'string') return config;
  return withToken(config.url, config.username, config.credential);
}

/**
 * The WebTransport URL of a bridge config, with the same token as the WebSocket URL: `username` and
 * `credential`, else those in `url`'s query when its own query has none. Undefined when there is none.
 */
export function bridgeWebTransportUrl(config: BridgeConfig): string | undefined {
  if (typeof config === 'string' || config.webTransportUrl === undefined) return undefined;
  const own = new URL(config.webTransportUrl);
  if (config.username !== undefined || config.credential !== undefined) return withToken(config.webTransportUrl, config.username, config.credential);
  if (own.searchParams.has('username') || own.searchParams.has('credential')) return config.webTransportUrl;
  const query = new URL(config.url).searchParams;
  return withToken(config.webTransportUrl, query.get('username') ?? undefined, query.get('credential') ?? undefined);
}

function withToken(base: string, username: string | undefined, credential: string | undefined): string {
  if (username === undefined && credential === undefined) return base;
  const url = new URL(base);
  if (username !== undefined) url.searchParams.set('username', username);
  if (credential !== undefined) url.searchParams.set('credential', credential);
  return url.toString();
}

/** An open bridge connection inside the Worker. */
export interface ConnectionInfo {
  id: number;
  /** What the bridge announced in its hello (sockets per session, payload size, rates, idle timeout). */
  limits: BridgeLimits;
  /** Which carrier the session runs on. */
  carrier: BridgeCarrierKind;
  /** In `auto`, why WebTransport was not used (handshake failed, timed out, none here). */
  fallbackReason?: SerializedError;
}

/** A UDP socket on the bridge host. */
export interface SocketInfo {
  id: number;
  /** The address the bridge's UDP socket is bound to (may be a wildcard). */
  localAddress: TransportAddress;
  /** The bridge host's addresses for this socket's family. */
  hostAddresses: string[];
}

export interface StunBindingConfig {
  /** Give up after this long; default 10 000 ms (the full RFC 8489 schedule is 39.5 s). */
  timeoutMs?: number;
  /** Initial retransmission timeout; default 500 ms (RFC 8489 §6.2.1). */
  rtoMs?: number;
}

/** RFC 5780 NAT behaviour discovery through the bridge (the binding lifetime probe, minutes long, is not offered). */
export interface NatDiscoveryConfig {
  /** How long each test waits for its answer; a NAT that filters makes one or two tests wait this long. Default 3000 ms. */
  timeoutMs?: number;
  /** Initial retransmission timeout; default 500 ms (RFC 8489 §6.2.1). */
  rtoMs?: number;
  /** Run the hairpinning test (RFC 5780 §3.4) from a second bridge socket. Default true. */
  hairpinning?: boolean;
}

/**
 * What NAT behaviour discovery found for the bridge host's UDP (plain data): mapping, filtering, hairpinning,
 * the classic name, the ICE outlook, the addresses and the log of tests (`details.tests`).
 */
export type NatDiscoveryResult = Omit<NatBehaviorResult, 'bindingLifetime'>;

export interface TurnAllocationConfig {
  username: string;
  credential: string;
  /** Relayed address family (REQUESTED-ADDRESS-FAMILY). Default: the server's choice. */
  family?: AddressFamily;
  /** LIFETIME asked for, in seconds. Default 600. */
  lifetimeSeconds?: number;
  /** Reject after this long. Default 10 000 ms. */
  timeoutMs?: number;
}

/** A TURN allocation inside the Worker. */
export interface RelayInfo {
  id: number;
  /** XOR-RELAYED-ADDRESS: where peers send to reach this client. */
  relayedAddress: TransportAddress;
  /** XOR-MAPPED-ADDRESS: the bridge socket as the TURN server saw it. */
  mappedAddress: TransportAddress | undefined;
  server: TransportAddress;
}

/**
 * Like RTCConfiguration: `{ bridge, iceServers, iceTransportPolicy }`, plus the engine's options (role,
 * credentials, pacing, consent, limits). Functions (clock, random, sockets) stay inside the Worker.
 */
export interface IceAgentConfig extends Omit<IceAgentOptions, 'sockets' | 'tcpSockets' | 'openStreamSocket' | 'openTcpRelay' | 'resolve' | 'clock' | 'random' | 'mdns'> {
  /** The bridge the host sockets are opened on; ignored when the agent is made on a connection. */
  bridge?: BridgeConfig;
  iceServers?: IceServerConfig[];
  iceTransportPolicy?: IceTransportPolicy;
  /** Host sockets to open on the bridge, one per family. Default ['IPv4']. */
  families?: AddressFamily[];
  /**
   * Host candidates of these transports: UDP sockets on the bridge, and with 'tcp' an active TCP candidate
   * (RFC 6544) per family whose connections are the bridge's streams (its destination policy applies), and a
   * passive one on a bridge listener where the bridge listens for pages (its operator's `allowListen`).
   * Default ['udp']. With gatherPolicy 'continual' the UDP host candidates follow the bridge's own address
   * changes (its `host-addresses` notices).
   */
  candidateProtocols?: ('udp' | 'tcp')[];
}

/** The agent state the page mirrors, sent with every event so the page's getters are right inside a handler. */
export interface AgentSnapshot {
  state: IceTransportState;
  gatheringState: IceGatheringState;
  role: 'controlling' | 'controlled';
  localParameters: IceParameters;
  selectedPair: SelectedCandidatePair | null;
}

export interface AgentInfo extends AgentSnapshot {
  id: number;
  /**
   * The most bytes the Worker's agent sends in one datagram (its `maxDatagramSize`, which the Worker may
   * lower to what the bridge's hello allows); the page's send() checks against it. Absent: the config's.
   */
  maxDatagramSize?: number;
  /** The carrier of the agent's bridge connection (the agent itself never knows it). */
  carrier: BridgeCarrierKind;
  /** In `auto`, why WebTransport was not used. */
  fallbackReason?: SerializedError;
}

/** The events an IceAgent dispatches (W3C names), in the Worker and in the page alike. */
export const AGENT_EVENT_TYPES = [
  'icecandidate',
  'icecandidateerror',
  'gatheringstatechange',
  'statechange',
  'selectedcandidatepairchange',
  'rolechange',
  'remotecandidate',
  'data',
] as const;

export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

export interface AgentEventMessage extends AgentSnapshot {
  type: AgentEventType;
  /** icecandidate: the candidate, null at the end of candidates. */
  candidate?: IceCandidateInit | null;
  /** data: the bytes received (transferred to the page). */
  data?: Uint8Array;
  /** icecandidateerror */
  error?: GatheringError;
}

export type AgentListener = (event: AgentEventMessage) => void;
export type DatagramListener = (bytes: Uint8Array, from: TransportAddress) => void;
/** Called once when a connection, socket or relay ends on its own (bridge gone, allocation expired, …). */
export type CloseListener = (error: SerializedError | undefined) => void;

/**
 * The API the Worker exposes. Handles are numbers; listeners arrive as comlink proxies; errors are
 * thrown as SerializedError (plain data, so the page can rebuild the typed error).
 */
export interface WorkerApi {
  ping(): Promise<string>;
  connect(bridge: BridgeConfig, onclose?: CloseListener): Promise<ConnectionInfo>;
  closeConnection(connection: number): Promise<void>;
  /** Named so because comlink treats a remote `bind` as Function.prototype.bind. */
  bindSocket(connection: number, options: { family?: AddressFamily; port?: number }, ondatagram: DatagramListener, onclose?: CloseListener): Promise<SocketInfo>;
  socketSend(socket: number, bytes: Uint8Array, to: TransportAddress): Promise<void>;
  closeSocket(socket: number): Promise<void>;
  /** Resolves a name on the bridge host (default A and AAAA); rejects with BridgeError (name-not-found, destination-denied, …). */
  resolve(connection: number, name: string, families?: AddressFamily[]): Promise<ResolvedAddress[]>;
  stunBinding(connection: number, server: string | TransportAddress, options?: StunBindingConfig): Promise<StunBindingResult>;
  /** RFC 5780 NAT behaviour discovery from bridge sockets of `connection`; rejects with NatDiscoveryError (NO_RFC5780, …). */
  discoverNat(connection: number, server: string | TransportAddress, options?: NatDiscoveryConfig): Promise<NatDiscoveryResult>;
  allocateTurn(connection: number, server: string | TransportAddress, options: TurnAllocationConfig, ondatagram: DatagramListener, onclose?: CloseListener): Promise<RelayInfo>;
  relaySend(relay: number, bytes: Uint8Array, to: TransportAddress): Promise<void>;
  relayCreatePermission(relay: number, peer: TransportAddress): Promise<void>;
  relayBindChannel(relay: number, peer: TransportAddress): Promise<number>;
  closeRelay(relay: number): Promise<void>;
  /** An agent on `connection`, or on a connection of its own to `config.bridge` (closed with the agent). */
  createAgent(config: IceAgentConfig, listener: AgentListener, connection?: number): Promise<AgentInfo>;
  agentGather(agent: number): Promise<void>;
  agentSetRemoteParameters(agent: number, parameters: IceParameters): Promise<void>;
  agentAddRemoteCandidate(agent: number, candidate: IceCandidateInit | string | null): Promise<boolean>;
  agentSend(agent: number, data: Uint8Array | string): Promise<boolean>;
  agentRestart(agent: number): Promise<IceParameters>;
  agentGetStats(agent: number): Promise<IceCandidatePairStats[]>;
  agentGetSelectedCandidatePair(agent: number): Promise<SelectedCandidatePair | null>;
  agentClose(agent: number): Promise<void>;
  /** Closes every agent, relay, socket and connection of this Worker. */
  close(): Promise<void>;
}
