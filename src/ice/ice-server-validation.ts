// The checks `new RTCPeerConnection(configuration)` makes (W3C webrtc-pc, "set the configuration" and
// "validate an ICE server"), made by both IceAgent constructors — the Node one and the page's, before it asks
// its Worker — so a mistyped server fails at once, with the W3C error name, instead of as an
// icecandidateerror after gathering has begun.
import { IceServerUriError, parseIceServerUri } from '../net/ice-server-uri.js';
import { checkMilliseconds } from '../net/option-checks.js';
import { resolveMaxDatagramSize } from './datagram-size.js';
import type { IceServerConfig, IceTransportPolicy } from './gatherer.js';

/** The part of an IceAgent's options these rules cover. */
export interface IceConfigurationToValidate {
  iceServers?: readonly IceServerConfig[] | undefined;
  iceTransportPolicy?: IceTransportPolicy | undefined;
  maxDatagramSize?: number | undefined;
  role?: 'controlling' | 'controlled' | undefined;
  gatherPolicy?: 'once' | 'continual' | undefined;
  lite?: boolean | undefined;
  renomination?: boolean | undefined;
  stunTimeoutMs?: number | undefined;
  turnTimeoutMs?: number | undefined;
}

const POLICIES: readonly string[] = ['all', 'relay'];
/** icebridge's own enumerations and switches, checked as WebIDL would check an enum or a boolean member. */
const CHOICES = { role: ['controlling', 'controlled'], gatherPolicy: ['once', 'continual'] } as const;
const SWITCHES = ['lite', 'renomination'] as const;
const TIMEOUTS = ['stunTimeoutMs', 'turnTimeoutMs'] as const;

/**
 * Throws what RTCPeerConnection throws for the same configuration:
 * - a `urls` list that is empty, or a URL that does not parse as a STUN/TURN URI (RFC 7064/7065: no
 *   scheme of those four, no host, a bad port, a query on stun:) → DOMException 'SyntaxError';
 * - a turn:/turns: URL in a server without `username` or `credential` → DOMException 'InvalidAccessError';
 * - `iceServers` not an array, a server without `urls`, a `username`/`credential` that is not a string, an
 *   `iceTransportPolicy` other than 'all' or 'relay' → TypeError (WebIDL conversion errors);
 * - and, icebridge's own, a `maxDatagramSize` out of 1..65 507 → RangeError; a `role` or `gatherPolicy`
 *   that is none of its values, a `lite` or `renomination` that is not a boolean → TypeError; a
 *   `stunTimeoutMs` or `turnTimeoutMs` that is not a positive number of milliseconds → RangeError.
 * DOMException is the global one (browsers, Workers, Node ≥ 17); without it, an Error of that name.
 */
export function validateIceConfiguration(config: IceConfigurationToValidate): void {
  checkConfigurationObject(config);
  const policy: unknown = config.iceTransportPolicy;
  if (policy !== undefined && !POLICIES.includes(policy as string)) {
    throw new TypeError(`iceTransportPolicy ${JSON.stringify(policy)} is not 'all' or 'relay'`);
  }
  resolveMaxDatagramSize(config.maxDatagramSize);
  for (const [name, values] of Object.entries(CHOICES)) {
    const value: unknown = config[name as keyof typeof CHOICES];
    if (value !== undefined && !(values as readonly unknown[]).includes(value)) throw new TypeError(`${name} ${JSON.stringify(value)} is not ${values.map((v) => `'${v}'`).join(' or ')}`);
  }
  for (const name of SWITCHES) {
    const value: unknown = config[name];
    if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${JSON.stringify(value)}`);
  }
  for (const name of TIMEOUTS) checkMilliseconds(name, config[name]);
  const servers: unknown = config.iceServers;
  if (servers === undefined) return;
  if (!Array.isArray(servers)) throw new TypeError('iceServers must be an array of { urls, username?, credential? }');
  servers.forEach((server: unknown, index) => validateIceServer(server, index));
}

/** A TypeError for a configuration that is no object at all (null, a URL string). */
export function checkConfigurationObject(config: unknown): void {
  if (config === null || typeof config !== 'object') throw new TypeError(`the configuration must be an object { iceServers?, … }, got ${config === null ? 'null' : typeof config}`);
}

/** "validate an ICE server" for `iceServers[index]`. */
export function validateIceServer(server: unknown, index = 0): void {
  const where = `iceServers[${index}]`;
  if (server === null || typeof server !== 'object') throw new TypeError(`${where} must be an object { urls, username?, credential? }`);
  const { urls, username, credential } = server as { urls?: unknown; username?: unknown; credential?: unknown };
  if (urls === undefined) throw new TypeError(`${where} has no urls`);
  for (const [name, value] of [['username', username], ['credential', credential]] as const) {
    if (value !== undefined && typeof value !== 'string') throw new TypeError(`${where}.${name} must be a string`);
  }
  const list: unknown[] = typeof urls === 'string' ? [urls] : Array.isArray(urls) ? urls : [];
  if (typeof urls !== 'string' && !Array.isArray(urls)) throw new TypeError(`${where}.urls must be a string or an array of strings`);
  if (list.length === 0) throw domException(`${where}.urls is empty`, 'SyntaxError');
  for (const url of list) {
    if (typeof url !== 'string') throw new TypeError(`${where}.urls must hold strings, got ${typeof url}`);
    let scheme: string;
    try {
      scheme = parseIceServerUri(url).scheme;
    } catch (err) {
      const reason = err instanceof IceServerUriError ? err.reason : String(err);
      throw domException(`${where}: ${JSON.stringify(url)} is not a valid STUN/TURN URL: ${reason}`, 'SyntaxError');
    }
    if ((scheme === 'turn' || scheme === 'turns') && (username === undefined || credential === undefined)) {
      const missing = username === undefined && credential === undefined ? 'username and credential' : username === undefined ? 'username' : 'credential';
      throw domException(`${where}: ${JSON.stringify(url)} is a TURN server and needs ${missing}`, 'InvalidAccessError');
    }
  }
}

type DomExceptionName = 'SyntaxError' | 'InvalidAccessError';

function domException(message: string, name: DomExceptionName): Error {
  const Ctor = (globalThis as { DOMException?: new (message?: string, name?: string) => Error }).DOMException;
  if (Ctor) return new Ctor(message, name);
  const error = new Error(message);
  error.name = name;
  return error;
}
