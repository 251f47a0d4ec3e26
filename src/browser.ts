// What `import … from 'icebridge'` gives a page (package.json's "browser" condition): `IceAgent`, an ICE
// agent that runs in a Web Worker this module starts by itself (dist/worker.js, next to this file) and
// reaches the network through a bridge — configured like RTCConfiguration, with the names and events of
// the Node `IceAgent` (`icebridge/node`) — plus the codec pieces a page needs for signalling: candidate
// lines and RFC 8839 attributes, ICE server URIs. The STUN message codec stays in the Worker, where the
// datagrams are.
// No Node imports, and no top-level work: a bundler keeps only what the page uses ("sideEffects": false).
/**
 * The page entry: `IceAgent`, a Worker-backed ICE agent configured like RTCPeerConnection, and the signalling codec a page needs.
 * @module icebridge
 */
import type { IceParameters, IceTransportState } from './ice/agent.js';
import type { IceCandidateInitLike } from './ice/candidate.js';
import { datagramBytes, resolveMaxDatagramSize } from './ice/datagram-size.js';
import type { IceCandidatePairStats, IceGatheringState, SelectedCandidatePair } from './ice/ice-agent.js';
import { IceAgentEventTarget, type IceEventHandler } from './ice/ice-agent-event-target.js';
import { createIceAgentEvent, IceAgentEventObject } from './ice/ice-agent-events.js';
import { validateIceConfiguration } from './ice/ice-server-validation.js';
import type { BridgeCarrierKind } from './net/bridge-carrier.js';
import type { BridgeError } from './net/bridge-error.js';
import { IcebridgeWorker } from './worker/client.js';
import type { WorkerIceAgent } from './worker/client-agent.js';
import { AGENT_EVENT_TYPES, checkBridgeConfig, type IceAgentConfig } from './worker/protocol.js';

// The Worker-backed API by its own names, for pages that want the Worker or the bridge directly.
export * from './worker.js';
// Signalling and tools.
export { parseCandidate, formatCandidate, candidateToInit, candidateFromInit, computePriority, type IceCandidate, type IceCandidateType } from './ice/candidate.js';
export {
  parseIceAttributeLine, parseIceDescription, formatIceDescription, IceSdpError, ICE_SDP_LIMITS,
  type IceDescription, type IceSdpLine, type IceSdpLimits, type IceDescriptionParseOptions,
} from './ice/sdp.js';
export { parseIceServerUri, formatIceServerUri, IceServerUriError, type IceServerUri } from './net/ice-server-uri.js';
export { formatTransportAddress, type AddressFamily } from './net/transport-address.js';

// Typed events: IceAgentEventMap names each event's class (`agent.addEventListener('icecandidate', (e) =>
// e.candidate)` needs no cast). IceAgentEvent is their base class, with every payload field optional.
export {
  IceAgentEventObject as IceAgentEvent,
  IceCandidateEvent,
  IceCandidateErrorEvent,
  IceDataEvent,
  IceRemoteCandidateEvent,
  type IceAgentEventMap,
  type IceAgentEventType,
  type IceCandidateErrorInit,
} from './ice/ice-agent-events.js';
export { IceAgentEventTarget, type IceAddEventListenerOptions, type IceEventHandler, type IceEventListener } from './ice/ice-agent-event-target.js';
export type { IceCandidateInitLike } from './ice/candidate.js';
export { IceSendError, DEFAULT_MAX_DATAGRAM_SIZE, type IceSendErrorCode } from './ice/datagram-size.js';
export { validateIceConfiguration, validateIceServer } from './ice/ice-server-validation.js';
export {
  toSessionDescription, fromSessionDescription, DUMMY_FINGERPRINT,
  type SessionIceDescription, type SessionDescriptionOptions, type ParsedSessionDescription, type DtlsSetupRole,
} from './ice/session-description.js';

/** `new IceAgent(config)` options: RTCConfiguration's `iceServers` and `iceTransportPolicy`, plus the bridge. */
export interface IceAgentInit extends IceAgentConfig {
  /** The Worker to run in. Default: the page's shared one (IcebridgeWorker.shared()). */
  worker?: IcebridgeWorker;
  /**
   * Where the shared Worker's script is, when the bundler or CDN puts `worker.js` elsewhere (docs/bundlers.md).
   * Applies when this agent starts the shared Worker; ignored with `worker`. Default: found beside this module.
   */
  workerUrl?: string | URL;
}

/**
 * An ICE agent for a page, constructed like `new RTCPeerConnection(config)`:
 *
 *   const agent = new IceAgent({ bridge: { url, username, credential }, iceServers, iceTransportPolicy });
 *   agent.addEventListener('icecandidate', (e) => signal(e.candidate));
 *   await agent.gather();
 *
 * It runs in a Web Worker; the methods that must ask it return promises (gather, setRemoteParameters,
 * addRemoteCandidate, getStats, restart, close), as RTCPeerConnection's do — and as the Node agent's do —
 * while send() and the state getters are synchronous. The configuration is checked here, at once, as
 * RTCPeerConnection checks it (SyntaxError, InvalidAccessError, TypeError: validateIceConfiguration). Events
 * are typed by IceAgentEventMap, for addEventListener and the on<type> properties alike. A bridge that
 * refuses the token or cannot be reached makes `ready`, and every method that waits for it, reject with the
 * BridgeError. Once ready, `carrier` says how the bridge is reached ('webtransport' or 'websocket'),
 * announced by a `carrierchange` event.
 */
export class IceAgent extends IceAgentEventTarget {
  /** Resolves once the agent exists in the Worker (its bridge session is open). */
  readonly ready: Promise<void>;
  private inner: WorkerIceAgent | undefined;
  private readonly created: Promise<WorkerIceAgent>;
  private closeAsked = false;
  private readonly initialRole: 'controlling' | 'controlled';
  private readonly configuredMaxDatagramSize: number;

  constructor(config: IceAgentInit) {
    super();
    validateIceConfiguration(config);
    checkBridgeConfig(config.bridge);
    if (config.worker !== undefined && typeof (config.worker as Partial<IcebridgeWorker> | null)?.createIceAgent !== 'function') throw new TypeError('worker must be an IcebridgeWorker (new IcebridgeWorker(), or leave it out for the shared one)');
    this.configuredMaxDatagramSize = resolveMaxDatagramSize(config.maxDatagramSize);
    const { worker, workerUrl, ...rest } = config;
    this.initialRole = config.lite ? 'controlled' : (config.role ?? 'controlling');
    this.created = (worker ?? IcebridgeWorker.shared(workerUrl === undefined ? {} : { workerUrl })).createIceAgent(rest);
    this.ready = this.created.then((agent) => {
      this.inner = agent;
      this.dispatchEvent(new IceAgentEventObject('carrierchange'));
      // An event being dispatched cannot be dispatched again: a copy of the same class carries its payload.
      for (const type of AGENT_EVENT_TYPES) agent.addEventListener(type, (e: IceAgentEventObject) => this.dispatchEvent(createIceAgentEvent(e.type, e)));
      // close() before the Worker answered: close the agent it made.
      if (this.closeAsked) return agent.close();
    });
    // Whoever calls a method sees the failure; an agent nobody uses must not raise an unhandled rejection.
    this.ready.catch(() => {});
  }

  get oncarrierchange(): IceEventHandler<this, Event> {
    return this.getHandler('carrierchange');
  }
  set oncarrierchange(handler: IceEventHandler<this, Event>) {
    this.setHandler('carrierchange', handler);
  }

  /**
   * The most bytes send() takes in one datagram: the `maxDatagramSize` option (default
   * DEFAULT_MAX_DATAGRAM_SIZE, 65 443), or less once `ready` if the Worker's agent has a lower limit.
   */
  get maxDatagramSize(): number {
    return this.inner?.maxDatagramSize ?? this.configuredMaxDatagramSize;
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

  /**
   * RTCIceCandidateInit (a DOM one, or an RTCIceCandidate from a page's RTCPeerConnection), an `a=candidate`
   * line, or null/undefined (end of candidates). Malformed: rejects with IceCandidateError.
   */
  async addRemoteCandidate(candidate: IceCandidateInitLike | string | null | undefined): Promise<boolean> {
    return (await this.created).addRemoteCandidate(candidate);
  }

  /**
   * Sends one datagram on the selected pair; false when there is none yet (or the agent is not ready, or
   * closed). More than `maxDatagramSize` bytes throws an IceSendError (a RangeError, code DATAGRAM_TOO_LARGE).
   */
  send(data: Uint8Array | string): boolean {
    const bytes = datagramBytes(data, this.maxDatagramSize);
    return this.inner?.send(bytes) ?? false;
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
}

// Types the page API's signatures name (fields, codes), exported so users can name them too.
export type { BytesSource } from './net/webtransport-carrier.js';
export type { IceServerScheme, IceServerTransport } from './net/ice-server-uri.js';
export type { CandidatePairState } from './ice/candidate-pair.js';
export type { IceRole } from './ice/checks.js';
export type { IceProtocol, IceTcpType, IceCandidateErrorCode } from './ice/candidate.js';
export type { IceSdpErrorCode } from './ice/sdp.js';
export type { StunBindingErrorCode } from './stun/binding.js';
export type { IcebridgeWorkerErrorCode } from './worker/errors.js';
export type { IceConfigurationToValidate } from './ice/ice-server-validation.js';
