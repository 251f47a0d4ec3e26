// Relay sockets of the Node TURN server: UDP sockets bound on the relay address of a family at a random
// port of the configured range (RFC 8656 §7.2: SHOULD allocate from 49152–65535; RECOMMENDED randomized,
// RFC 6056) — an even one for EVEN-PORT, and for EVEN-PORT R=1 an even port N together with N+1 on the
// same address (§7.2: "a pair of port numbers N and N+1 on the same IP address, where N is even").
import type { DatagramSocket } from '../net/datagram-socket.js';
import type { AddressFamily } from '../net/transport-address.js';
import type { RelaySocketPair, RelaySocketRequest } from '../server/turn-server-runner.js';
import { UdpSocket } from './udp-socket.js';

export interface RelayPortOptions {
  /** The address relay sockets of each family bind on. */
  readonly addresses: ReadonlyMap<AddressFamily, string>;
  readonly range: { readonly min: number; readonly max: number };
  /** Ports (or pairs) tried before giving up. */
  readonly attempts: number;
}

function randomPort(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** An even port of [min, max], or undefined when the range holds none. */
function randomEvenPort(min: number, max: number, pair: boolean): number | undefined {
  const first = min % 2 === 0 ? min : min + 1;
  const last = pair ? max - 1 : max; // N+1 must fit too
  if (first > last) return undefined;
  return first + 2 * Math.floor(Math.random() * (Math.floor((last - first) / 2) + 1));
}

/** openRelaySocket for runTurnServer: binds what the engine asks for, retrying other ports when one is taken. */
export function relaySocketOpener(options: RelayPortOptions): (request: RelaySocketRequest) => Promise<DatagramSocket | RelaySocketPair> {
  const { addresses, range, attempts } = options;
  return async (request) => {
    const address = addresses.get(request.family);
    if (address === undefined) throw new Error(`no relay address for ${request.family}`);
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = request.evenPort || request.reserveNext ? randomEvenPort(range.min, range.max, request.reserveNext) : randomPort(range.min, range.max);
      if (port === undefined) throw new Error(`relay port range ${range.min}-${range.max} has no even port${request.reserveNext ? ' pair' : ''}`);
      let socket: UdpSocket;
      try {
        socket = await UdpSocket.bind({ address, port });
      } catch (err) {
        lastError = err;
        continue;
      }
      if (!request.reserveNext) return socket;
      try {
        const reserved = await UdpSocket.bind({ address, port: port + 1 });
        return { socket, reserved };
      } catch (err) {
        // N+1 is taken: give N back and try another pair.
        lastError = err;
        socket.close();
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(`no free relay port${request.reserveNext ? ' pair' : ''} on ${address}: ${reason}`);
  };
}
