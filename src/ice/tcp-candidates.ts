// Host TCP candidates (RFC 6544 §5.1) for the sockets a runtime opened: an active one says port 9, the
// discard port (§4.5: it connects from a fresh port), a passive one its listening port; §4.2 priorities, a
// host's addresses told apart by other-pref (8191 for the first, one less for each further address).
import type { DatagramSocket } from '../net/datagram-socket.js';
import { computeFoundation, computeTcpPriority, type IceTcpType } from './candidate.js';
import type { GatheredCandidate } from './gatherer.js';

export function tcpHostCandidates(opened: readonly { socket: DatagramSocket; tcpType: IceTcpType }[], component = 1): GatheredCandidate[] {
  const addresses = [...new Set(opened.map((o) => o.socket.localAddress.address))];
  return opened.map(({ socket, tcpType }) => {
    const address = socket.localAddress.address;
    const port = tcpType === 'active' ? 9 : socket.localAddress.port;
    return {
      socket,
      host: socket,
      base: { address, port },
      candidate: {
        foundation: computeFoundation('host', address, 'tcp'),
        component,
        protocol: 'tcp',
        priority: computeTcpPriority('host', tcpType, Math.max(0, 8191 - addresses.indexOf(address)), component),
        address,
        port,
        type: 'host',
        tcpType,
        extensions: [],
      },
    };
  });
}
