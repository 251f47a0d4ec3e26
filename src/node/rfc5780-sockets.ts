// The four UDP sockets of an RFC 5780 server (§6: two addresses × two ports, the same ports on both
// addresses), bound in the order A1:P1, A2:P1, A1:P2, A2:P2 — socket ids 0..3 of the engine.
import type { Rfc5780Socket } from '../server/rfc5780.js';
import { isIp } from '../net/ip.js';
import { familyOf } from '../net/transport-address.js';
import { UdpSocket } from './udp-socket.js';
import { portOption } from './listen-options.js';

export interface Rfc5780ListenOptions {
  /** Exactly one specific address: A1. */
  hosts?: string[];
  /** P1; 0 picks a free one. Default 3478. */
  port?: number;
  /** A2. */
  altAddress?: string;
  /** P2. Default P1 + 1; a free one when P1 is 0. */
  altPort?: number;
  receiveBufferSize?: number;
}

/** Tries with kernel-chosen ports before giving up (a port free on A1 may be taken on A2). Default 8. */
const FREE_PORT_ATTEMPTS = 8;
const UNSPECIFIED = new Set(['0.0.0.0', '::']);

function checkAddresses(options: Rfc5780ListenOptions): [string, string] {
  const hosts = options.hosts ?? [];
  const a2 = options.altAddress ?? '';
  if (hosts.length !== 1 || UNSPECIFIED.has(hosts[0]) || !isIp(hosts[0])) {
    throw new RangeError('RFC 5780 (altAddress) needs exactly one specific listening host, the primary address');
  }
  if (!isIp(a2) || UNSPECIFIED.has(a2)) throw new RangeError(`altAddress ${JSON.stringify(a2)} must be a specific IP address`);
  if (a2 === hosts[0]) throw new RangeError('altAddress must differ from the listening host');
  if (familyOf(a2) !== familyOf(hosts[0])) throw new RangeError('altAddress must be of the listening host\'s family');
  return [hosts[0], a2];
}

/** Binds `port` on both addresses (0: a free one, the same on both). */
async function bindPair(addresses: [string, string], port: number, receiveBufferSize: number | undefined): Promise<[UdpSocket, UdpSocket]> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (port === 0 ? FREE_PORT_ATTEMPTS : 1); attempt++) {
    const first = await UdpSocket.bind({ address: addresses[0], port, receiveBufferSize });
    try {
      const second = await UdpSocket.bind({ address: addresses[1], port: first.localAddress.port, receiveBufferSize });
      return [first, second];
    } catch (err) {
      first.close();
      lastError = err;
    }
  }
  throw lastError;
}

export async function listenRfc5780(options: Rfc5780ListenOptions): Promise<{ sockets: UdpSocket[]; grid: Rfc5780Socket[] }> {
  const addresses = checkAddresses(options);
  const port = portOption('port', options.port, 3478);
  const altPort = portOption('altPort', options.altPort, port === 0 ? 0 : port + 1);
  if (altPort !== 0 && altPort === port) throw new RangeError('altPort must differ from port');
  const primary = await bindPair(addresses, port, options.receiveBufferSize);
  let alternate: [UdpSocket, UdpSocket];
  try {
    alternate = await bindPair(addresses, altPort, options.receiveBufferSize);
  } catch (err) {
    for (const s of primary) s.close();
    throw err;
  }
  const sockets = [...primary, ...alternate];
  return { sockets, grid: sockets.map((s, socket) => ({ socket, address: s.localAddress })) };
}
