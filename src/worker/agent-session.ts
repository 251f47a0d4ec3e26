// One IceAgent inside the Worker, its host sockets opened on a bridge connection, its events turned into
// plain messages that carry the state the page mirrors (so `agent.state` is right inside a handler there).
import type { BridgeConnection } from '../net/bridge-client.js';
import type { IceCandidateInit } from '../ice/candidate.js';
import { IceAgent, type IceAgentEventObject } from '../ice/ice-agent.js';
import { AGENT_EVENT_TYPES, type AgentEventMessage, type AgentEventType, type AgentListener, type AgentSnapshot, type IceAgentConfig } from './protocol.js';
import { BridgeHostSockets } from './bridge-host-sockets.js';
import { bridgeMdnsHostNames } from './bridge-mdns.js';
import { BridgeTcpSockets, bridgeTcpRelay } from './bridge-tcp-sockets.js';

export class AgentSession {
  readonly agent: IceAgent;

  constructor(
    readonly connection: BridgeConnection,
    /** The connection was opened for this agent and closes with it. */
    readonly ownsConnection: boolean,
    config: IceAgentConfig,
    private readonly listener: AgentListener,
  ) {
    const { bridge: _bridge, families = ['IPv4'], candidateProtocols = ['udp'], ...options } = config;
    if (families.length === 0) throw new RangeError('families must name at least one address family');
    if (!Array.isArray(candidateProtocols) || candidateProtocols.length === 0 || !candidateProtocols.every((p) => p === 'udp' || p === 'tcp')) {
      throw new TypeError(`candidateProtocols must list 'udp' and/or 'tcp', got ${JSON.stringify(candidateProtocols)}`);
    }
    const only = new Set(families).size === 1 ? families[0] : undefined;
    // Unless the page says, its host candidates are hidden as the bridge's operator wants (the hello's bit).
    const mdnsHostCandidates = options.mdnsHostCandidates ?? (connection.mdnsHostCandidates ? 'on' : 'off');
    // gatherPolicy 'continual': the host sockets follow the bridge's own address changes (bridge-host-sockets.ts).
    const continual = options.gatherPolicy === 'continual';
    const hostSockets = new BridgeHostSockets(connection, families, continual);
    const tcpSockets = new BridgeTcpSockets(connection, families, continual);
    this.agent = new IceAgent({
      ...options,
      mdnsHostCandidates,
      // A peer's <uuid>.local candidates resolve on the bridge's LAN, when the bridge offers mDNS (its hello).
      mdns: bridgeMdnsHostNames(connection),
      // The bridge's UDP sockets are this agent's host sockets: their addresses are the bridge host's.
      sockets: async () => (candidateProtocols.includes('udp') ? hostSockets.open() : []),
      // TCP candidates: active, and passive where the bridge listens for pages (bridge-tcp-sockets.ts), both
      // following the bridge's address changes too; relayed ones from RFC 6062 allocations over bridge streams.
      ...(candidateProtocols.includes('tcp') ? { tcpSockets: () => tcpSockets.open(), openTcpRelay: bridgeTcpRelay(connection) } : {}),
      // Server names resolve on the bridge host, where the datagrams go from. The gatherer asks per host
      // family; without a family asked, one family in use is the one to ask for.
      resolve: (host, family) => connection.resolveHost(host, family ?? only),
      // turn:…?transport=tcp and turns: over bridge streams (the bridge checks the TLS certificate).
      openStreamSocket: connection.openStreamSocket,
    });
    hostSockets.agent = tcpSockets.agent = this.agent;
    for (const type of AGENT_EVENT_TYPES) this.agent.addEventListener(type, (e) => this.forward(type, e as IceAgentEventObject));
  }

  snapshot(): AgentSnapshot {
    return {
      state: this.agent.state,
      gatheringState: this.agent.gatheringState,
      role: this.agent.role,
      localParameters: { ...this.agent.localParameters },
      selectedPair: this.agent.getSelectedCandidatePair(),
    };
  }

  async addRemoteCandidate(candidate: IceCandidateInit | string | null): Promise<boolean> {
    return await this.agent.addRemoteCandidate(candidate);
  }

  close(): void {
    // The agent closes before close() returns (its promise only reports that); the connection may go next.
    void this.agent.close();
    if (this.ownsConnection) this.connection.close();
  }

  private forward(type: AgentEventType, e: IceAgentEventObject): void {
    const message: AgentEventMessage = { type, ...this.snapshot() };
    if (e.candidate !== undefined) message.candidate = e.candidate;
    if (e.data !== undefined) message.data = e.data;
    if (e.error !== undefined) message.error = e.error;
    this.listener(message);
  }
}
