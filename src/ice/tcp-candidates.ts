// Host TCP candidates (RFC 6544 §5.1) for the sockets a runtime opened: an active one says port 9, the
// discard port (§4.5: it connects from a fresh port), a passive one its listening port; §4.2 priorities, a
// host's addresses told apart by other-pref, unique per address over the agent's life (LocalPreferences
// in 13 bits: 8191 for the first address, RFC 8421 order), so an address gathered later ties with none.
import type { DatagramSocket } from '../net/datagram-socket.js';
import { computeFoundation, computeTcpPriority, type IceTcpType } from './candidate.js';
import type { GatheredCandidate } from './gatherer.js';
import { LocalPreferences } from './local-preference.js';

export class TcpHostCandidates {
  private readonly otherPreferences = new LocalPreferences({ max: 8191 });
  /** The address each socket's candidate holds an other-pref for. */
  private readonly held = new Map<DatagramSocket, string>();

  constructor(private readonly component = 1) {}

  /** The candidates of `opened`, in its order. */
  gather(opened: readonly { socket: DatagramSocket; tcpType: IceTcpType }[]): GatheredCandidate[] {
    const otherPreferences = this.otherPreferences.take(opened.map((o) => ({ address: o.socket.localAddress.address })));
    return opened.map(({ socket, tcpType }, i) => {
      const address = socket.localAddress.address;
      const port = tcpType === 'active' ? 9 : socket.localAddress.port;
      this.held.set(socket, address);
      return {
        socket,
        host: socket,
        base: { address, port },
        candidate: {
          foundation: computeFoundation('host', address, 'tcp'),
          component: this.component,
          protocol: 'tcp',
          priority: computeTcpPriority('host', tcpType, otherPreferences[i], this.component),
          address,
          port,
          type: 'host',
          tcpType,
          extensions: [],
        },
      };
    });
  }

  /** `socket`'s candidate is gone: its other-pref is free once no other candidate of its address holds it. */
  forget(socket: DatagramSocket): void {
    const address = this.held.get(socket);
    if (address === undefined) return;
    this.held.delete(socket);
    this.otherPreferences.release({ address });
  }
}
