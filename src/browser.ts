// What `import … from 'icebridge'` gives a page (package.json's "browser" condition): `IceAgent`, an ICE
// agent that runs in a Web Worker this module starts by itself (dist/worker.js, next to this file) and
// reaches the network through a bridge — configured like RTCConfiguration, with the names and events of
// the Node `IceAgent` (`icebridge/node`) — plus the codec pieces a page needs for signalling: candidate
// lines and RFC 8839 attributes, ICE server URIs. The STUN message codec stays in the Worker, where the
// datagrams are.
// No Node imports, and no top-level work: a bundler keeps only what the page uses ("sideEffects": false).
import type { IceParameters, IceTransportState } from './ice/agent.js';
import type { IceCandidateInit } from './ice/candidate.js';
import type { IceCandidatePairStats, IceGatheringState, SelectedCandidatePair } from './ice/ice-agent.js';
import type { BridgeCarrierKind } from './net/bridge-carrier.js';
import type { BridgeError } from './net/bridge-error.js';
import { IcebridgeWorker } from './worker/client.js';
import { WorkerIceAgentEvent, type WorkerIceAgent } from './worker/client-agent.js';
import { AGENT_EVENT_TYPES, type IceAgentConfig } from './worker/protocol.js';

// The Worker-backed API by its own names, for pages that want the Worker or the bridge directly.
export * from './worker.js';
// Signalling and tools.
export { parseCandidate, formatCandidate, candidateToInit, candidateFromInit, computePriority, type IceCandidate, type IceCandidateType } from './ice/candidate.js';
export { parseIceAttributeLine, parseIceDescription, formatIceDescription, IceSdpError, type IceDescription, type IceSdpLine } from './ice/sdp.js';
export { parseIceServerUri, formatIceServerUri, IceServerUriError, type IceServerUri } from './net/ice-server-uri.js';
export { formatTransportAddress, type AddressFamily } from './net/transport-address.js';

/** An IceAgent event: `candidate` (icecandidate; null = end of candidates), `data` (data), `error` (icecandidateerror). */
export { WorkerIceAgentEvent as IceAgentEvent };

/** `new IceAgent(config)` options: RTCConfiguration's `iceServers` and `iceTransportPolicy`, plus the bridge. */
export interface IceAgentInit extends IceAgentConfig {
  /** The Worker to run in. Default: the page's shared one (IcebridgeWorker.shared()). */
  worker?: IcebridgeWorker;
}

/**
 * An ICE agent for a page, constructed like `new RTCPeerConnection(config)`:
 *
 *   const agent = new IceAgent({ bridge: { url, username, credential }, iceServers, iceTransportPolicy });
 *   agent.addEventListener('icecandidate', (e) => signal(e.candidate));
 *   await agent.gather();
 *
 * It runs in a Web Worker; the methods that must ask it return promises (gather, setRemoteParameters,
 * addRemoteCandidate, getStats, restart, close), as RTCPeerConnection's do, while send() and the state
 * getters are synchronous. A bridge that refuses the token or cannot be reached makes `ready`, and every
 * method that waits for it, reject with the BridgeError. Once ready, `carrier` says how the bridge is reached
 * ('webtransport' or 'websocket'), announced by a `carrierchange` event.
 */
export class IceAgent extends EventTarget {
  /** Resolves once the agent exists in the Worker (its bridge session is open). */
  readonly ready: Promise<void>;
  private inner: WorkerIceAgent | undefined;
  private readonly created: Promise<WorkerIceAgent>;
  private closeAsked = false;
  private readonly initialRole: 'controlling' | 'controlled';

  constructor(config: IceAgentInit) {
    super();
    const { worker, ...rest } = config;
    this.initialRole = config.lite ? 'controlled' : (config.role ?? 'controlling');
    this.created = (worker ?? IcebridgeWorker.shared()).createIceAgent(rest);
    this.ready = this.created.then((agent) => {
      this.inner = agent;
      this.dispatchEvent(new WorkerIceAgentEvent('carrierchange'));
      for (const type of AGENT_EVENT_TYPES) agent.addEventListener(type, (e) => this.redispatch(e as WorkerIceAgentEvent));
      // close() before the Worker answered: close the agent it made.
      if (this.closeAsked) return agent.close();
    });
    // Whoever calls a method sees the failure; an agent nobody uses must not raise an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** How the bridge is reached: 'webtransport' or 'websocket'; null until `ready` (then a `carrierchange` event). */
  get carrier(): BridgeCarrierKind | null {
    return this.inner?.carrier ?? null;
  }

  /** When the bridge config said `auto` and WebTransport was not used: why (a BridgeError). */
  get fallbackReason(): BridgeError | undefined {
    return this.inner?.fallbackReason;
  }

  /** RTCIceTransport.state; 'new' until `ready`. */
  get state(): IceTransportState {
    return this.inner?.state ?? (this.closeAsked ? 'closed' : 'new');
  }

  get gatheringState(): IceGatheringState {
    return this.inner?.gatheringState ?? 'new';
  }

  get role(): 'controlling' | 'controlled' {
    return this.inner?.role ?? this.initialRole;
  }

  /** Our ufrag and pwd for the peer (RTCIceParameters); empty until `ready` (await it, or gather()). */
  get localParameters(): IceParameters {
    return this.inner?.localParameters ?? { usernameFragment: '', password: '' };
  }

  /** Opens the host sockets on the bridge and gathers; resolves after the null (end) icecandidate event. */
  async gather(): Promise<void> {
    return (await this.created).gather();
  }

  async setRemoteParameters(parameters: IceParameters): Promise<void> {
    return (await this.created).setRemoteParameters(parameters);
  }

  /** RTCIceCandidateInit, an `a=candidate` line, or null (end of candidates). Malformed: IceCandidateError. */
  async addRemoteCandidate(candidate: IceCandidateInit | string | null): Promise<boolean> {
    return (await this.created).addRemoteCandidate(candidate);
  }

  /** Sends on the selected pair; false when there is none yet (or the agent is not ready, or closed). */
  send(data: Uint8Array | string): boolean {
    return this.inner?.send(data) ?? false;
  }

  /** ICE restart (RFC 8445 §9): new local parameters to signal, then the candidates again. */
  async restart(): Promise<IceParameters> {
    return (await this.created).restart();
  }

  /** RTCIceCandidatePairStats-like records of every pair, the selected one flagged. */
  async getStats(): Promise<IceCandidatePairStats[]> {
    return (await this.created).getStats();
  }

  getSelectedCandidatePair(): SelectedCandidatePair | null {
    return this.inner?.getSelectedCandidatePair() ?? null;
  }

  /** Closes the agent, its sockets and its bridge session. Never rejects for an agent that never started. */
  async close(): Promise<void> {
    this.closeAsked = true;
    if (this.inner) return this.inner.close();
    await this.ready.catch(() => {});
  }

  private redispatch(source: WorkerIceAgentEvent): void {
    // An event being dispatched cannot be dispatched again: a copy carries its payload.
    const event = new WorkerIceAgentEvent(source.type);
    if (source.candidate !== undefined) event.candidate = source.candidate;
    if (source.data !== undefined) event.data = source.data;
    if (source.error !== undefined) event.error = source.error;
    this.dispatchEvent(event);
  }
}
