// The ICE agent engine (RFC 8445, with RFC 8838 trickle and RFC 7675 consent), sans-I/O: it is told its
// local candidates and the peer's, fed datagrams and the time, and asked what to send and when to wake up.
// Gathering (sockets, STUN, TURN) happens outside it: see gatherer.ts and ice-agent.ts.
import { HmacSha1 } from '../crypto/index.js';
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import type { TransportAddress } from '../net/transport-address.js';
import { classifyDatagram } from '../stun/classify.js';
import { decodeStunMessage } from '../stun/decode.js';
import { StunParseError } from '../stun/errors.js';
import { shortTermKey, verifyMessageIntegrity } from '../stun/integrity.js';
import type { StunMessage } from '../stun/message.js';
import { StunMethod } from '../stun/constants.js';
import { TransactionTable } from '../stun/transactions.js';
import { ICE_MIN_RTO_MS, ICE_NOMINATION_DELAY_MS, ICE_TA_MS } from '../timing.js';
import { computePriority, type IceCandidate } from './candidate.js';
import type { CandidatePair, LocalCandidate } from './candidate-pair.js';
import { Checklist } from './checklist.js';
import { encodeCheckRequest, type IceRole } from './checks.js';
import { ConsentFreshness, type ConsentOptions } from './consent.js';
import { generatePassword, generateTieBreaker, generateUfrag } from './credentials.js';
import { answerCheck, type InboundContext } from './inbound-check.js';
import { strategyFor, type RoleContext, type RoleStrategy } from './roles.js';

/** W3C RTCIceTransportState. */
export type IceTransportState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed';

export interface IceParameters {
  usernameFragment: string;
  password: string;
  /** The peer is an ICE-lite agent (a=ice-lite). */
  iceLite?: boolean;
}

export interface IceAgentEngineOptions extends ConsentOptions {
  /** Initial role; default 'controlling'. A lite agent is always controlled. */
  role?: IceRole;
  /** Be an ICE-lite agent (RFC 8445 §2.5): host candidates only, answers checks, sends none. */
  lite?: boolean;
  /** Local credentials; generated with RFC 8445 §5.3 lengths when omitted. */
  usernameFragment?: string;
  password?: string;
  /** 64-bit tie-breaker (§7.1.3); random when omitted. */
  tieBreaker?: bigint;
  /** Pacing of checks, Ta (§14.2); default 50 ms. */
  taMs?: number;
  /** Most candidate pairs kept (§6.1.2.5); default 100. */
  maxPairs?: number;
  /** Most remote candidates accepted, peer-reflexive ones included; default 100. */
  maxRemoteCandidates?: number;
  /**
   * Most peer-reflexive remote candidates kept; past it the oldest with no valid pair is forgotten, so a
   * storm of new mappings from a symmetric NAT cannot crowd out the signalled (and relayed) pairs.
   * Default 16.
   */
  maxPeerReflexiveCandidates?: number;
  /** How long the controlling agent waits for better pairs after the first valid one; default 2 000 ms. */
  nominationDelayMs?: number;
  /** Random numbers in [0, 1) for timer jitter; default Math.random (tests pass a seeded one). */
  random?: () => number;
}

export type IceAgentEvent =
  | { type: 'statechange'; state: IceTransportState }
  | { type: 'selectedcandidatepairchange'; pair: CandidatePair }
  | { type: 'rolechange'; role: IceRole }
  /** A peer-reflexive remote candidate learned from a check (§7.3.1.3). */
  | { type: 'remotecandidate'; candidate: IceCandidate }
  | { type: 'data'; data: Uint8Array; pair: CandidatePair };

export interface IceAgentCounters {
  /** STUN that failed to parse, or unsupported STUN methods. */
  malformed: number;
  /** Checks answered with 400/401. */
  rejectedChecks: number;
  /** Application data from an address no valid or authenticated pair knows. */
  unexpectedData: number;
  /** Application data the app asked to send with no usable pair. */
  unsendable: number;
  /** Remote candidates refused: over the limit, after end-of-candidates, or unpairable. */
  refusedRemoteCandidates: number;
}

type Transaction = { kind: 'check'; pair: CandidatePair; useCandidate: boolean } | { kind: 'consent'; pair: CandidatePair };

export class IceAgentEngine implements Engine<IceAgentEvent>, RoleContext {
  readonly checklist: Checklist;
  readonly counters: IceAgentCounters = { malformed: 0, rejectedChecks: 0, unexpectedData: 0, unsendable: 0, refusedRemoteCandidates: 0 };
  readonly lite: boolean;
  readonly tieBreaker: bigint;
  readonly nominationDelayMs: number;
  readonly localCandidates: LocalCandidate[] = [];
  readonly remoteCandidates: IceCandidate[] = [];
  state: IceTransportState = 'new';
  selectedPair: CandidatePair | undefined;
  remoteParameters: IceParameters | undefined;
  localGatheringComplete = false;
  remoteEndOfCandidates = false;

  private usernameFragment: string;
  private password: string;
  private localKey: HmacSha1;
  private remoteKey: HmacSha1 | undefined;
  private strategy: RoleStrategy;
  private readonly transactions = new TransactionTable<Transaction>();
  private readonly consent: ConsentFreshness;
  private readonly transmits = new Queue<Transmit>();
  private readonly events = new Queue<IceAgentEvent>();
  private readonly taMs: number;
  private readonly maxRemoteCandidates: number;
  private readonly maxPeerReflexive: number;
  private readonly random: () => number;
  private nextCheckAt = 0;
  /** Cleared when Ta finds nothing to check; set again by anything that may create work (no idle spinning). */
  private checkDue = true;
  private prflxCounter = 0;

  constructor(options: IceAgentEngineOptions = {}) {
    this.lite = options.lite ?? false;
    this.usernameFragment = options.usernameFragment ?? generateUfrag();
    this.password = options.password ?? generatePassword();
    this.localKey = new HmacSha1(shortTermKey(this.password));
    this.tieBreaker = options.tieBreaker ?? generateTieBreaker();
    this.taMs = options.taMs ?? ICE_TA_MS;
    this.maxRemoteCandidates = options.maxRemoteCandidates ?? 100;
    this.maxPeerReflexive = options.maxPeerReflexiveCandidates ?? 16;
    this.nominationDelayMs = options.nominationDelayMs ?? ICE_NOMINATION_DELAY_MS;
    this.random = options.random ?? Math.random;
    if (!(this.taMs > 0) || !(this.maxRemoteCandidates >= 1) || !(this.nominationDelayMs >= 0)) {
      throw new RangeError('IceAgentEngine: taMs must be > 0, maxRemoteCandidates ≥ 1, nominationDelayMs ≥ 0');
    }
    this.checklist = new Checklist({ maxPairs: options.maxPairs });
    this.consent = new ConsentFreshness(options, this.random);
    this.strategy = strategyFor(this.lite ? 'controlled' : (options.role ?? 'controlling'), this.lite);
  }

  get role(): IceRole {
    return this.strategy.role;
  }

  get remoteLite(): boolean {
    return this.remoteParameters?.iceLite === true;
  }

  get localParameters(): IceParameters {
    return { usernameFragment: this.usernameFragment, password: this.password, iceLite: this.lite };
  }

  // ---- Candidates and parameters -------------------------------------------------------------------

  /**
   * Adds one of our candidates. Server-reflexive ones are not paired (§6.1.2.4: their base is); host,
   * relayed and peer-reflexive ones are paired with every remote candidate.
   */
  addLocalCandidate(local: LocalCandidate, now: number): void {
    this.localCandidates.push(local);
    if (local.candidate.type === 'srflx') return;
    for (const remote of this.remoteCandidates) this.pair(local, remote);
    this.touch(now);
  }

  setLocalGatheringComplete(now: number): void {
    this.localGatheringComplete = true;
    this.updateState(now);
  }

  /** The peer's ufrag/pwd. New values for a peer we already knew mean it restarted ICE (§9). */
  setRemoteParameters(parameters: IceParameters, now: number): void {
    const old = this.remoteParameters;
    if (old && (old.usernameFragment !== parameters.usernameFragment || old.password !== parameters.password)) {
      this.resetChecks();
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
      this.remoteEndOfCandidates = true;
      this.updateState(now);
      return true;
    }
    if (this.remoteEndOfCandidates || this.remoteCandidates.length >= this.maxRemoteCandidates) {
      this.counters.refusedRemoteCandidates++;
      return false;
    }
    // A candidate already learned as peer-reflexive is replaced by its signalled form (same address).
    const known = this.remoteCandidates.findIndex((r) => r.address === candidate.address && r.port === candidate.port && r.protocol === candidate.protocol);
    if (known >= 0) {
      if (this.remoteCandidates[known].type !== 'prflx') return false;
      this.remoteCandidates[known] = candidate;
    } else {
      this.remoteCandidates.push(candidate);
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
    this.remoteParameters = undefined;
    this.remoteKey = undefined;
    this.localGatheringComplete = false;
    this.resetChecks();
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
    this.transmit(pair, data, now);
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
    if (classifyDatagram(bytes) !== 'stun') {
      this.receiveData(bytes, source, now);
      return;
    }
    let message: StunMessage;
    try {
      message = decodeStunMessage(bytes);
    } catch (err) {
      if (!(err instanceof StunParseError)) throw err;
      this.counters.malformed++;
      return;
    }
    if (message.method !== StunMethod.Binding) {
      this.counters.malformed++;
      return;
    }
    if (message.class === 'request') answerCheck(this.inboundContext(), message, source, now);
    else if (message.class === 'success' || message.class === 'error') this.handleResponse(message, source, now);
    // Binding indications are keepalives (§11): nothing to do.
    this.checkDue = true;
    this.updateState(now);
  }

  handleTimeout(now: number): void {
    if (this.state === 'closed') return;
    const { retransmit, timedOut } = this.transactions.expire(now);
    for (const t of retransmit) this.transmits.push({ socket: t.socket, to: t.to, bytes: t.request });
    if (timedOut.length > 0) this.checkDue = true;
    for (const t of timedOut) {
      // §7.2.5.2.3: a check that times out fails its pair; a lost consent check only waits for expiry.
      if (t.context.kind === 'check' && t.context.pair.inFlight === t.transactionId) {
        t.context.pair.inFlight = undefined;
        t.context.pair.state = 'failed';
      }
    }
    if (this.canCheck() && this.checkDue && now >= this.nextCheckAt) {
      const pair = this.checklist.nextCheck();
      if (pair) {
        this.sendCheck(pair, pair.nominating, now);
        this.nextCheckAt = now + this.taMs;
      } else {
        this.checkDue = false;
      }
    }
    this.runConsent(now);
    this.strategy.update(this, now);
    this.updateState(now);
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
    if (this.canCheck() && this.checkDue) consider(this.nextCheckAt);
    consider(this.consent.deadline(this.lastNow));
    consider(this.strategy.deadline(this));
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
    const best = this.checklist.bestValid(true);
    if (!best || best === this.selectedPair) return;
    this.selectedPair = best;
    this.events.push({ type: 'selectedcandidatepairchange', pair: best });
    // Consent on the selected pair (RFC 7675); a lite agent sends no checks at all.
    if (this.strategy.sendsChecks) this.consent.start(now);
    this.updateState(now);
  }

  // ---- Internals ------------------------------------------------------------------------------------

  private lastNow = 0;

  /** Something changed that may allow an immediate check. */
  private touch(now: number): void {
    this.lastNow = now;
    this.checkDue = true;
    if (this.state === 'new' && this.remoteParameters && this.checklist.pairs.length > 0) this.setState('checking', now);
  }

  private canCheck(): boolean {
    return this.strategy.sendsChecks && this.remoteKey !== undefined && this.state !== 'failed';
  }

  private pair(local: LocalCandidate, remote: IceCandidate): void {
    this.checklist.add(local, remote, this.role === 'controlling');
  }

  private sendCheck(pair: CandidatePair, useCandidate: boolean, now: number): void {
    if (!this.remoteParameters || !this.remoteKey) return;
    const local = pair.local.candidate;
    // §7.1.1: PRIORITY is what a peer-reflexive candidate from this base would get.
    const priority = computePriority('prflx', (local.priority >>> 8) & 0xffff, local.component);
    const { transactionId, bytes } = encodeCheckRequest({
      localUfrag: this.usernameFragment,
      remoteUfrag: this.remoteParameters.usernameFragment,
      remoteKey: this.remoteKey,
      priority,
      role: this.role,
      tieBreaker: this.tieBreaker,
      useCandidate: useCandidate && this.role === 'controlling',
    });
    // §14.3 (the RFC 5245 form): RTO = MAX(500 ms, Ta × (Waiting + In-Progress)).
    const rto = Math.max(ICE_MIN_RTO_MS, this.taMs * this.checklist.active);
    pair.state = 'in-progress';
    pair.inFlight = transactionId;
    pair.stats.requestsSent++;
    pair.stats.lastRequestTimestamp = now;
    this.transactions.start(transactionId, bytes, pair.remoteAddress, pair.local.socket, now, { kind: 'check', pair, useCandidate }, false, rto);
    this.transmit(pair, bytes, now);
  }

  private sendConsentCheck(pair: CandidatePair, now: number): void {
    if (!this.remoteParameters || !this.remoteKey) return;
    const local = pair.local.candidate;
    const { transactionId, bytes } = encodeCheckRequest({
      localUfrag: this.usernameFragment,
      remoteUfrag: this.remoteParameters.usernameFragment,
      remoteKey: this.remoteKey,
      priority: computePriority('prflx', (local.priority >>> 8) & 0xffff, local.component),
      role: this.role,
      tieBreaker: this.tieBreaker,
      useCandidate: false,
    });
    pair.stats.consentRequestsSent++;
    pair.stats.requestsSent++;
    this.transactions.start(transactionId, bytes, pair.remoteAddress, pair.local.socket, now, { kind: 'consent', pair });
    this.transmit(pair, bytes, now);
  }

  private transmit(pair: CandidatePair, bytes: Uint8Array, now: number): void {
    pair.stats.packetsSent++;
    pair.stats.lastPacketSentTimestamp = now;
    this.transmits.push({ socket: pair.local.socket, to: pair.remoteAddress, bytes });
  }

  private handleResponse(message: StunMessage, source: DatagramSource, now: number): void {
    const pending = this.transactions.peek(message.transactionId);
    if (!pending) return;
    const ctx = pending.context;
    // §7.2.5: authenticate with the peer's password before anything else; a forged response is ignored.
    if (!this.remoteKey || message.integrityOffset < 0 || !verifyMessageIntegrity(message, this.remoteKey)) return;
    // §7.2.5.2.1: the response must come from where the check went, to the base it left from.
    if (pending.socket !== source.socket || this.transactions.match(message.transactionId, source.from).kind !== 'matched') {
      if (ctx.kind === 'check') ctx.pair.state = 'failed';
      this.transactions.cancel(message.transactionId);
      return;
    }
    const pair = ctx.pair;
    pair.stats.responsesReceived++;
    pair.stats.lastResponseTimestamp = now;
    pair.stats.lastPacketReceivedTimestamp = now;
    const rtt = (now - pending.startedAt) / 1000;
    pair.stats.currentRoundTripTime = rtt;
    pair.stats.totalRoundTripTime += rtt;
    if (ctx.kind === 'consent') {
      if (message.class === 'success') this.consent.onResponse(now);
      return;
    }
    if (pair.inFlight === message.transactionId) pair.inFlight = undefined;

    if (message.class === 'error') {
      const code = message.get('ERROR-CODE')?.code;
      if (code === 487) {
        // §7.2.5.1: role conflict — take the other role and check the pair again.
        this.switchRole(ctx.useCandidate || this.role === 'controlling' ? 'controlled' : 'controlling', now);
        pair.state = 'waiting';
        this.checklist.trigger(pair);
      } else {
        pair.state = 'failed';
      }
      return;
    }
    this.learnLocalPeerReflexive(pair, message.get('XOR-MAPPED-ADDRESS'));
    pair.state = 'succeeded';
    pair.valid = true;
    this.checklist.unfreeze(pair.foundation);
    if (this.selectedPair === pair) this.consent.onResponse(now);
    this.strategy.onValid(this, pair, ctx.useCandidate, now);
  }

  /**
   * §7.2.5.3.1: a mapped address that is none of our candidates is a local peer-reflexive candidate. It
   * shares the checked pair's base, so the checked pair itself serves as the valid pair (deliberately
   * simpler than §7.2.5.3.2, with the same sockets and addresses on the wire).
   */
  private learnLocalPeerReflexive(pair: CandidatePair, mapped: TransportAddress | undefined): void {
    if (!mapped) return;
    if (this.localCandidates.some((l) => l.candidate.address === mapped.address && l.candidate.port === mapped.port)) return;
    const base = pair.local.candidate;
    this.localCandidates.push({
      socket: pair.local.socket,
      base: pair.local.base,
      candidate: {
        foundation: `p${base.foundation}`.slice(0, 32),
        component: base.component,
        protocol: base.protocol,
        priority: computePriority('prflx', (base.priority >>> 8) & 0xffff, base.component),
        address: mapped.address,
        port: mapped.port,
        type: 'prflx',
        relatedAddress: pair.local.base.address,
        relatedPort: pair.local.base.port,
        extensions: [],
      },
    });
  }

  private receiveData(bytes: Uint8Array, source: DatagramSource, now: number): void {
    const pair = this.checklist.find(source.socket, source.from) ?? (this.selectedPair && this.selectedPair.local.socket === source.socket && sameAddress(this.selectedPair.remote, source.from) ? this.selectedPair : undefined);
    // §12.2 / RFC 7675: data only from a peer that has proven it holds the credentials.
    if (!pair || (!pair.valid && pair.stats.requestsReceived === 0)) {
      this.counters.unexpectedData++;
      return;
    }
    pair.stats.packetsReceived++;
    pair.stats.bytesReceived += bytes.length;
    pair.stats.lastPacketReceivedTimestamp = now;
    this.events.push({ type: 'data', data: bytes, pair });
  }

  private runConsent(now: number): void {
    const pair = this.selectedPair;
    if (!pair || !this.consent.running) return;
    if (this.consent.takeDueCheck(now)) this.sendConsentCheck(pair, now);
  }

  private switchRole(role: IceRole, now: number): void {
    if (role === this.role) return;
    this.strategy = strategyFor(role, false);
    this.checklist.reprioritize(role === 'controlling');
    this.events.push({ type: 'rolechange', role });
    this.touch(now);
  }

  private resetChecks(): void {
    for (const t of [...this.transactions]) if (t.context.kind === 'check') this.transactions.cancel(t.transactionId);
    this.checklist.clear();
    this.remoteCandidates.length = 0;
    this.remoteEndOfCandidates = false;
    this.consent.stop();
    this.strategy = strategyFor(this.role, this.lite);
    if (this.state !== 'new' && this.state !== 'closed') this.state = this.selectedPair ? 'connected' : 'new';
  }

  private updateState(now: number): void {
    if (this.state === 'closed') return;
    this.lastNow = now;
    const selected = this.selectedPair;
    if (selected && this.consent.running) {
      const consent = this.consent.status(now);
      if (consent === 'expired') {
        // RFC 7675 §5.1: consent lost — stop sending on the pair.
        this.consent.stop();
        this.setState('failed', now);
        return;
      }
      if (consent === 'disconnected') {
        this.setState('disconnected', now);
        return;
      }
    }
    if (selected && this.state !== 'failed') {
      const done = this.localGatheringComplete && this.remoteEndOfCandidates;
      this.setState(done ? 'completed' : 'connected', now);
      return;
    }
    if (this.remoteParameters && this.checklist.pairs.length > 0 && this.state === 'new') this.setState('checking', now);
    const noHope = this.checklist.pairs.length === 0 || this.checklist.allFailed;
    if (!selected && noHope && this.localGatheringComplete && this.remoteEndOfCandidates && this.remoteParameters && this.strategy.sendsChecks) {
      this.setState('failed', now);
    }
  }

  private setState(state: IceTransportState, now: number): void {
    this.lastNow = now;
    if (this.state === state) return;
    this.state = state;
    this.events.push({ type: 'statechange', state });
  }

  /** For inbound-check.ts: what answering a check needs of the agent (built once, reads live state). */
  private inboundContext(): InboundContext {
    if (this.inbound) return this.inbound;
    const agent = this;
    this.inbound = {
      get role() {
        return agent.role;
      },
      lite: this.lite,
      tieBreaker: this.tieBreaker,
      get localUfrag() {
        return agent.usernameFragment;
      },
      get localKey() {
        return agent.localKey;
      },
      checklist: this.checklist,
      get strategy() {
        return agent.strategy;
      },
      roleContext: this,
      send: (t) => this.transmits.push(t),
      switchRole: (role, now) => this.switchRole(role, now),
      pairForCheck: (socket, from, priority, now) => this.checklist.find(socket, from) ?? this.learnRemotePeerReflexive(socket, from, priority, now),
      countRejected: () => {
        this.counters.rejectedChecks++;
      },
    };
    return this.inbound;
  }

  private inbound: InboundContext | undefined;

  /** Keeps at most maxPeerReflexive learned candidates: the oldest without a valid pair is forgotten. */
  private forgetOldPeerReflexive(): void {
    const learned = this.remoteCandidates.filter((r) => r.type === 'prflx');
    if (learned.length < this.maxPeerReflexive) return;
    const victim = learned.find((r) => !this.checklist.pairs.some((p) => p.remote === r && (p.valid || p === this.selectedPair)));
    if (!victim) return;
    this.checklist.removeRemote(victim);
    this.remoteCandidates.splice(this.remoteCandidates.indexOf(victim), 1);
  }

  /** §7.3.1.3: a check from an unknown address teaches us a peer-reflexive remote candidate. */
  private learnRemotePeerReflexive(socket: SocketId, from: TransportAddress, priority: number, now: number): CandidatePair | undefined {
    const local = this.localCandidates.find((l) => l.socket === socket && l.candidate.type !== 'srflx' && l.candidate.type !== 'prflx');
    if (!local) return undefined;
    let remote = this.remoteCandidates.find((r) => r.address === from.address && r.port === from.port);
    if (!remote) {
      this.forgetOldPeerReflexive();
      if (this.remoteCandidates.length >= this.maxRemoteCandidates) {
        this.counters.refusedRemoteCandidates++;
        return undefined;
      }
      remote = {
        foundation: `prflx${++this.prflxCounter}`,
        component: local.candidate.component,
        protocol: local.candidate.protocol,
        priority,
        address: from.address,
        port: from.port,
        type: 'prflx',
        extensions: [],
      };
      this.remoteCandidates.push(remote);
      this.events.push({ type: 'remotecandidate', candidate: remote });
    }
    const pair = this.checklist.find(socket, from) ?? this.checklist.add(local, remote, this.role === 'controlling');
    this.touch(now);
    return pair;
  }
}

function sameAddress(c: IceCandidate, t: TransportAddress): boolean {
  return c.address === t.address && c.port === t.port;
}
