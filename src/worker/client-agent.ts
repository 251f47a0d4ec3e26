// WorkerIceAgent: the page's handle on an IceAgent running in the Worker, with the IceAgent surface —
// EventTarget events (icecandidate, gatheringstatechange, statechange, selectedcandidatepairchange, data, …),
// gather, setRemoteParameters, addRemoteCandidate, send, restart, getStats, getSelectedCandidatePair, close.
// State arrives with every event, so the getters are synchronous and right inside a handler. Calls that must
// ask the Worker return promises (as RTCPeerConnection's do); send() stays synchronous like the agent's.
import { proxy, transfer, type Remote } from 'comlink';
import type { IceParameters, IceTransportState } from '../ice/agent.js';
import type { IceCandidateInit, IceCandidateInitLike } from '../ice/candidate.js';
import { closedAgentError } from '../ice/closed-agent.js';
import { datagramBytes, resolveMaxDatagramSize } from '../ice/datagram-size.js';
import type { IceCandidatePairStats, IceGatheringState, SelectedCandidatePair } from '../ice/ice-agent.js';
import { IceAgentEventTarget } from '../ice/ice-agent-event-target.js';
import { createIceAgentEvent, IceAgentEventObject } from '../ice/ice-agent-events.js';
import { validateIceConfiguration } from '../ice/ice-server-validation.js';
import type { IcebridgeWorker, WorkerResident } from './client.js';
import type { AgentEventMessage, AgentListener, AgentSnapshot, IceAgentConfig, WorkerApi } from './protocol.js';
import { forTransfer } from './transfer.js';
import { deserializeError, type IcebridgeWorkerError } from './errors.js';
import type { BridgeCarrierKind } from '../net/bridge-carrier.js';
import type { BridgeError } from '../net/bridge-error.js';

/**
 * The events' base class, under its earlier name: the page dispatches the Node agent's event classes
 * (IceCandidateEvent, IceDataEvent, … typed by IceAgentEventMap); `data` is the page's own (transferred).
 */
export { IceAgentEventObject as WorkerIceAgentEvent };

export class WorkerIceAgent extends IceAgentEventTarget implements WorkerResident {
  /** The most bytes send() takes: the Worker agent's `maxDatagramSize` (the option, or the bridge's limit). */
  maxDatagramSize: number;
  private id = 0;
  private mirror: AgentSnapshot;
  /** Events can arrive before the reply to createAgent: they wait for it, then go in order. */
  private early: AgentEventMessage[] | undefined = [];
  private carrierKind: BridgeCarrierKind = 'websocket';
  private fallback: BridgeError | undefined;
  /** Set when the agent went with its terminated Worker: what later calls reject with. */
  private workerError: IcebridgeWorkerError | undefined;

  private constructor(
    private readonly owner: IcebridgeWorker,
    maxDatagramSize: number | undefined,
  ) {
    super();
    this.maxDatagramSize = resolveMaxDatagramSize(maxDatagramSize);
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
    // RTCPeerConnection's checks, here before the Worker is asked (it checks again).
    validateIceConfiguration(config);
    const agent = new WorkerIceAgent(owner, config.maxDatagramSize);
    const listener = proxy<AgentListener>((event) => agent.receive(event));
    const info = await owner.call((api) => api.createAgent(config, listener, connection));
    const { id, carrier, fallbackReason, maxDatagramSize, ...snapshot } = info;
    agent.id = id;
    if (maxDatagramSize !== undefined) agent.maxDatagramSize = maxDatagramSize;
    agent.mirror = snapshot;
    agent.carrierKind = carrier;
    agent.fallback = fallbackReason && (deserializeError(fallbackReason) as BridgeError);
    owner.adopt(agent);
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
    return this.whileOpen('gather', (api) => api.agentGather(this.id));
  }

  setRemoteParameters(parameters: IceParameters): Promise<void> {
    return this.whileOpen('setRemoteParameters', (api) => api.agentSetRemoteParameters(this.id, parameters));
  }

  /**
   * RTCIceCandidateInit (lib.dom's, or an RTCIceCandidate), an `a=candidate` line, or null/undefined (end of
   * candidates). Malformed: rejects with IceCandidateError.
   */
  addRemoteCandidate(candidate: IceCandidateInitLike | string | null | undefined): Promise<boolean> {
    const plain = plainCandidate(candidate);
    return this.whileOpen('addRemoteCandidate', (api) => api.agentAddRemoteCandidate(this.id, plain));
  }

  /**
   * Sends on the selected pair; false when there is none (yet), consent is lost or the agent closed. More than
   * `maxDatagramSize` bytes throws an IceSendError. The bytes are transferred to the Worker: a Uint8Array that
   * is a whole ArrayBuffer is detached afterwards (see forTransfer).
   */
  send(data: Uint8Array | string): boolean {
    const bytes = forTransfer(datagramBytes(data, this.maxDatagramSize));
    const state = this.mirror.state;
    if (this.mirror.selectedPair === null || !(state === 'connected' || state === 'completed' || state === 'disconnected')) return false;
    this.owner.post((api) => api.agentSend(this.id, transfer(bytes, [bytes.buffer])));
    return true;
  }

  /** ICE restart (RFC 8445 §9): new credentials to signal to the peer, with the candidates again. */
  async restart(): Promise<IceParameters> {
    const parameters = await this.whileOpen('restart', (api) => api.agentRestart(this.id));
    this.mirror = { ...this.mirror, localParameters: parameters };
    return parameters;
  }

  /** RTCIceCandidatePairStats-like records for every pair, the selected one flagged. */
  getStats(): Promise<IceCandidatePairStats[]> {
    // A closed agent has no pairs (the Node agent's answer; the Worker has let it go).
    if (this.mirror.state === 'closed') return Promise.resolve([]);
    return this.owner.call((api) => api.agentGetStats(this.id));
  }

  getSelectedCandidatePair(): SelectedCandidatePair | null {
    return this.mirror.selectedPair;
  }

  /** Closes the agent, its sockets and (when made by createIceAgent) its bridge connection. */
  async close(): Promise<void> {
    if (this.mirror.state === 'closed') return;
    this.owner.release(this);
    try {
      await this.owner.call((api) => api.agentClose(this.id));
      this.mirror = { ...this.mirror, state: 'closed', selectedPair: null };
    } catch (err) {
      // A terminated Worker took the agent with it: closed is what was asked for.
      if ((err as Error).name !== 'IcebridgeWorkerError') throw err;
      this.mirror = { ...this.mirror, state: 'closed', selectedPair: null };
    }
  }

  /** A call to the Worker's agent; once closed, the core agent's InvalidStateError (the Worker has let it go). */
  private whileOpen<T>(method: string, call: (api: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.mirror.state === 'closed') return Promise.reject(this.workerError ?? closedAgentError(method));
    return this.owner.call(call);
  }

  /** @internal the agent went with its terminated Worker: 'closed', told by a statechange event. */
  workerEnded(error: IcebridgeWorkerError): void {
    if (this.mirror.state === 'closed') return;
    this.workerError = error;
    this.mirror = { ...this.mirror, state: 'closed', selectedPair: null };
    this.dispatchEvent(createIceAgentEvent('statechange'));
  }

  private receive(message: AgentEventMessage): void {
    if (this.early) {
      this.early.push(message);
      return;
    }
    const { type, candidate, data, error, ...snapshot } = message;
    this.mirror = snapshot;
    if (snapshot.state === 'closed') this.owner.release(this);
    this.dispatchEvent(createIceAgentEvent(type, { candidate, data, error }));
  }
}

/**
 * A candidate as plain data for postMessage: an RTCIceCandidate (a platform object) does not clone, so its
 * four RTCIceCandidateInit fields are copied; no `candidate` is end-of-candidates, as in addIceCandidate().
 */
function plainCandidate(candidate: IceCandidateInitLike | string | null | undefined): IceCandidateInit | string | null {
  if (candidate === null || candidate === undefined) return null;
  // A string, or what is no candidate at all (a number: the Worker's agent refuses it, as Node's does).
  if (typeof candidate !== 'object') return candidate;
  if (candidate.candidate === undefined) return null;
  const init: IceCandidateInit = { candidate: candidate.candidate };
  if (candidate.sdpMid !== undefined) init.sdpMid = candidate.sdpMid;
  if (candidate.sdpMLineIndex !== undefined) init.sdpMLineIndex = candidate.sdpMLineIndex;
  if (candidate.usernameFragment !== undefined) init.usernameFragment = candidate.usernameFragment;
  return init;
}
