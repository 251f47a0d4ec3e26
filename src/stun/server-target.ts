// Where stunBinding, discoverNatBehavior and the Worker's allocateTurn send their requests: a STUN/TURN URI
// or `host:port` (an IP literal, or a name the caller resolves), or a TransportAddress. Anything else is a
// TypeError naming the caller, not a crash deeper in.
import { parseIceServerUri, type IceServerScheme, type IceServerTransport } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';

export interface ServerTarget {
  /** The URI's scheme; `scheme` (the caller's default) for `host:port` and a TransportAddress. */
  scheme: IceServerScheme;
  host: string;
  port: number;
  transport: IceServerTransport;
  /** `host` is a name, to resolve before sending. */
  isName: boolean;
}

export function serverTarget(server: string | TransportAddress, caller: string, scheme: 'stun' | 'turn' = 'stun'): ServerTarget {
  if (typeof server === 'string') {
    const uri = parseIceServerUri(/^(stuns?|turns?):/i.test(server) ? server : `${scheme}:${server}`);
    return { scheme: uri.scheme, host: uri.host, port: uri.port, transport: uri.transport, isName: !isIp(uri.host) };
  }
  if (isTransportAddress(server)) return { scheme, host: server.address, port: server.port, transport: 'udp', isName: false };
  const got = typeof server === 'object' && server !== null ? JSON.stringify(server) : String(server);
  throw new TypeError(`${caller}: the server must be a STUN URI, host:port or { address, port }, got ${got}`);
}

function isTransportAddress(value: unknown): value is TransportAddress {
  const a = value as Partial<TransportAddress> | null;
  return typeof a === 'object' && a !== null && typeof a.address === 'string' && Number.isInteger(a.port) && a.port! >= 0 && a.port! <= 0xffff;
}
