// stunBinding() with Node defaults: opens a UDP, TCP or TLS socket as the URI asks, resolves host names.
import { lookup } from 'node:dns/promises';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { familyOf, type AddressFamily } from '../net/transport-address.js';
import { stunBinding as stunBindingCore, type StunBindingOptions, type StunBindingResult } from '../stun/binding.js';
import type { TransportAddress } from '../net/transport-address.js';
import { StreamSocket } from './stream-socket.js';
import { UdpSocket } from './udp-socket.js';

export type NodeStunBindingOptions = StunBindingOptions & {
  /** node:tls options for `stuns:` (e.g. `{ ca }` or `{ rejectUnauthorized: false }` for a test server). */
  tls?: import('node:tls').ConnectionOptions;
};

/** The system resolver's first answer, of `family` when given (the gatherer asks per host family). */
export async function resolveHost(host: string, family?: AddressFamily): Promise<string> {
  return (await lookup(host, family === undefined ? {} : { family: family === 'IPv6' ? 6 : 4 })).address;
}

export function stunBinding(server: string | TransportAddress, options: NodeStunBindingOptions = {}): Promise<StunBindingResult> {
  return stunBindingCore(server, {
    resolve: resolveHost,
    openSocket: async (to, transport): Promise<DatagramSocket> => {
      // Connected: a server that is not there refuses at once (ICMP port unreachable), no 39.5 s wait.
      if (transport === 'udp') return UdpSocket.bind({ family: familyOf(to.address), connect: to });
      return StreamSocket.connect({ host: to.address, port: to.port, tls: transport === 'tls' ? (options.tls ?? true) : undefined });
    },
    ...options,
  });
}
