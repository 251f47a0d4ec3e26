// The events an IceAgent dispatches, typed as lib.dom types RTCPeerConnection's: one class per payload, and
// IceAgentEventMap from event name to class, which addEventListener and the on<type> properties are keyed by
// (ice-agent-event-target.ts). The same classes in Node, in the Worker and in the page.
import type { IceCandidateInit } from './candidate.js';
import type { GatheringError } from './gatherer.js';

/**
 * The base of every IceAgent event. Its optional fields are the payloads of the subclasses; they stay here so
 * code written before the event map (`(e as IceAgentEvent).candidate`) keeps compiling. New code gets the
 * subclass from the map and needs no cast.
 */
export class IceAgentEventObject extends Event {
  /** icecandidate, remotecandidate: see IceCandidateEvent. */
  declare readonly candidate?: IceCandidateInit | null;
  /** data: see IceDataEvent. */
  declare readonly data?: Uint8Array;
  /** icecandidateerror: see IceCandidateErrorEvent. */
  declare readonly error?: GatheringError;
}

/** Like RTCPeerConnectionIceEvent: a local candidate to signal, or null once gathering is complete. */
export class IceCandidateEvent extends IceAgentEventObject {
  declare readonly candidate: IceCandidateInit | null;
  constructor(type: 'icecandidate', init: { candidate: IceCandidateInit | null }) {
    super(type);
    define(this, 'candidate', init.candidate);
  }
}

/** A peer-reflexive remote candidate, learned from a check the peer sent (RFC 8445 §7.3.1.3). */
export class IceRemoteCandidateEvent extends IceAgentEventObject {
  declare readonly candidate: IceCandidateInit;
  constructor(type: 'remotecandidate', init: { candidate: IceCandidateInit }) {
    super(type);
    define(this, 'candidate', init.candidate);
  }
}

/** Like MessageEvent: the bytes of one datagram from the peer, on the selected pair. */
export class IceDataEvent extends IceAgentEventObject {
  declare readonly data: Uint8Array;
  constructor(type: 'data', init: { data: Uint8Array }) {
    super(type);
    define(this, 'data', init.data);
  }
}

/** A STUN or TURN server that could not be used, or a candidate or relay that failed (what `error` holds). */
export interface IceCandidateErrorInit {
  error: GatheringError;
  /** The local address that talked to the server, when known. */
  address?: string | null;
  port?: number | null;
}

/**
 * Like RTCPeerConnectionIceErrorEvent: `url` names the STUN/TURN server ('' when none is involved, e.g. an
 * mDNS name that did not resolve), `errorCode` is the STUN error code the server answered (403 when a TURN
 * server refuses to relay to a peer) or 701 when no answer came, `errorText` says why. `address` and `port`
 * are the local address used, null when unknown. `error` holds the same fields as one record.
 */
export class IceCandidateErrorEvent extends IceAgentEventObject {
  declare readonly error: GatheringError;
  readonly address: string | null;
  readonly port: number | null;
  readonly url: string;
  readonly errorCode: number;
  readonly errorText: string;
  constructor(type: 'icecandidateerror', init: IceCandidateErrorInit) {
    super(type);
    define(this, 'error', init.error);
    this.url = init.error.url;
    this.errorCode = init.error.errorCode;
    this.errorText = init.error.errorText;
    this.address = init.address ?? init.error.address ?? null;
    this.port = init.port ?? init.error.port ?? null;
  }
}

/**
 * Every event an IceAgent dispatches, by name (what `addEventListener(type, …)` and `on<type>` are typed by).
 * The state events carry no payload: read the agent's getters (`state`, `gatheringState`, `role`,
 * `getSelectedCandidatePair()`) inside the handler — they are already the new values.
 */
export interface IceAgentEventMap {
  /** A local candidate to signal to the peer; `candidate` null at the end of gathering. */
  icecandidate: IceCandidateEvent;
  /** A STUN/TURN server failed, a TURN server refused a peer, or a peer's mDNS candidate did not resolve. */
  icecandidateerror: IceCandidateErrorEvent;
  /** `gatheringState` changed. */
  gatheringstatechange: Event;
  /** `state` changed (RTCIceTransport's statechange). */
  statechange: Event;
  /** `getSelectedCandidatePair()` changed. */
  selectedcandidatepairchange: Event;
  /** `role` changed (a role conflict was resolved, RFC 8445 §7.3.1.1). */
  rolechange: Event;
  /** The peer's checks revealed a peer-reflexive candidate. */
  remotecandidate: IceRemoteCandidateEvent;
  /** A datagram from the peer. */
  data: IceDataEvent;
  /** The page's agent only: `carrier` is known (`ready`); the Node agent never dispatches it. */
  carrierchange: Event;
}

export type IceAgentEventType = keyof IceAgentEventMap;

/** The payload fields an event carries across the Worker boundary (AgentEventMessage) or is copied with. */
export interface IceAgentEventFields {
  candidate?: IceCandidateInit | null | undefined;
  data?: Uint8Array | undefined;
  error?: GatheringError | undefined;
}

/**
 * The event of class IceAgentEventMap[type] with these fields, for the page: it rebuilds the Worker's events
 * from their messages, and re-dispatches them (an event being dispatched cannot be dispatched again).
 */
export function createIceAgentEvent(type: string, fields: IceAgentEventFields = {}): IceAgentEventObject {
  if (type === 'icecandidate') return new IceCandidateEvent(type, { candidate: fields.candidate ?? null });
  if (type === 'remotecandidate' && fields.candidate) return new IceRemoteCandidateEvent(type, { candidate: fields.candidate });
  if (type === 'data' && fields.data) return new IceDataEvent(type, { data: fields.data });
  if (type === 'icecandidateerror' && fields.error) return new IceCandidateErrorEvent(type, { error: fields.error });
  return new IceAgentEventObject(type);
}

/** The payload as an own, enumerable, read-only property, as the W3C event interfaces expose theirs. */
function define(event: Event, name: string, value: unknown): void {
  Object.defineProperty(event, name, { value, enumerable: true, writable: false, configurable: true });
}
