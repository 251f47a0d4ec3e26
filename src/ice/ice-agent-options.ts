// IceAgent's options — RTCConfiguration-like, plus where its sockets and lookups come from — and the plain
// types of its API; apart from the class (ice-agent.ts) as agent-options.ts is from the engine's.
import type { Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import type { IceServerTransport } from '../net/ice-server-uri.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { MdnsHostNames } from '../mdns/mdns-service.js';
import type { IceAgentEngineOptions } from './agent.js';
import type { IceCandidate } from './candidate.js';
import type { IceServerConfig, IceTransportPolicy } from './gatherer.js';
import type { MdnsHostCandidates } from './mdns-candidates.js';
import type { OpenTcpRelay } from './tcp-relays.js';

export type IceGatheringState = 'new' | 'gathering' | 'complete';

export interface IceAgentOptions extends Omit<IceAgentEngineOptions, 'random'> {
  /** Like RTCConfiguration.iceServers: `{ urls: 'stun:host:3478' | 'turn:host?transport=tcp', username, credential }`. */
  iceServers?: IceServerConfig[];
  /** 'relay' offers and uses relayed candidates only. Default 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /** Opens the host sockets to gather on: node:dgram sockets, bridge sockets, simulated ones. */
  sockets: () => Promise<DatagramSocket[]>;
  /**
   * Opens host TCP candidates (RFC 6544): sockets that carry RFC 4571 frames as datagrams — an active one
   * connects to each remote it sends to (its candidate says port 9), a passive one accepts connections.
   * Each becomes a host candidate of its tcptype. Default none (UDP only).
   */
  tcpSockets?: () => Promise<{ socket: DatagramSocket; tcpType: 'active' | 'passive' }[]>;
  openStreamSocket?: (server: TransportAddress, transport: IceServerTransport, serverName: string) => Promise<DatagramSocket>;
  /**
   * Opens an RFC 6062 TCP allocation: with `tcpSockets`, each TURN server reached over TCP or TLS then gives a
   * passive relayed TCP candidate (tcp-relays.ts). Default none.
   */
  openTcpRelay?: OpenTcpRelay;
  /** Looks a server name up, in `family` when given (the gatherer asks per host family). */
  resolve?: (host: string, family?: AddressFamily) => Promise<string>;
  /** Ask TURN servers for dual allocations (RFC 8656 §7.1 ADDITIONAL-ADDRESS-FAMILY): one relay candidate per family. Default false. */
  relayDualStack?: boolean;
  clock?: Clock;
  random?: () => number;
  stunTimeoutMs?: number;
  turnTimeoutMs?: number;
  /**
   * mDNS (draft-ietf-mmusic-mdns-ice-candidates): resolves the peer's `<uuid>.local` candidates and, with
   * `mdnsHostCandidates: 'on'`, answers for ours. Without it, `.local` candidates are dropped with an
   * 'icecandidateerror' (they are never handed to a unicast resolver). The agent calls its `release()` on close.
   */
  mdns?: MdnsHostNames;
  /** 'on': each host candidate's address is replaced by a fresh `<uuid>.local` name (needs `mdns`). Default 'off'. */
  mdnsHostCandidates?: MdnsHostCandidates;
  /**
   * The most bytes send() takes in one datagram; more throws an IceSendError (RangeError, code
   * DATAGRAM_TOO_LARGE). 1..65 507; default DEFAULT_MAX_DATAGRAM_SIZE (65 443: the largest UDP payload over
   * IPv4 less the TURN framing of a relayed pair).
   */
  maxDatagramSize?: number;
  /**
   * 'once': gather on the sockets `gather()` opens, then end-of-candidates (RFC 8838 §13). 'continual': no
   * end-of-candidates, so addSocket() can trickle candidates of an address that appears later and
   * removeSocket() drops those of one that went away (the Node agent watches its interfaces itself).
   * removeSocket() works in both. Default 'once'.
   */
  gatherPolicy?: 'once' | 'continual';
}

export interface SelectedCandidatePair {
  local: IceCandidate;
  remote: IceCandidate;
}
