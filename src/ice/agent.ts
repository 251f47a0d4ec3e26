// The ICE agent engine (RFC 8445, with RFC 8838 trickle and RFC 7675 consent), sans-I/O: it is told its
// local candidates and the peer's, fed datagrams and the time, and asked what to send and when to wake up.
// Gathering (sockets, STUN, TURN) happens outside it: see gatherer.ts and ice-agent.ts.
import { HmacSha1 } from '../crypto/index.js';
import type { DestinationUnreachableError } from '../net/datagram-socket.js';
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import { shortTermKey } from '../stun/integrity.js';
import { TransactionTable } from '../stun/transactions.js';
import { ICE_DIRECT_NOMINATION_DELAY_MS, ICE_FAILOVER_SILENCE_MS, ICE_INBOUND_TCP_WAIT_MS, ICE_NOMINATION_DELAY_MS, ICE_TA_MS } from '../timing.js';
import type { IceCandidate } from './candidate.js';
import type { CandidatePair, LocalCandidate } from './candidate-pair.js';
import { Checklist } from './checklist.js';
import { CheckPacer } from './check-pacer.js';
import type { IceRole } from './checks.js';
import type { IceAgentCounters, IceAgentEngineOptions, IceAgentEvent, IceParameters, IceTransportState } from './agent-options.js';
import { ConsentFreshness } from './consent.js';
import { RemoteCandidates } from './remote-candidates.js';
import type { CheckTransaction, ResponseContext } from './check-response.js';
import { updateTransportState } from './transport-state.js';
import { checkLocalCredentials, generatePassword, generateTieBreaker, generateUfrag } from './credentials.js';
import type { InboundContext } from './inbound-check.js';
import { receiveDatagram } from './inbound-datagram.js';
import { strategyFor, type RoleContext, type RoleStrategy } from './roles.js';
import { followPeer, type FailoverContext } from './failover.js';
import { dropLocalCandidates, refuseDestination } from './path-loss.js';
import { expireChecks, runConsent, sendCheck, transmit } from './outbound-check.js';

export type { IceAgentCounters, IceAgentEngineOptions, IceAgentEvent, IceParameters, IceTransportState } from './agent-options.js';

// It meets the contexts of inbound-datagram.ts, outbound-check.ts, path-loss.ts and transport-state.ts too,
// checked where it passes itself: listed here, they would have to be named in the API reference.
export class IceAgentEngine implements Engine<IceAgentEvent>, RoleContext, InboundContext, ResponseContext, FailoverContext {
  readonly checklist: Checklist;
  readonly counters: IceAgentCounters = { malformed: 0, rejectedChecks: 0, unexpectedData: 0, unsendable: 0, unreachable: 0 };
  readonly lite: boolean;
  readonly tieBreaker: bigint;
  readonly nominationDelayMs: number;
  readonly directNominationDelayMs: number;
  readonly localCandidates: LocalCandidate[] = [];
  /** @internal */
  readonly remote: RemoteCandidates;
  state: IceTransportState = 'new';
  selectedPair: CandidatePair | undefined;
  remoteParameters: IceParameters | undefined;
  localGatheringComplete = false;

  private usernameFragment: string;
  private password: string;
  // Internals that the modules the agent delegates to (inbound-check.ts, check-response.ts, outbound-check.ts,
  // transport-state.ts...) work on, through their contexts; not for applications.
  /** @internal Our password, keyed. */
  localKey: HmacSha1;
  /** @internal The peer's password, keyed. */
  remoteKey: HmacSha1 | undefined;
  /** @internal */
  strategy: RoleStrategy;
  /** @internal */
  readonly transactions = new TransactionTable<CheckTransaction>();
  /** @internal */
  readonly consent: ConsentFreshness;
  private readonly transmits = new Queue<Transmit>();
  private readonly events = new Queue<IceAgentEvent>();
  /** @internal */
  readonly taMs: number;
  private readonly pacer: CheckPacer;
  private readonly random: () => number;
  /** @internal The peer's parameters changed (it restarted) since our last restart: what it signalled since outlives ours. */
  remoteRestarted = false;
  private readonly renomination: boolean;
  private readonly failoverSilenceMs: number;
  /** @internal Since when the agent waits for the peer's active TCP candidate to connect (no pair of its own to check). */
  awaitingInboundSince: number | undefined;
  /** @internal The last NOMINATION counter sent (draft-thatcher-ice-renomination §3). */
  nominationCounter = 0;

  constructor(options: IceAgentEngineOptions = {}) {
    checkLocalCredentials(options);
    this.lite = options.lite ?? false;
    this.usernameFragment = options.usernameFragment ?? generateUfrag();
    this.password = options.password ?? generatePassword();
    this.localKey = new HmacSha1(shortTermKey(this.password));
    this.tieBreaker = options.tieBreaker ?? generateTieBreaker();
    this.taMs = options.taMs ?? ICE_TA_MS;
    this.remote = new RemoteCandidates(options.maxRemoteCandidates ?? 100, options.maxPeerReflexiveCandidates ?? 16);
    this.nominationDelayMs = options.nominationDelayMs ?? ICE_NOMINATION_DELAY_MS;
    this.directNominationDelayMs = options.directNominationDelayMs ?? Math.min(ICE_DIRECT_NOMINATION_DELAY_MS, this.nominationDelayMs);
    this.random = options.random ?? Math.random;
    this.renomination = options.renomination ?? true;
    this.failoverSilenceMs = options.failoverSilenceMs ?? ICE_FAILOVER_SILENCE_MS;
    if (!(this.taMs > 0) || !(this.nominationDelayMs >= 0) || !(this.directNominationDelayMs >= 0) || !(this.failoverSilenceMs >= 0)) {
      throw new RangeError('IceAgentEngine: taMs must be > 0, nominationDelayMs, directNominationDelayMs and failoverSilenceMs ≥ 0');
    }
    this.checklist = new Checklist({ maxPairs: options.maxPairs });
    this.pacer = new CheckPacer(this.checklist, this.taMs);
    this.consent = new ConsentFreshness(options, this.random);
    this.strategy = strategyFor(this.lite ? 'controlled' : (options.role ?? 'controlling'), this.lite);
  }

  get role(): IceRole {
    return this.strategy.role;
  }

  get remoteLite(): boolean {
    return this.remoteParameters?.iceLite === true;
  }

  /** The peer's candidates, signalled and learned. */
  get remoteCandidates(): readonly IceCandidate[] {
    return this.remote.list;
  }

  get remoteEndOfCandidates(): boolean {
    return this.remote.endOfCandidates;
  }

  /** Remote candidates refused by a limit or after end-of-candidates. */
  get refusedRemoteCandidates(): number {
    return this.remote.refused;
  }

  get localParameters(): IceParameters {
    return { usernameFragment: this.usernameFragment, password: this.password, iceLite: this.lite, ...(this.renomination ? { iceOptions: ['renomination'] } : {}) };
  }

  /** Both sides support renomination: the controlling agent may nominate again. */
  get renominating(): boolean {
    return this.renomination && this.remoteParameters?.iceOptions?.includes('renomination') === true;
  }

  /**
   * One of our sockets is gone (its interface went away, or it closed): its candidates are dropped and their
   * pairs fail now, not at consent expiry; the selected pair among them is replaced (failover.ts).
   */
  removeLocalCandidates(socket: SocketId, now: number, reason = 'the local address went away'): CandidatePair[] {
    const failed = dropLocalCandidates(this, socket, reason, now);
    this.strategy.update(this, now);
    updateTransportState(this, now);
    return failed;
  }

  // ---- Candidates and parameters -------------------------------------------------------------------

  /**
   * Adds one of our candidates. Server-reflexive ones are not paired (§6.1.2.4: their base is); host,
   * relayed and peer-reflexive ones are paired with every remote candidate.
   */
  addLocalCandidate(local: LocalCandidate, now: number): void {
    this.localCandidates.push(local);
    if (local.candidate.type === 'srflx') return;
    for (const remote of this.remote.list) this.pair(local, remote);
    this.touch(now);
  }

  setLocalGatheringComplete(now: number): void {
    this.localGatheringComplete = true;
    updateTransportState(this, now);
  }

  /** The peer's ufrag/pwd. New values for a peer we already knew mean it restarted ICE (§9). */
  setRemoteParameters(parameters: IceParameters, now: number): void {
    const old = this.remoteParameters;
    if (old && (old.usernameFragment !== parameters.usernameFragment || old.password !== parameters.password)) {
      // The peer restarted (§9): its new parameters survive our own restart() that usually follows.
      this.resetChecks(now);
      this.remoteRestarted = true;
    }
    this.remoteParameters = parameters;
    this.remoteKey = new HmacSha1(shortTermKey(parameters.password));
    // §6.1.1: with a lite peer, the full agent is controlling.
    if (parameters.iceLite && !this.lite && this.role !== 'controlling') this.switchRole('controlling', now);
    this.touch(now);
  }

  /** A remote candidate (trickled or not); `null` is end-of-candidates (RFC 8838 §14). */
  addRemoteCandidate(candidate: IceCandidate | null, now: number): boolean {
    if (candidate === null) {
      this.remote.endOfCandidates = true;
      updateTransportState(this, now);
      return true;
    }
    const result = this.remote.add(candidate);
    if (result === 'refused' || result === 'duplicate') return false;
    // The learned peer-reflexive candidate took the signalled one's form in place (§7.3.1.3): its pairs'
    // priorities and foundations follow.
    if (result === 'replaced-prflx') {
      this.checklist.reprioritize(this.role === 'controlling');
      // The selected pair's remote now shows its signalled form (a check can beat signalling or mDNS
      // resolution, draft-ietf-mmusic-mdns-ice-candidates §6.3): tell the application, as for a new pair.
      const selected = this.selectedPair;
      if (selected && selected.remote.address === candidate.address && selected.remote.port === candidate.port) this.selected(selected);
    }
    for (const local of this.localCandidates) if (local.candidate.type !== 'srflx') this.pair(local, candidate);
    this.touch(now);
    return true;
  }

  /** ICE restart by us (§9): new credentials, the checks start over; the selected pair carries data meanwhile. */
  restart(now: number, parameters?: { usernameFragment: string; password: string }): IceParameters {
    this.usernameFragment = parameters?.usernameFragment ?? generateUfrag();
    this.password = parameters?.password ?? generatePassword();
    this.localKey = new HmacSha1(shortTermKey(this.password));
    // JSEP order has the answerer apply the peer's new parameters, and the offer's candidates, before
    // restarting itself: keep those (the peer's learned peer-reflexive ones are learned again).
    const kept = this.remoteRestarted ? this.remote.signalled() : undefined;
    if (!kept) {
      this.remoteParameters = undefined;
      this.remoteKey = undefined;
    }
    this.remoteRestarted = false;
    this.localGatheringComplete = false;
    this.resetChecks(now);
    for (const c of kept ?? []) this.addRemoteCandidate(c, now);
    this.touch(now);
    return this.localParameters;
  }

  // ---- Data -----------------------------------------------------------------------------------------

  /** Sends application data on the selected pair; false if there is none or consent has expired. */
  send(data: Uint8Array, now: number): boolean {
    const pair = this.selectedPair;
    if (!pair || this.state === 'failed' || this.state === 'closed') {
      this.counters.unsendable++;
      return false;
    }
    transmit(this, pair, data, now);
    pair.stats.bytesSent += data.length;
    return true;
  }

  close(now: number): void {
    if (this.state === 'closed') return;
    this.consent.stop();
    this.checklist.clear();
    this.setState('closed', now);
  }

  // ---- Engine ---------------------------------------------------------------------------------------

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: number): void {
    if (this.state === 'closed') return;
    // Data and malformed datagrams change nothing for the checks or the state.
    if (!receiveDatagram(this, bytes, source, now)) return;
    this.pacer.wake();
    updateTransportState(this, now);
  }

  /**
   * Datagrams from `source.socket` to `source.from` are refused (the bridge's policy or rate limit, a TURN
   * 403): RFC 8445 §7.2.5.2.2 has a hard ICMP error fail the pair. The checks and consent checks in flight
   * there end, and every pair from that socket to that address fails now rather than after 39.5 s of
   * retransmissions; the state follows (all failed → 'failed'; the selected pair refused → consent lost).
   */
  handleUnreachable(error: DestinationUnreachableError, source: DatagramSource, now: number): void {
    if (this.state === 'closed') return;
    refuseDestination(this, error, source, now);
    this.pacer.wake();
    this.strategy.update(this, now);
    updateTransportState(this, now);
  }

  handleTimeout(now: number): void {
    if (this.state === 'closed') return;
    if (expireChecks(this, now)) this.pacer.wake();
    if (this.canCheck()) {
      const pair = this.pacer.take(now);
      if (pair) sendCheck(this, pair, pair.nominating, now);
    }
    runConsent(this, now);
    this.strategy.update(this, now);
    updateTransportState(this, now);
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  pollTimeout(): number | undefined {
    if (this.state === 'closed') return undefined;
    let next = this.transactions.nextDeadline();
    const consider = (t: number | undefined) => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    if (this.canCheck()) consider(this.pacer.deadline());
    consider(this.consent.deadline(this.lastNow));
    consider(this.strategy.deadline(this));
    if (this.awaitingInboundSince !== undefined) consider(this.awaitingInboundSince + ICE_INBOUND_TCP_WAIT_MS);
    return next;
  }

  pollEvent(): IceAgentEvent | undefined {
    return this.events.shift();
  }

  // ---- RoleContext ----------------------------------------------------------------------------------

  nominate(pair: CandidatePair, now: number): void {
    pair.nominating = true;
    this.checklist.trigger(pair);
    this.touch(now);
  }

  selectNominated(now: number): void {
    const best = this.checklist.bestNominated();
    if (!best || best === this.selectedPair) return;
    this.selectedPair = best;
    this.selected(best);
    // Consent on the selected pair (RFC 7675); a lite agent sends no checks at all.
    if (this.strategy.sendsChecks) this.consent.start(now);
    updateTransportState(this, now);
  }

  /** @internal */
  selected(pair: CandidatePair): void {
    this.events.push({ type: 'selectedcandidatepairchange', pair });
  }

  /**
   * @internal Data on another pair after `failoverSilenceMs` of silence on the selected one means the peer
   * moved; a check alone only once the selected pair is 'disconnected' — without data a pair is quiet
   * between consent checks, and the peer may still be checking other pairs.
   */
  heardFrom(pair: CandidatePair, now: number, data: boolean): void {
    if (!followPeer(this, pair, data ? this.failoverSilenceMs : this.consent.disconnectedAfterMs, now)) return;
    this.strategy.update(this, now);
    updateTransportState(this, now);
  }

  // ---- Internals ------------------------------------------------------------------------------------

  private lastNow = 0;

  /** @internal Something changed that may allow an immediate check. */
  touch(now: number): void {
    this.lastNow = now;
    this.pacer.wake();
    if (this.state === 'new' && this.remoteParameters && this.checklist.pairs.length > 0) this.setState('checking', now);
  }

  private canCheck(): boolean {
    return this.strategy.sendsChecks && this.remoteKey !== undefined && this.state !== 'failed';
  }

  private pair(local: LocalCandidate, remote: IceCandidate): void {
    // draft-ietf-mmusic-mdns-ice-candidates §3.3.2: no pairs of our relays with a peer's mDNS candidate,
    // or the TURN server would learn the address the name hides.
    if (remote.mdnsName !== undefined && local.candidate.type === 'relay') return;
    this.checklist.add(local, remote, this.role === 'controlling');
  }

  /** @internal */
  get localUfrag(): string {
    return this.usernameFragment;
  }

  /** @internal */
  get roleContext(): RoleContext {
    return this;
  }

  /** @internal Queues a datagram: a check, an answer to one, or data. */
  reply(transmit: Transmit): void {
    this.transmits.push(transmit);
  }

  /** @internal Queues an event for the application. */
  emit(event: IceAgentEvent): void {
    this.events.push(event);
  }

  /** @internal */
  countRejected(): void {
    this.counters.rejectedChecks++;
  }

  /** @internal §7.3.1.4: stop retransmitting the pair's check in flight (a late response still counts). */
  quiesce(pair: CandidatePair, now: number): void {
    if (pair.inFlight) this.transactions.stopRetransmitting(pair.inFlight, now);
  }

  /** @internal */
  switchRole(role: IceRole, now: number): void {
    if (role === this.role) return;
    this.strategy = strategyFor(role, false);
    this.checklist.reprioritize(role === 'controlling');
    this.events.push({ type: 'rolechange', role });
    this.touch(now);
  }

  /** §9: a restart flushes the checks — consent checks with the old credentials included. */
  private resetChecks(now: number): void {
    for (const t of [...this.transactions]) this.transactions.cancel(t.transactionId);
    this.checklist.clear();
    this.remote.clear();
    this.consent.stop();
    this.strategy = strategyFor(this.role, this.lite);
    if (this.state !== 'new' && this.state !== 'closed') this.setState(this.selectedPair ? 'connected' : 'new', now);
  }

  /** @internal */
  setState(state: IceTransportState, now: number): void {
    this.lastNow = now;
    if (this.state === state) return;
    this.state = state;
    this.events.push({ type: 'statechange', state });
  }
}
