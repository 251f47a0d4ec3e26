// WorkerIceAgent: the page's handle on an IceAgent running in the Worker, with the IceAgent surface —
// EventTarget events (icecandidate, gatheringstatechange, statechange, selectedcandidatepairchange, data, …),
// gather, setRemoteParameters, addRemoteCandidate, send, restart, getStats, getSelectedCandidatePair, close.
// State arrives with every event, so the getters are synchronous and right inside a handler. Calls that must
// ask the Worker return promises (as RTCPeerConnection's do); send() stays synchronous like the agent's.
import { proxy, transfer } from 'comlink';
import type { IceParameters, IceTransportState } from '../ice/agent.js';
import type { IceCandidateInit } from '../ice/candidate.js';
import type { GatheringError } from '../ice/gatherer.js';
import type { IceCandidatePairStats, IceGatheringState, SelectedCandidatePair } from '../ice/ice-agent.js';
import type { IcebridgeWorker } from './client.js';
import type { AgentEventMessage, AgentListener, AgentSnapshot, IceAgentConfig } from './protocol.js';
import { forTransfer } from './transfer.js';
import { deserializeError } from './errors.js';
import type { BridgeCarrierKind } from '../net/bridge-carrier.js';
import type { BridgeError } from '../net/bridge-error.js';

/** Like IceAgentEventObject: the payload as properties (RTCPeerConnectionIceEvent, MessageEvent style). */
export class WorkerIceAgentEvent extends Event {
  /** icecandidate: the candidate, or null at the end of candidates. */
  candidate?: IceCandidateInit | null;
  /** data: the bytes received; the page's own (transferred from the Worker). */
  data?: Uint8Array;
  /** icecandidateerror */
  error?: GatheringError;
}

export class WorkerIceAgent extends EventTarget {
  private id = 0;
  private mirror: AgentSnapshot;
  /** Events can arrive before the reply to createAgent: they wait for it, then go in order. */
  private early: AgentEventMessage[] | undefined = [];
  private carrierKind: BridgeCarrierKind = 'websocket';
  private fallback: BridgeError | undefined;

  private constructor(private readonly owner: IcebridgeWorker) {
    super();
    this.mirror = {
      state: 'new',
      gatheringState: 'new',
      role: 'controlling',
      localParameters: { usernameFragment: '', password: '' },
      selectedPair: null,
    };
  }

  /** @internal use IcebridgeWorker.createIceAgent() or WorkerBridgeConnection.createIceAgent(). */
  static async create(owner: IcebridgeWorker, config: IceAgentConfig, connection?: number): Promise<WorkerIceAgent> {
    const agent = new WorkerIceAgent(owner);
    const listener = proxy<AgentListener>((event) => agent.receive(event));
    const info = await owner.call((api) => api.createAgent(config, listener, connection));
    const { id, carrier, fallbackReason, ...snapshot } = info;
    agent.id = id;
    agent.mirror = snapshot;
    agent.carrierKind = carrier;
    agent.fallback = fallbackReason && (deserializeError(fallbackReason) as BridgeError);
    const early = agent.early ?? [];
    agent.early = undefined;
    for (const e of early) agent.receive(e);
    return agent;
  }

  /** The carrier of this agent's bridge connection: 'webtransport' or 'websocket' (the ICE agent never knows it). */
  get carrier(): BridgeCarrierKind {
    return this.carrierKind;
  }

  /** When the bridge config said `auto` and WebTransport was not used: why (a BridgeError). */
  get fallbackReason(): BridgeError | undefined {
    return this.fallback;
  }

  /** RTCIceTransport.state. */
  get state(): IceTransportState {
    return this.mirror.state;
  }

  get gatheringState(): IceGatheringState {
    return this.mirror.gatheringState;
  }

  get role(): 'controlling' | 'controlled' {
    return this.mirror.role;
  }

  /** Our ufrag and pwd, for the peer (RTCIceParameters); new after restart(). */
  get localParameters(): IceParameters {
    return this.mirror.localParameters;
  }

  /** Opens the host sockets on the bridge and gathers; resolves after the null (end) icecandidate event. */
  gather(): Promise<void> {
    return this.owner.call((api) => api.agentGather(this.id));
  }

  setRemoteParameters(parameters: IceParameters): Promise<void> {
    return this.owner.call((api) => api.agentSetRemoteParameters(this.id, parameters));
  }

  /** RTCIceCandidateInit, an `a=candidate` line, or null (end of candidates). Malformed: IceCandidateError. */
  addRemoteCandidate(candidate: IceCandidateInit | string | null): Promise<boolean> {
    return this.owner.call((api) => api.agentAddRemoteCandidate(this.id, candidate));
  }

  /**
   * Sends on the selected pair; false when there is none (yet), consent is lost or the agent closed. The bytes are
   * transferred to the Worker: a Uint8Array that is a whole ArrayBuffer is detached afterwards (see forTransfer).
   */
  send(data: Uint8Array | string): boolean {
    const state = this.mirror.state;
    if (this.mirror.selectedPair === null || !(state === 'connected' || state === 'completed' || state === 'disconnected')) return false;
    const bytes = forTransfer(data);
    this.owner.post((api) => api.agentSend(this.id, transfer(bytes, [bytes.buffer])));
    return true;
  }

  /** ICE restart (RFC 8445 §9): new credentials to signal to the peer, with the candidates again. */
  async restart(): Promise<IceParameters> {
    const parameters = await this.owner.call((api) => api.agentRestart(this.id));
    this.mirror = { ...this.mirror, localParameters: parameters };
    return parameters;
  }

  /** RTCIceCandidatePairStats-like records for every pair, the selected one flagged. */
  getStats(): Promise<IceCandidatePairStats[]> {
    return this.owner.call((api) => api.agentGetStats(this.id));
  }

  getSelectedCandidatePair(): SelectedCandidatePair | null {
    return this.mirror.selectedPair;
  }

  /** Closes the agent, its sockets and (when made by createIceAgent) its bridge connection. */
  async close(): Promise<void> {
    if (this.mirror.state === 'closed') return;
    try {
      await this.owner.call((api) => api.agentClose(this.id));
    } catch (err) {
      // A terminated Worker took the agent with it: closed is what was asked for.
      if ((err as Error).name !== 'IcebridgeWorkerError') throw err;
      this.mirror = { ...this.mirror, state: 'closed' };
    }
  }

  private receive(message: AgentEventMessage): void {
    if (this.early) {
      this.early.push(message);
      return;
    }
    const { type, candidate, data, error, ...snapshot } = message;
    this.mirror = snapshot;
    const event = new WorkerIceAgentEvent(type);
    if (candidate !== undefined) event.candidate = candidate;
    if (data !== undefined) event.data = data;
    if (error !== undefined) event.error = error;
    this.dispatchEvent(event);
  }
}
