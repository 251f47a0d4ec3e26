// Errors across the Worker boundary. Structured clone keeps an Error's name and message only, so the Worker
// sends a plain record of the fields that make icebridge's errors typed (code, closeCode, kind, …) and the
// page rebuilds the same class: `err instanceof BridgeError && err.closeCode === 4001` works in the page.
import { BridgeError } from '../net/bridge-client.js';
import { IceCandidateError, type IceCandidateErrorCode } from '../ice/candidate.js';
import { NatDiscoveryError, type NatDiscoveryErrorCode } from '../nat/errors.js';
import { IceServerUriError } from '../net/ice-server-uri.js';
import type { TransportAddress } from '../net/transport-address.js';
import { StunBindingError } from '../stun/binding.js';
import { TurnError, type TurnErrorKind, type TurnOperation } from '../turn/errors.js';

export interface SerializedError {
  /** Marks the record as one of these, whatever else was thrown. */
  icebridgeError: true;
  name: string;
  message: string;
  code?: string | number;
  reason?: string;
  closeCode?: number;
  operation?: string;
  kind?: string;
  alternateServer?: TransportAddress;
  /** IceServerUriError's URI as given. */
  uri?: string;
  stack?: string;
  /** A DOMException (InvalidStateError, SyntaxError, …): rebuilt as one, as the Node agent throws it. */
  domException?: true;
}

export function isSerializedError(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && (value as { icebridgeError?: unknown }).icebridgeError === true;
}

export function serializeError(error: unknown): SerializedError {
  if (isSerializedError(error)) return error;
  if (!(error instanceof Error)) return { icebridgeError: true, name: 'Error', message: String(error) };
  const out: SerializedError = { icebridgeError: true, name: error.name, message: error.message, stack: error.stack };
  if (typeof DOMException !== 'undefined' && error instanceof DOMException) out.domException = true;
  if (error instanceof BridgeError) Object.assign(out, { code: error.code, reason: error.reason, closeCode: error.closeCode });
  else if (error instanceof TurnError) {
    Object.assign(out, { code: error.code, reason: error.reason, operation: error.operation, kind: error.kind, alternateServer: error.alternateServer });
  } else if (error instanceof StunBindingError) out.code = error.code;
  else if (error instanceof IceCandidateError) Object.assign(out, { code: error.code, reason: error.reason });
  else if (error instanceof IceServerUriError) Object.assign(out, { uri: error.uri, reason: error.reason });
  else if ('code' in error && (typeof error.code === 'string' || typeof error.code === 'number')) out.code = error.code;
  return out;
}

/** The typed error again; names this file does not know become an Error (TypeError, RangeError kept). */
export function deserializeError(data: SerializedError): Error {
  const error = rebuild(data);
  if (data.stack) error.stack = `${error.name}: ${error.message}\n    (in the icebridge Worker)\n${data.stack.split('\n').slice(1).join('\n')}`;
  return error;
}

function rebuild(d: SerializedError): Error {
  if (d.domException && typeof DOMException !== 'undefined') return new DOMException(d.message, d.name);
  switch (d.name) {
    case 'BridgeError':
      return new BridgeError(String(d.code), d.reason ?? d.message, d.closeCode);
    case 'TurnError':
      return new TurnError(Number(d.code), d.reason ?? d.message, d.operation as TurnOperation, d.kind as TurnErrorKind, d.alternateServer);
    case 'StunBindingError':
      return new StunBindingError(d.code as StunBindingError['code'], d.message);
    case 'IceCandidateError':
      return new IceCandidateError(d.code as IceCandidateErrorCode, d.reason ?? d.message);
    case 'IceServerUriError':
      return new IceServerUriError(d.uri ?? '', d.reason ?? d.message);
    case 'NatDiscoveryError':
      return new NatDiscoveryError(d.code as NatDiscoveryErrorCode, d.message);
    case 'TypeError':
      return new TypeError(d.message);
    case 'RangeError':
      return new RangeError(d.message);
    default: {
      const error = new Error(d.message);
      if (d.name !== 'Error') Object.defineProperty(error, 'name', { value: d.name, configurable: true });
      if (d.code !== undefined) Object.assign(error, { code: d.code });
      return error;
    }
  }
}

/** Why the page could not get an icebridge Worker (IcebridgeWorkerError.code). */
export type IcebridgeWorkerErrorCode =
  /** No `Worker` in this runtime (Node, Deno without a DOM): use `icebridge/node`. */
  | 'unsupported-runtime'
  /** `workerUrl` is not a URL. */
  | 'invalid-worker-url'
  /** No script URL to start from (an IIFE or CommonJS bundle has no import.meta.url) and no inline copy. */
  | 'no-script-url'
  /** The script did not load or threw before answering (404, wrong MIME type, CORS, CSP). */
  | 'start-failed'
  /** The Worker did not answer within `startTimeoutMs`. */
  | 'start-timeout'
  /** terminate() was called. */
  | 'terminated';

/** The Worker could not be started (its script did not load), did not answer, or was terminated. */
export class IcebridgeWorkerError extends Error {
  override readonly name = 'IcebridgeWorkerError';
  constructor(
    readonly code: IcebridgeWorkerErrorCode,
    message: string,
    /** The script URL (or `inline`) the Worker was started from, when there was one. */
    readonly source?: string,
  ) {
    super(message);
  }
}
