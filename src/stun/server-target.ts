// Where stunBinding and discoverNatBehavior send their requests: a STUN URI or `host:port` (an IP literal,
// or a name the caller resolves), or a TransportAddress. Anything else is a TypeError naming the caller,
// not a crash deeper in.
import { parseIceServerUri, type IceServerTransport } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';

export interface ServerTarget {
  host: string;
  port: number;
  transport: IceServerTransport;
  /** `host` is a name, to resolve before sending. */
  isName: boolean;
}

export function serverTarget(server: string | TransportAddress, caller: string): ServerTarget {
  if (typeof server === 'string') {
    const uri = parseIceServerUri(/^(stuns?|turns?):/i.test(server) ? server : `stun:${server}`);
    return { host: uri.host, port: uri.port, transport: uri.transport, isName: !isIp(uri.host) };
  }
  if (isTransportAddress(server)) return { host: server.address, port: server.port, transport: 'udp', isName: false };
  const got = typeof server === 'object' && server !== null ? JSON.stringify(server) : String(server);
  throw new TypeError(`${caller}: the server must be a STUN URI, host:port or { address, port }, got ${got}`);
}

function isTransportAddress(value: unknown): value is TransportAddress {
  const a = value as Partial<TransportAddress> | null;
  return typeof a === 'object' && a !== null && typeof a.address === 'string' && Number.isInteger(a.port) && a.port! >= 0 && a.port! <= 0xffff;
}
