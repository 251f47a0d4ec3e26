// IcebridgeService: creates and drives icebridge objects — bridge connections, bridge sockets, STUN
// bindings, TURN allocations, ICE agents — and names each by a number handle. A plain class with no
// comlink: worker.ts exposes it to the page, tests drive it in Node with `ws`'s WebSocket.
// What a page's first connection (an IceAgent) does not run is imported when first asked for — RFC 5780
// NAT discovery, the one-off STUN Binding, TURN allocations made by hand — so the Worker's first script is
// smaller (the Worker build splits these into dist/chunks/; bench/size.ts measures each part).
import {
  BridgeConnection,
  type BridgeConnectOptions,
  type BridgeError,
  type BridgeSocket,
  type ResolvedAddress,
  type WebSocketConstructor,
  type WebTransportConstructor,
} from '../net/bridge-client.js';
import { serializeError } from './errors.js';
import type { Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import type { IceServerTransport } from '../net/ice-server-uri.js';
import { serverTarget } from '../stun/server-target.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import type { IceCandidateInit } from '../ice/candidate.js';
import type { IceParameters } from '../ice/agent.js';
import type { IceCandidatePairStats, SelectedCandidatePair } from '../ice/ice-agent.js';
import type { StunBindingResult } from '../stun/binding.js';
import type { TurnRelaySocket } from '../turn/relay-socket.js';
import { AgentSession } from './agent-session.js';
import {
  bridgeUrl,
  bridgeWebTransportUrl,
  type AgentInfo,
  type AgentListener,
  type BridgeConfig,
  type ConnectionInfo,
  type DatagramListener,
  type IceAgentConfig,
  type NatDiscoveryConfig,
  type NatDiscoveryResult,
  type RelayInfo,
  type SocketInfo,
  type StunBindingConfig,
  type TurnAllocationConfig,
} from './protocol.js';

export interface IcebridgeServiceOptions {
  /** The WebSocket class; default the global one (a Worker's, a page's). In Node pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** The WebTransport class; default the global one (a Worker's, a page's, where the browser has it). */
  WebTransport?: WebTransportConstructor;
  /** Timeouts and the send queue bound of every bridge connection (see BridgeConnectOptions). */
  connect?: Omit<BridgeConnectOptions, 'WebSocket' | 'WebTransport' | 'carrier' | 'webTransportUrl' | 'certificateHashes'>;
  /** The clock of STUN, TURN and ICE; default the real one. */
  clock?: Clock;
}

/** Why an object ended on its own: the bridge went away, the allocation expired, … */
export type ServiceCloseListener = (error: Error | undefined) => void;

/** STUN and TURN through a bridge take a bounded time by default, not the 39.5 s RFC schedule. */
const DEFAULT_TIMEOUT_MS = 10_000;

export class IcebridgeService {
  private nextId = 1;
  private readonly connections = new Map<number, BridgeConnection>();
  private readonly sockets = new Map<number, BridgeSocket>();
  private readonly relays = new Map<number, TurnRelaySocket>();
  private readonly agents = new Map<number, AgentSession>();

  constructor(private readonly options: IcebridgeServiceOptions = {}) {}

  /** Opens a bridge session; rejects with a BridgeError when the bridge refuses (4001 bad token, …). */
  async connect(bridge: BridgeConfig, onclose?: ServiceCloseListener): Promise<ConnectionInfo> {
    const connection = await this.open(bridge);
    const id = this.nextId++;
    this.connections.set(id, connection);
    connection.onclose = (error: BridgeError) => {
      if (this.connections.get(id) !== connection) return; // closed by closeConnection()
      this.connections.delete(id);
      this.closeAgentsOn(connection);
      onclose?.(error);
    };
    return { id, limits: { ...connection.limits }, ...carrierInfo(connection) };
  }

  closeConnection(id: number): void {
    const connection = this.connections.get(id);
    if (!connection) return;
    this.connections.delete(id);
    this.closeAgentsOn(connection);
    connection.close();
  }

  /** A UDP socket on the bridge host; datagrams to it go to `ondatagram`. */
  async bindSocket(connection: number, options: { family?: AddressFamily; port?: number }, ondatagram: DatagramListener, onclose?: ServiceCloseListener): Promise<SocketInfo> {
    const socket = await this.connection(connection).bind(options);
    const id = this.nextId++;
    this.sockets.set(id, socket);
    socket.ondatagram = ondatagram;
    socket.onclose = (reason) => {
      if (this.sockets.get(id) !== socket) return;
      this.sockets.delete(id);
      onclose?.(reason);
    };
    return { id, localAddress: { ...socket.localAddress }, hostAddresses: [...socket.hostAddresses] };
  }

  socketSend(socket: number, bytes: Uint8Array, to: TransportAddress): void {
    this.lookup(this.sockets, socket, 'socket').send(bytes, to);
  }

  closeSocket(id: number): void {
    const socket = this.sockets.get(id);
    this.sockets.delete(id);
    socket?.close();
  }

  /**
   * Resolves `name` on the bridge host (A and/or AAAA, default both; an IP literal answers itself). Rejects
   * with the bridge's BridgeError: `name-not-found`, `destination-denied` (its policy refused every answer), …
   */
  async resolve(connection: number, name: string, families?: AddressFamily[]): Promise<ResolvedAddress[]> {
    return await this.connection(connection).resolve(name, families === undefined ? {} : { families });
  }

  /**
   * One Binding request from a fresh bridge socket (closed after): the bridge host's address as `server` sees
   * it. Over UDP, or a bridge TLS stream for `stuns:` (RFC 7064); names resolve on the bridge.
   */
  async stunBinding(connection: number, server: string | TransportAddress, options: StunBindingConfig = {}): Promise<StunBindingResult> {
    const bridge = this.connection(connection);
    const target = await serverThrough(bridge, server, 'stun', 'stunBinding');
    const { stunBinding } = await import('../stun/binding.js');
    // Connected (where the bridge offers it): a server that is not there refuses at once, as in Node.
    const socket = await openBase(bridge, target);
    try {
      return await stunBinding(target.address, {
        socket,
        reliable: target.transport !== 'udp',
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        rtoMs: options.rtoMs,
        clock: this.options.clock,
      });
    } finally {
      socket.close();
    }
  }

  /**
   * RFC 5780 NAT behaviour discovery for the bridge host's UDP, from fresh bridge sockets (a second one for
   * the hairpinning test; both closed after). The bridge's announced host addresses tell "no NAT" from a
   * NAT when its sockets are bound to a wildcard address. Rejects with NatDiscoveryError (`NO_RFC5780` for a
   * server without OTHER-ADDRESS, `NO_RESPONSE`, …), a BridgeError for a name the bridge cannot resolve, or
   * TypeError for a server not over UDP (RFC 5780 §4 tests UDP mappings).
   */
  async discoverNat(connection: number, server: string | TransportAddress, options: NatDiscoveryConfig = {}): Promise<NatDiscoveryResult> {
    const bridge = this.connection(connection);
    const target = await serverThrough(bridge, server, 'stun', 'discoverNat');
    if (target.transport !== 'udp') throw new TypeError(`NAT behaviour discovery runs over UDP, not ${target.transport} ('${String(server)}')`);
    const family = familyOf(target.address.address);
    const { discoverNatBehavior } = await import('../nat/nat-discovery.js');
    const socket = await bridge.bind({ family });
    try {
      return await discoverNatBehavior(target.address, {
        socket,
        openSocket: () => bridge.bind({ family }),
        localAddresses: socket.hostAddresses,
        timeoutMs: options.timeoutMs,
        rtoMs: options.rtoMs,
        hairpinning: options.hairpinning,
        clock: this.options.clock,
      });
    } finally {
      socket.close();
    }
  }

  /**
   * A TURN allocation (RFC 8656) from a fresh bridge socket, or over a bridge TCP/TLS stream for
   * `turn:…?transport=tcp` and `turns:…` (the bridge checks the certificate); data from peers goes to `ondatagram`.
   */
  async allocateTurn(
    connection: number,
    server: string | TransportAddress,
    options: TurnAllocationConfig,
    ondatagram: DatagramListener,
    onclose?: ServiceCloseListener,
  ): Promise<RelayInfo> {
    const bridge = this.connection(connection);
    const target = await serverThrough(bridge, server, 'turn', 'allocateTurn');
    const { allocateFollowing } = await import('../turn/allocate-following.js');
    // One base per server tried (a 300 goes on from a new one), each connected where the bridge can: a
    // server that is not there refuses at once, as from Node.
    const relay = await allocateFollowing(
      target,
      {
        username: options.username,
        credential: options.credential,
        family: options.family,
        lifetimeSeconds: options.lifetimeSeconds,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        clock: this.options.clock,
      },
      (s) => openBase(bridge, s),
    );
    const id = this.nextId++;
    this.relays.set(id, relay);
    relay.ondatagram = ondatagram;
    relay.onclose = (reason) => {
      if (this.relays.get(id) !== relay) return;
      this.relays.delete(id);
      onclose?.(reason);
    };
    return { id, relayedAddress: { ...relay.localAddress }, mappedAddress: relay.mappedAddress && { ...relay.mappedAddress }, server: { ...relay.server } };
  }

  relaySend(relay: number, bytes: Uint8Array, to: TransportAddress): void {
    this.lookup(this.relays, relay, 'relay').send(bytes, to);
  }

  relayCreatePermission(relay: number, peer: TransportAddress): Promise<void> {
    return this.lookup(this.relays, relay, 'relay').createPermission(peer);
  }

  relayBindChannel(relay: number, peer: TransportAddress): Promise<number> {
    return this.lookup(this.relays, relay, 'relay').bindChannel(peer);
  }

  /** Deletes the allocation (a Refresh with LIFETIME 0) and then closes its bridge socket. */
  closeRelay(id: number): void {
    const relay = this.relays.get(id);
    this.relays.delete(id);
    relay?.close();
  }

  /** An IceAgent whose host sockets are bridge sockets: on `connection`, or on its own connection to `config.bridge`. */
  async createAgent(config: IceAgentConfig, listener: AgentListener, connection?: number): Promise<AgentInfo> {
    const id = this.nextId++;
    let session: AgentSession;
    if (connection !== undefined) {
      session = new AgentSession(this.connection(connection), false, config, listener);
    } else {
      if (config.bridge === undefined) throw new TypeError('createAgent needs config.bridge, or a bridge connection to run on');
      const own = await this.open(config.bridge);
      try {
        session = new AgentSession(own, true, config, listener);
      } catch (err) {
        own.close();
        throw err;
      }
      // The agent's own bridge went away (idle timeout, shutdown): the agent closes with it.
      own.onclose = () => this.agentClose(id);
    }
    this.agents.set(id, session);
    return { id, ...session.snapshot(), ...carrierInfo(session.connection) };
  }

  agentGather(agent: number): Promise<void> {
    return this.agent(agent).agent.gather();
  }

  async agentSetRemoteParameters(agent: number, parameters: IceParameters): Promise<void> {
    await this.agent(agent).agent.setRemoteParameters(parameters);
  }

  async agentAddRemoteCandidate(agent: number, candidate: IceCandidateInit | string | null): Promise<boolean> {
    return await this.agent(agent).addRemoteCandidate(candidate);
  }

  agentSend(agent: number, data: Uint8Array | string): boolean {
    return this.agent(agent).agent.send(data);
  }

  async agentRestart(agent: number): Promise<IceParameters> {
    return await this.agent(agent).agent.restart();
  }

  async agentGetStats(agent: number): Promise<IceCandidatePairStats[]> {
    return await this.agent(agent).agent.getStats();
  }

  agentGetSelectedCandidatePair(agent: number): SelectedCandidatePair | null {
    return this.agent(agent).agent.getSelectedCandidatePair();
  }

  agentClose(id: number): void {
    const session = this.agents.get(id);
    if (!session) return;
    this.agents.delete(id);
    session.close();
  }

  /** Closes every agent, relay, socket and connection. */
  close(): void {
    for (const id of [...this.agents.keys()]) this.agentClose(id);
    for (const id of [...this.relays.keys()]) this.closeRelay(id);
    for (const id of [...this.sockets.keys()]) this.closeSocket(id);
    for (const id of [...this.connections.keys()]) this.closeConnection(id);
  }

  /** How many objects are open, by kind (for tests and leak checks). */
  get counts(): { connections: number; sockets: number; relays: number; agents: number } {
    return { connections: this.connections.size, sockets: this.sockets.size, relays: this.relays.size, agents: this.agents.size };
  }

  private open(bridge: BridgeConfig): Promise<BridgeConnection> {
    const choice = typeof bridge === 'string' ? {} : { carrier: bridge.carrier, certificateHashes: bridge.certificateHashes };
    return BridgeConnection.connect(bridgeUrl(bridge), {
      ...this.options.connect,
      ...choice,
      webTransportUrl: bridgeWebTransportUrl(bridge),
      WebSocket: this.options.WebSocket,
      WebTransport: this.options.WebTransport,
    });
  }

  private closeAgentsOn(connection: BridgeConnection): void {
    for (const [id, session] of this.agents) if (session.connection === connection) this.agentClose(id);
  }

  private connection(id: number): BridgeConnection {
    return this.lookup(this.connections, id, 'bridge connection');
  }

  private agent(id: number): AgentSession {
    return this.lookup(this.agents, id, 'agent');
  }

  private lookup<T>(table: Map<number, T>, id: number, what: string): T {
    const value = table.get(id);
    if (value === undefined) throw new RangeError(`no ${what} ${id}: never opened, or closed`);
    return value;
  }
}

/** A STUN or TURN server as the bridge reaches it. */
interface BridgeServer {
  address: TransportAddress;
  transport: IceServerTransport;
  /** The host as written (the TLS server name). */
  host: string;
}

/**
 * The server of `host:port`, a `stun:`/`turn:` URI or a TransportAddress, its name resolved on the bridge (whose
 * policy judges the answers, as it judges datagrams): the bridge host's view of the name is the one that counts.
 */
async function serverThrough(bridge: BridgeConnection, server: string | TransportAddress, scheme: 'stun' | 'turn', caller: string): Promise<BridgeServer> {
  const target = serverTarget(server, caller, scheme);
  if (!target.scheme.startsWith(scheme)) throw new TypeError(`'${String(server)}' is not a ${scheme}: server`);
  // A first: resolveHost asks for both families and the bridge answers A before AAAA.
  const address = target.isName ? await bridge.resolveHost(target.host) : target.host;
  return { address: { address, port: target.port }, transport: target.transport, host: target.host };
}

/**
 * A UDP socket of the server's family, connected to it where the bridge can (BridgeFeature.connect), or a
 * TCP/TLS stream to it, on the bridge host: a base that talks to this one server.
 */
function openBase(bridge: BridgeConnection, server: BridgeServer): Promise<DatagramSocket> {
  if (server.transport === 'udp') return bridge.bind({ family: familyOf(server.address.address), connect: server.address });
  return bridge.openStreamSocket(server.address, server.transport, server.host);
}

/** Which carrier a connection runs on, and why not WebTransport when `auto` fell back. */
function carrierInfo(connection: BridgeConnection): { carrier: BridgeConnection['carrier']; fallbackReason?: ReturnType<typeof serializeError> } {
  const info: { carrier: BridgeConnection['carrier']; fallbackReason?: ReturnType<typeof serializeError> } = { carrier: connection.carrier };
  if (connection.fallbackReason) info.fallbackReason = serializeError(connection.fallbackReason);
  return info;
}
