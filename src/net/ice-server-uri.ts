// STUN and TURN URIs: RFC 7064 (`stun:host[:port]`, `stuns:host[:port]`) and RFC 7065
// (`turn:host[:port][?transport=udp|tcp]`, `turns:host[:port][?transport=tcp]`).

import { isIp } from './ip.js';

export type IceServerScheme = 'stun' | 'stuns' | 'turn' | 'turns';
export type IceServerTransport = 'udp' | 'tcp' | 'tls';

export interface IceServerUri {
  readonly scheme: IceServerScheme;
  /** A host name or an IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** The transport to the server: `udp` by default, `tcp` when asked, `tls` for the secure schemes. */
  readonly transport: IceServerTransport;
}

export class IceServerUriError extends TypeError {
  constructor(
    readonly uri: string,
    readonly reason: string,
  ) {
    super(`invalid STUN/TURN URI '${uri}': ${reason}`);
    this.name = 'IceServerUriError';
  }
}

/** RFC 7064 §3.2 / RFC 7065 §3: 3478 for plain, 5349 for secure schemes. */
const DEFAULT_PORT: Record<IceServerScheme, number> = { stun: 3478, stuns: 5349, turn: 3478, turns: 5349 };

const SCHEME = /^(stuns?|turns?):/i;

export function parseIceServerUri(uri: string): IceServerUri {
  const m = SCHEME.exec(uri);
  if (!m) throw new IceServerUriError(uri, 'the scheme must be stun:, stuns:, turn: or turns:');
  const scheme = m[1].toLowerCase() as IceServerScheme;
  let rest = uri.slice(m[0].length);
  if (rest.startsWith('//')) throw new IceServerUriError(uri, "no '//' after the scheme (RFC 7064 §3.1)");

  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (scheme.startsWith('stun') && query) throw new IceServerUriError(uri, 'stun: URIs take no query (RFC 7064)');

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new IceServerUriError(uri, "unclosed '[' around an IPv6 address");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after && !after.startsWith(':')) throw new IceServerUriError(uri, `unexpected '${after}' after the address`);
    portText = after ? after.slice(1) : undefined;
    if (!host.includes(':')) throw new IceServerUriError(uri, 'brackets are for IPv6 addresses only');
    // RFC 3986 §3.2.2: an IP-literal is an IPv6 address; anything else in brackets would only be handed to a
    // resolver and time out (39.8 s) instead of failing here.
    if (!isIp(host)) throw new IceServerUriError(uri, `'${host}' is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(':');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
  }
  if (!host) throw new IceServerUriError(uri, 'no host');
  if (!/^[A-Za-z0-9.\-_:%]+$/.test(host)) throw new IceServerUriError(uri, `'${host}' is not a host name or IP address`);
  // All digits and dots reads as IPv4 (RFC 3986 §3.2.2 IPv4address); `300.1.1.1` or `1.2.3` is neither that nor a name.
  if (/^[\d.]+$/.test(host) && !isIp(host)) throw new IceServerUriError(uri, `'${host}' is not an IPv4 address`);

  let port = DEFAULT_PORT[scheme];
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new IceServerUriError(uri, `'${portText}' is not a port (1–65535)`);
    }
    port = Number(portText);
  }

  let transport: IceServerTransport = scheme === 'stuns' || scheme === 'turns' ? 'tls' : 'udp';
  if (query) {
    const t = /^transport=(udp|tcp)$/i.exec(query);
    if (!t) throw new IceServerUriError(uri, `unsupported query '${query}' (only transport=udp|tcp)`);
    const asked = t[1].toLowerCase();
    if (scheme === 'turns') {
      if (asked !== 'tcp') throw new IceServerUriError(uri, 'turns: runs over TLS/TCP only (RFC 7065 §3)');
    } else {
      transport = asked as IceServerTransport;
    }
  }
  return { scheme, host, port, transport };
}

export function formatIceServerUri(u: IceServerUri): string {
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  const query = u.scheme === 'turn' && u.transport === 'tcp' ? '?transport=tcp' : '';
  return `${u.scheme}:${host}:${u.port}${query}`;
}
