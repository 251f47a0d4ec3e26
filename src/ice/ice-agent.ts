// IceAgent: the public ICE API, in the W3C WebRTC vocabulary, the same in Node, in a page's Worker and on the
// simulated network — only where the host sockets come from differs (`sockets`). It runs the sans-I/O
// IceAgentEngine with an EngineDriver and gathers with IceGatherer.
import { realClock, type Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import type { IceServerTransport } from '../net/ice-server-uri.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import { IceAgentEngine, type IceAgentEngineOptions, type IceAgentEvent, type IceParameters, type IceTransportState } from './agent.js';
import { candidateFromInit, candidateToInit, candidateToJSON, parseCandidate, type IceCandidate, type IceCandidateInit } from './candidate.js';
import type { CandidatePair } from './candidate-pair.js';
import { TurnRelayFamilySocket } from '../turn/relay-family-socket.js';
import { TurnRelaySocket } from '../turn/relay-socket.js';
import { IceGatherer, type GatheredCandidate, type GatheringError, type IceServerConfig, type IceTransportPolicy } from './gatherer.js';
import type { MdnsHostNames } from '../mdns/mdns-service.js';
import { MdnsCandidates, type MdnsHostCandidates } from './mdns-candidates.js';

export type IceGatheringState = 'new' | 'gathering' | 'complete';

export interface IceAgentOptions extends Omit<IceAgentEngineOptions, 'random'> {
  /** Like RTCConfiguration.iceServers: `{ urls: 'stun:host:3478' | 'turn:host?transport=tcp', username, credential }`. */
  iceServers?: IceServerConfig[];
  /** 'relay' offers and uses relayed candidates only. Default 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /** Opens the host sockets to gather on: node:dgram sockets, bridge sockets, simulated ones. */
  sockets: () => Promise<DatagramSocket[]>;
  openStreamSocket?: (server: TransportAddress, transport: IceServerTransport, serverName: string) => Promise<DatagramSocket>;
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
}

/** Events carry their payload as properties, like RTCPeerConnectionIceEvent and MessageEvent. */
export class IceAgentEventObject extends Event {
  /** icecandidate: the candidate, or null at the end of candidates. */
  candidate?: IceCandidateInit | null;
  /** data: the bytes received. */
  data?: Uint8Array;
  /** icecandidateerror */
  error?: GatheringError;
}

export interface SelectedCandidatePair {
  local: IceCandidate;
  remote: IceCandidate;
}

/** One pair as RTCIceCandidatePairStats sees it. */
export interface IceCandidatePairStats {
  id: string;
  state: CandidatePair['state'];
  nominated: boolean;
  selected: boolean;
  priority: string;
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  requestsSent: number;
  requestsReceived: number;
  responsesSent: number;
  responsesReceived: number;
  consentRequestsSent: number;
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  currentRoundTripTime?: number;
  totalRoundTripTime: number;
}

export class IceAgent extends EventTarget {
  readonly engine: IceAgentEngine;
  gatheringState: IceGatheringState = 'new';
  private readonly driver: EngineDriver<IceAgentEvent>;
  private readonly clock: Clock;
  private readonly gatherer: IceGatherer;
  private readonly socketIds = new Map<DatagramSocket, SocketId>();
  private readonly ownedSockets: DatagramSocket[] = [];
  private readonly local: GatheredCandidate[] = [];
  /** Our candidates as the peer is told them (mDNS names instead of host addresses), by gathered candidate. */
  private readonly exposed = new WeakMap<IceCandidate, IceCandidate>();
  private readonly mdns: MdnsCandidates;
  private nextSocketId = 0;
  /** The state a statechange being dispatched announces (see onEngineEvent). */
  private announcedState: IceTransportState | undefined;

  constructor(private readonly options: IceAgentOptions) {
    super();
    this.clock = options.clock ?? realClock;
    this.mdns = new MdnsCandidates(options.mdns, options.mdnsHostCandidates ?? 'off');
    this.engine = new IceAgentEngine(options);
    this.driver = new EngineDriver(this.engine, { clock: this.clock, onEvent: (e) => this.onEngineEvent(e) });
    this.gatherer = new IceGatherer({
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy,
      clock: this.clock,
      openStreamSocket: options.openStreamSocket,
      resolve: options.resolve,
      stunTimeoutMs: options.stunTimeoutMs,
      turnTimeoutMs: options.turnTimeoutMs,
      relayDualStack: options.relayDualStack,
      onCandidate: (g) => this.onGathered(g),
      onError: (error) => this.dispatch('icecandidateerror', { error }),
    });
  }

  /** RTCIceTransport.state. */
  get state(): IceTransportState {
    return this.announcedState ?? this.engine.state;
  }

  get role(): 'controlling' | 'controlled' {
    return this.engine.role;
  }

  /** Our ufrag and pwd, for the peer (RTCIceParameters). */
  get localParameters(): IceParameters {
    return this.engine.localParameters;
  }

  get localCandidates(): IceCandidate[] {
    return this.local.map((g) => this.exposed.get(g.candidate) ?? g.candidate);
  }

  get remoteCandidates(): IceCandidate[] {
    return [...this.engine.remoteCandidates];
  }

  /** Opens the host sockets and gathers; candidates arrive as 'icecandidate' events, then a null one. */
  async gather(): Promise<void> {
    if (this.gatheringState !== 'new') throw new Error(`gather() called in gathering state ${this.gatheringState}`);
    this.setGatheringState('gathering');
    const sockets = await this.options.sockets();
    if (this.closed) {
      // close() came while the sockets were being opened: they are ours to close.
      for (const s of sockets) s.close();
      return;
    }
    this.ownedSockets.push(...sockets);
    if (this.options.lite) {
      // A lite agent has host candidates only (RFC 8445 §2.5).
      await new IceGatherer({ clock: this.clock, onCandidate: (g) => this.onGathered(g) }).gather(sockets);
    } else {
      await this.gatherer.gather(sockets);
    }
    if (this.closed) return;
    this.engine.setLocalGatheringComplete(this.clock.now());
    this.driver.poll();
    this.setGatheringState('complete');
    this.dispatch('icecandidate', { candidate: null });
  }

  /** Read through a getter: TypeScript would keep a narrowing of `engine.state` across an await. */
  private get closed(): boolean {
    return this.engine.state === 'closed';
  }

  setRemoteParameters(parameters: IceParameters): void {
    const old = this.engine.remoteParameters;
    // The peer restarted: names still resolving belong to its old candidates.
    if (old && (old.usernameFragment !== parameters.usernameFragment || old.password !== parameters.password)) this.mdns.restart();
    this.engine.setRemoteParameters(parameters, this.clock.now());
    this.driver.poll();
  }

  /**
   * A remote candidate as RTCIceCandidateInit, an `a=candidate` line, or parsed; null (or an empty
   * candidate string) is end-of-candidates. Malformed candidates throw IceCandidateError. A `<uuid>.local`
   * candidate is taken (true) and paired once mDNS resolves it; if it does not, 'icecandidateerror' says so.
   */
  addRemoteCandidate(candidate: IceCandidateInit | IceCandidate | string | null): boolean {
    let parsed: IceCandidate | null;
    if (candidate === null) parsed = null;
    else if (typeof candidate === 'string') parsed = candidate.trim() === '' ? null : parseCandidate(candidate);
    else if ('candidate' in candidate) parsed = candidateFromInit(candidate);
    else parsed = candidate;
    if (parsed === null && this.mdns.resolving > 0) {
      // End-of-candidates waits for the names still resolving: a candidate after it would be refused.
      this.mdns.whenSettled(() => this.addRemoteCandidate(null));
      return true;
    }
    if (parsed && MdnsCandidates.isMdns(parsed)) return this.addMdnsCandidate(parsed);
    const added = this.engine.addRemoteCandidate(parsed, this.clock.now());
    if (added && parsed) this.permitOnRelays(parsed);
    this.driver.poll();
    return added;
  }

  /** Sends on the selected pair; false when there is none (yet) or consent is lost. */
  send(data: Uint8Array | string): boolean {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const sent = this.engine.send(bytes, this.clock.now());
    this.driver.poll();
    return sent;
  }

  /** ICE restart (RFC 8445 §9): new credentials; signal them and the candidates again to the peer. */
  restart(): IceParameters {
    this.mdns.restart();
    const parameters = this.engine.restart(this.clock.now());
    this.engine.setLocalGatheringComplete(this.clock.now());
    this.driver.poll();
    return parameters;
  }

  /**
   * RTCIceTransport.getSelectedCandidatePair(). Hidden candidates show their names, ours and the peer's
   * (draft-ietf-mmusic-mdns-ice-candidates §3.3.1, as browsers do): a peer's resolved one keeps `mdnsName`.
   */
  getSelectedCandidatePair(): SelectedCandidatePair | null {
    const pair = this.engine.selectedPair;
    if (!pair) return null;
    const remote = pair.remote.mdnsName ? { ...pair.remote, address: pair.remote.mdnsName } : pair.remote;
    return { local: this.exposed.get(pair.local.candidate) ?? pair.local.candidate, remote };
  }

  /** RTCIceCandidatePairStats-like records for every pair, the selected one flagged. */
  getStats(): IceCandidatePairStats[] {
    const selected = this.engine.selectedPair;
    return this.engine.checklist.pairs.map((p) => ({
      id: p.id,
      state: p.state,
      nominated: p.nominated,
      selected: p === selected,
      priority: p.priority.toString(),
      // draft §3.3.1: stats show mDNS names, not the addresses they hide.
      local: candidateToJSON(this.exposed.get(p.local.candidate) ?? p.local.candidate),
      remote: candidateToJSON(p.remote.mdnsName ? { ...p.remote, address: p.remote.mdnsName } : p.remote),
      ...p.stats,
      currentRoundTripTime: p.stats.currentRoundTripTime,
      lastPacketSentTimestamp: undefined,
      lastPacketReceivedTimestamp: undefined,
      lastRequestTimestamp: undefined,
      lastResponseTimestamp: undefined,
    }));
  }

  /** The candidate as RTCIceCandidateInit, for signalling. */
  toInit(candidate: IceCandidate): IceCandidateInit {
    return candidateToInit(candidate, { sdpMid: '0', sdpMLineIndex: 0, usernameFragment: this.localParameters.usernameFragment });
  }

  close(): void {
    if (this.engine.state === 'closed') return;
    this.engine.close(this.clock.now());
    this.driver.poll();
    this.driver.close();
    this.gatherer.close();
    this.mdns.close();
    for (const s of this.ownedSockets) s.close();
  }

  /**
   * draft §3.2.1: a `.local` candidate is resolved by mDNS (steps 3–4) and paired only once it resolves;
   * under the 'relay' policy it is ignored (step 2); one that does not resolve is dropped with an
   * 'icecandidateerror' (step 5). Returns whether it was taken for resolution.
   */
  private addMdnsCandidate(candidate: IceCandidate): boolean {
    if (this.options.iceTransportPolicy === 'relay' || this.closed) return false;
    this.mdns.resolve(
      candidate,
      (resolved) => {
        if (this.closed) return;
        this.engine.addRemoteCandidate(resolved, this.clock.now());
        this.driver.poll();
      },
      (error) => {
        if (!this.closed) this.dispatch('icecandidateerror', { error });
      },
    );
    return true;
  }

  /**
   * RFC 8445 §7.2.1: a relayed candidate needs a TURN permission for the peer before checks can flow; ask
   * for it as soon as the peer's candidate is known, so the first check is not dropped at the server.
   */
  private permitOnRelays(remote: IceCandidate): void {
    for (const g of this.local) {
      // A dual allocation's relayed candidates sit on per-family views of one relay socket.
      if (g.candidate.type !== 'relay' || !(g.socket instanceof TurnRelaySocket || g.socket instanceof TurnRelayFamilySocket)) continue;
      if (g.candidate.address.includes(':') !== remote.address.includes(':')) continue;
      g.socket.createPermission({ address: remote.address, port: remote.port }).catch(() => {
        // A refused permission shows up as failed checks on those pairs; nothing else to do here.
      });
    }
  }

  private onGathered(g: GatheredCandidate): void {
    if (this.engine.state === 'closed') return;
    if (this.options.iceTransportPolicy === 'relay' && g.candidate.type !== 'relay') return;
    let id = this.socketIds.get(g.socket);
    if (id === undefined) {
      id = this.nextSocketId++;
      this.socketIds.set(g.socket, id);
      this.driver.attach(id, g.socket);
    }
    this.local.push(g);
    const exposed = this.mdns.expose(g.candidate);
    if (exposed !== g.candidate) this.exposed.set(g.candidate, exposed);
    this.engine.addLocalCandidate({ candidate: g.candidate, socket: id, base: g.base }, this.clock.now());
    this.driver.poll();
    this.dispatch('icecandidate', { candidate: this.toInit(exposed) });
  }

  private onEngineEvent(e: IceAgentEvent): void {
    switch (e.type) {
      case 'statechange':
        // The engine may pass through several states in one poll (checking → connected → completed): each
        // event shows its own state to its listeners, as RTCIceTransport's statechange does.
        this.announcedState = e.state;
        try {
          this.dispatch('statechange', {});
        } finally {
          this.announcedState = undefined;
        }
        break;
      case 'selectedcandidatepairchange':
        this.dispatch('selectedcandidatepairchange', {});
        break;
      case 'data':
        this.dispatch('data', { data: e.data });
        break;
      case 'rolechange':
        this.dispatch('rolechange', {});
        break;
      case 'remotecandidate':
        this.dispatch('remotecandidate', {});
        break;
    }
  }

  private setGatheringState(state: IceGatheringState): void {
    this.gatheringState = state;
    this.dispatch('gatheringstatechange', {});
  }

  private dispatch(type: string, fields: Partial<Pick<IceAgentEventObject, 'candidate' | 'data' | 'error'>>): void {
    const event = new IceAgentEventObject(type);
    Object.assign(event, fields);
    this.dispatchEvent(event);
  }
}
