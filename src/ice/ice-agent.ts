// IceAgent: the public ICE API, in the W3C WebRTC vocabulary, the same in Node, in a page's Worker and on the
// simulated network — only where the host sockets come from differs (`sockets`). It runs the sans-I/O
// IceAgentEngine with an EngineDriver and gathers with IceGatherer.
import { realClock, type Clock } from '../net/clock.js';
import { checkDatagramSocket, type DatagramSocket } from '../net/datagram-socket.js';
import { EngineDriver } from '../net/driver.js';
import type { SocketId } from '../net/engine.js';
import { IceAgentEngine, type IceAgentEvent, type IceParameters, type IceTransportState } from './agent.js';
import { candidateToInit, remoteCandidateOf, type IceCandidate, type IceCandidateInit, type IceCandidateInitLike } from './candidate.js';
import { checkRemoteParameters } from './credentials.js';
import { datagramBytes, resolveMaxDatagramSize } from './datagram-size.js';
import { closedAgentError } from './closed-agent.js';
import { IceAgentEventTarget } from './ice-agent-event-target.js';
import { IceCandidateErrorEvent, IceCandidateEvent, IceDataEvent, IceAgentEventObject, IceRemoteCandidateEvent, type IceCandidateErrorInit } from './ice-agent-events.js';
import { candidatePairStats, type IceCandidatePairStats } from './ice-agent-stats.js';
import { validateIceConfiguration } from './ice-server-validation.js';
import { IceGatherer, type GatheredCandidate, type GatheringError } from './gatherer.js';
import type { IceAgentOptions, IceGatheringState, SelectedCandidatePair } from './ice-agent-options.js';
import { MdnsCandidates } from './mdns-candidates.js';
import { permitOnRelays } from './relay-permissions.js';
import { TcpHostCandidates } from './tcp-candidates.js';
import { gatherTcpRelays, RelayedPassiveSocket, type OpenTcpRelay } from './tcp-relays.js';

export type { IceAgentOptions, IceGatheringState, SelectedCandidatePair } from './ice-agent-options.js';
export { IceAgentEventObject };
export type { IceCandidatePairStats };

/**
 * The ICE agent, in the W3C vocabulary: RTCConfiguration-like options (checked at construction as
 * RTCPeerConnection checks them), events typed by IceAgentEventMap (`addEventListener('icecandidate', e =>
 * e.candidate)`, or `onicecandidate`), and the page agent's methods: gather, setRemoteParameters,
 * addRemoteCandidate, restart, getStats and close return promises. Here they do their work at once and
 * return a settled promise (a mistake rejects it), so the order of events stays that of the calls.
 */
export class IceAgent extends IceAgentEventTarget {
  readonly engine: IceAgentEngine;
  /** The most bytes send() takes (the `maxDatagramSize` option). */
  readonly maxDatagramSize: number;
  gatheringState: IceGatheringState = 'new';
  private readonly driver: EngineDriver<IceAgentEvent>;
  private readonly clock: Clock;
  private readonly gatherer: IceGatherer;
  private readonly tcpHosts = new TcpHostCandidates();
  private readonly socketIds = new Map<DatagramSocket, SocketId>();
  private readonly ownedSockets: DatagramSocket[] = [];
  private readonly local: GatheredCandidate[] = [];
  /** Our candidates as the peer is told them (mDNS names instead of host addresses), by gathered candidate. */
  private readonly exposed = new WeakMap<IceCandidate, IceCandidate>();
  private readonly mdns: MdnsCandidates;
  private nextSocketId = 0;
  /** Relay refusals already reported as icecandidateerror, by relay socket and peer address. */
  private readonly refusalsReported = new Set<string>();
  /** The state a statechange being dispatched announces (see onEngineEvent). */
  private announcedState: IceTransportState | undefined;

  constructor(private readonly options: IceAgentOptions) {
    super();
    validateIceConfiguration(options);
    this.maxDatagramSize = resolveMaxDatagramSize(options.maxDatagramSize);
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
      onError: (error) => this.dispatchEvent(new IceCandidateErrorEvent('icecandidateerror', { error: this.withoutHiddenAddress(error) })),
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

  /** Opens the host sockets and gathers: 'icecandidate' events, then a null one. InvalidStateError once closed or called again. */
  async gather(): Promise<void> {
    this.assertOpen('gather');
    if (this.gatheringState !== 'new') throw new DOMException(`gather() called in gathering state ${this.gatheringState}`, 'InvalidStateError');
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
    if (this.options.tcpSockets && !this.closed) await this.gatherTcp(this.options.tcpSockets, this.options.openTcpRelay);
    // Continual gathering never ends: candidates of new addresses may follow (no end-of-candidates).
    if (this.closed || this.options.gatherPolicy === 'continual') return;
    this.engine.setLocalGatheringComplete(this.clock.now());
    this.driver.poll();
    this.setGatheringState('complete');
    this.dispatchEvent(new IceCandidateEvent('icecandidate', { candidate: null }));
  }

  /**
   * gatherPolicy 'continual': gathers on a socket of an address that appeared (host, server-reflexive and relayed
   * candidates, trickled); the agent owns it and may move the selected pair to a better one (renomination). With
   * `tcpType`, it is a TCP candidate's socket (RFC 6544 §5.1, as `tcpSockets` gives them). InvalidStateError once
   * closed, before gather(), or with gatherPolicy 'once' (end-of-candidates told the peer there are no more).
   */
  async addSocket(socket: DatagramSocket, tcpType?: 'active' | 'passive'): Promise<void> {
    checkDatagramSocket(socket, 'addSocket()');
    if (tcpType !== undefined && tcpType !== 'active' && tcpType !== 'passive') throw new TypeError(`addSocket(): tcpType ${JSON.stringify(tcpType)} is not 'active' or 'passive'`);
    if (this.closed || this.gatheringState === 'new' || this.options.gatherPolicy !== 'continual') {
      throw new DOMException(`addSocket() needs gatherPolicy 'continual' and gather() called first (gathering state ${this.gatheringState}, state ${this.engine.state})`, 'InvalidStateError');
    }
    this.ownedSockets.push(socket);
    if (tcpType === undefined) await this.gatherer.gather([socket]);
    else for (const g of this.tcpHosts.gather([{ socket, tcpType }])) this.onGathered(g);
  }

  /**
   * The address of a host socket went away (an interface down, Wi-Fi to cellular): its candidates are
   * dropped, their pairs fail now rather than at consent expiry, a selected one among them is replaced by
   * the best remaining valid pair (no ICE restart), its relays end and the socket is closed if the agent owns it.
   */
  removeSocket(socket: DatagramSocket): void {
    checkDatagramSocket(socket, 'removeSocket()');
    const gone = this.local.filter((g) => g.host === socket || g.socket === socket);
    const now = this.clock.now();
    for (const id of new Set(gone.map((g) => this.socketIds.get(g.socket)))) {
      if (id === undefined) continue;
      this.engine.removeLocalCandidates(id, now);
      this.driver.detach(id);
    }
    for (const g of gone) {
      this.local.splice(this.local.indexOf(g), 1);
      this.socketIds.delete(g.socket);
    }
    this.gatherer.forget(socket);
    this.tcpHosts.forget(socket);
    const owned = this.ownedSockets.indexOf(socket);
    if (owned >= 0) {
      this.ownedSockets.splice(owned, 1);
      socket.close();
    }
    this.driver.poll();
  }

  /** Host TCP candidates (RFC 6544 §5.1) on the sockets `open` gives (tcp-candidates.ts), and relayed ones (tcp-relays.ts). */
  private async gatherTcp(open: NonNullable<IceAgentOptions['tcpSockets']>, openRelay: OpenTcpRelay | undefined): Promise<void> {
    const [opened, relayed] = await Promise.all([open(), openRelay ? gatherTcpRelays(this.gatherer, openRelay) : []]);
    const sockets = [...opened.map((o) => o.socket), ...relayed.map((g) => g.socket)];
    if (this.closed) {
      for (const socket of sockets) socket.close();
      return;
    }
    this.ownedSockets.push(...sockets);
    if (this.options.iceTransportPolicy !== 'relay') for (const g of this.tcpHosts.gather(opened)) this.onGathered(g);
    // The permissions for the peer's candidates known now are in place before the candidates go out: a peer
    // that connects to the relayed address as soon as it hears of it must find its permission there (§5.3).
    const passive = relayed.map((g) => g.socket).filter((socket) => socket instanceof RelayedPassiveSocket);
    await Promise.all(passive.flatMap((socket) => this.engine.remoteCandidates.map((r) => socket.permit(r.address))));
    if (this.closed) return;
    for (const g of relayed) this.onGathered(g);
  }

  /** Read through a getter: TypeScript would keep a narrowing of `engine.state` across an await. */
  private get closed(): boolean {
    return this.engine.state === 'closed';
  }

  private assertOpen(method: string): void {
    if (this.closed) throw closedAgentError(method);
  }

  /**
   * The peer's ufrag and pwd (RTCIceParameters). Rejects with a TypeError for ones RFC 8445 §5.3 forbids
   * (a ufrag of 4 to 256 ice-chars, a password of 22 to 256): every check would fail its integrity; and for
   * an `iceLite` or `iceOptions` of another type. An InvalidStateError once closed.
   */
  async setRemoteParameters(parameters: IceParameters): Promise<void> {
    this.assertOpen('setRemoteParameters');
    checkRemoteParameters(parameters);
    const old = this.engine.remoteParameters;
    // The peer restarted: names still resolving belong to its old candidates.
    if (old && (old.usernameFragment !== parameters.usernameFragment || old.password !== parameters.password)) this.mdns.restart();
    this.engine.setRemoteParameters(parameters, this.clock.now());
    this.driver.poll();
  }

  /**
   * A remote candidate as RTCIceCandidateInit (lib.dom's, or an RTCIceCandidate), an `a=candidate` line, or
   * parsed; null, an empty candidate string or an init without one is end-of-candidates. Resolves true when
   * the candidate was taken; a malformed one rejects with IceCandidateError. A `<uuid>.local` candidate is
   * taken (true) and paired once mDNS resolves it; if it does not, 'icecandidateerror' says so. An
   * InvalidStateError once closed.
   */
  async addRemoteCandidate(candidate: IceCandidateInitLike | IceCandidate | string | null | undefined): Promise<boolean> {
    this.assertOpen('addRemoteCandidate');
    return this.addRemoteCandidateNow(candidate);
  }

  private addRemoteCandidateNow(candidate: IceCandidateInitLike | IceCandidate | string | null | undefined): boolean {
    const parsed = remoteCandidateOf(candidate);
    if (parsed === null && this.mdns.resolving > 0) {
      // End-of-candidates waits for the names still resolving: a candidate after it would be refused.
      this.mdns.whenSettled(() => this.addRemoteCandidateNow(null));
      return true;
    }
    if (parsed && MdnsCandidates.isMdns(parsed)) return this.addMdnsCandidate(parsed);
    const added = this.engine.addRemoteCandidate(parsed, this.clock.now());
    if (added && parsed) permitOnRelays(this.local, parsed);
    this.driver.poll();
    return added;
  }

  /**
   * Sends one datagram on the selected pair; false when there is none (yet) or consent is lost. Throws an
   * IceSendError (a RangeError, code DATAGRAM_TOO_LARGE) for more than `maxDatagramSize` bytes.
   */
  send(data: Uint8Array | string): boolean {
    const bytes = datagramBytes(data, this.maxDatagramSize);
    const sent = this.engine.send(bytes, this.clock.now());
    this.driver.poll();
    return sent;
  }

  /** ICE restart (RFC 8445 §9): new credentials; signal them and the candidates again to the peer. An InvalidStateError once closed. */
  async restart(): Promise<IceParameters> {
    this.assertOpen('restart');
    // Names still resolving are the peer's new candidates when it restarted first (JSEP's answerer).
    if (!this.engine.remoteRestarted) this.mdns.restart();
    this.refusalsReported.clear();
    const parameters = this.engine.restart(this.clock.now());
    this.engine.setLocalGatheringComplete(this.clock.now());
    this.driver.poll();
    return parameters;
  }

  /**
   * RTCIceTransport.getSelectedCandidatePair(). Hidden candidates show their names, ours and the peer's
   * (draft-ietf-mmusic-mdns-ice-candidates §3.3.1, as browsers do): a peer's resolved one keeps `mdnsName`.
   * Null once closed, as RTCIceTransport's is in state 'closed'.
   */
  getSelectedCandidatePair(): SelectedCandidatePair | null {
    const pair = this.engine.selectedPair;
    if (!pair || this.closed) return null;
    const remote = pair.remote.mdnsName ? { ...pair.remote, address: pair.remote.mdnsName } : pair.remote;
    return { local: this.exposed.get(pair.local.candidate) ?? pair.local.candidate, remote };
  }

  /** RTCIceCandidatePairStats-like records for every pair, the selected one flagged, a failed one's `failureReason`. */
  async getStats(): Promise<IceCandidatePairStats[]> {
    return candidatePairStats(this.engine.checklist.pairs, this.engine.selectedPair, (c) => this.exposed.get(c) ?? c);
  }

  /** The candidate as RTCIceCandidateInit, for signalling. */
  toInit(candidate: IceCandidate): IceCandidateInit {
    return candidateToInit(candidate, { sdpMid: '0', sdpMLineIndex: 0, usernameFragment: this.localParameters.usernameFragment });
  }

  /** Closes the agent, its sockets and its TURN allocations. */
  async close(): Promise<void> {
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
        if (!this.closed) this.dispatchEvent(new IceCandidateErrorEvent('icecandidateerror', { error }));
      },
    );
    return true;
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
    this.dispatchEvent(new IceCandidateEvent('icecandidate', { candidate: this.toInit(exposed) }));
  }

  private onEngineEvent(e: IceAgentEvent): void {
    switch (e.type) {
      case 'statechange':
        // The engine may pass through several states in one poll (checking → connected → completed): each
        // event shows its own state to its listeners, as RTCIceTransport's statechange does.
        this.announcedState = e.state;
        try {
          this.dispatchEvent(new IceAgentEventObject('statechange'));
        } finally {
          this.announcedState = undefined;
        }
        break;
      case 'selectedcandidatepairchange':
        this.dispatchEvent(new IceAgentEventObject('selectedcandidatepairchange'));
        break;
      case 'data':
        this.dispatchEvent(new IceDataEvent('data', { data: e.data }));
        break;
      case 'rolechange':
        this.dispatchEvent(new IceAgentEventObject('rolechange'));
        break;
      case 'remotecandidate': {
        const candidate = candidateToInit(e.candidate, { sdpMid: '0', sdpMLineIndex: 0, usernameFragment: this.engine.remoteParameters?.usernameFragment });
        this.dispatchEvent(new IceRemoteCandidateEvent('remotecandidate', { candidate }));
        break;
      }
      case 'unreachable': {
        const error = this.relayRefusal(e);
        if (error) this.dispatchEvent(new IceCandidateErrorEvent('icecandidateerror', error));
        break;
      }
    }
  }

  /**
   * A TURN server's refusal to relay to a peer (403 to CreatePermission/ChannelBind, RFC 8656 §9) or a way
   * to the server that is refused, as the W3C icecandidateerror a browser gives for a TURN error response:
   * the server's URL, 403 (701 when no answer comes), the relayed candidate's address. Refusals of the
   * bridge's own policy are not server errors: they show as the pairs' failureReason only.
   */
  private relayRefusal(e: Extract<IceAgentEvent, { type: 'unreachable' }>): IceCandidateErrorInit | undefined {
    if (e.error.code !== 'peer-forbidden' && e.error.code !== 'relay-unreachable') return undefined;
    const relay = this.local.find((g) => g.candidate.type === 'relay' && this.socketIds.get(g.socket) === e.socket);
    // One report per relay and peer address: a permission and a channel refused are one refusal.
    const key = `${e.socket} ${e.error.destination.address}`;
    if (!relay || this.refusalsReported.has(key)) return undefined;
    this.refusalsReported.add(key);
    const shown = this.exposed.get(relay.candidate) ?? relay.candidate;
    return {
      error: { url: relay.url ?? '', errorCode: e.error.code === 'peer-forbidden' ? 403 : 701, errorText: e.error.message, address: shown.address, port: shown.port },
    };
  }

  /** W3C: the error's local address is null when it was never exposed in a candidate (hidden by an mDNS name). */
  private withoutHiddenAddress(error: GatheringError): GatheringError {
    if (this.options.mdnsHostCandidates !== 'on' || error.address === undefined || error.address === null) return error;
    return { ...error, address: null, port: null };
  }

  private setGatheringState(state: IceGatheringState): void {
    this.gatheringState = state;
    this.dispatchEvent(new IceAgentEventObject('gatheringstatechange'));
  }
}
