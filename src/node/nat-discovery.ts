// discoverNatBehavior() with Node defaults: opens its own UDP sockets (a fresh random port, RFC 5780 §4.1),
// resolves host names, and knows this machine's addresses to tell "no NAT" from a wildcard-bound socket.
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { discoverNatBehavior as discoverOver, type NatBehaviorResult, type NatDiscoveryOptions } from '../nat/nat-discovery.js';
import { parseIceServerUri } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import { familyOf, type TransportAddress } from '../net/transport-address.js';
import { UdpSocket } from './udp-socket.js';

export interface NodeNatDiscoveryOptions extends Omit<NatDiscoveryOptions, 'socket' | 'openSocket' | 'localAddresses' | 'resolve'> {
  /** Local address the test sockets bind to. Default: the wildcard address of the server's family. */
  localAddress?: string;
}

function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

export async function discoverNatBehavior(server: string | TransportAddress, options: NodeNatDiscoveryOptions = {}): Promise<NatBehaviorResult> {
  let target: TransportAddress;
  if (typeof server === 'string') {
    const uri = parseIceServerUri(/^(stuns?|turns?):/i.test(server) ? server : `stun:${server}`);
    target = { address: isIp(uri.host) ? uri.host : (await lookup(uri.host)).address, port: uri.port };
  } else {
    target = server;
  }
  const family = familyOf(target.address);
  const open = () => UdpSocket.bind({ address: options.localAddress, family });
  const socket = await open();
  try {
    return await discoverOver(target, { ...options, socket, openSocket: open, localAddresses: hostAddresses() });
  } finally {
    socket.close();
  }
}
