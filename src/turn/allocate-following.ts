// A TURN allocation that follows the server's answers from one base (a socket or a connection) to the next:
// a 300 Try Alternate (RFC 8489 §10) on a new base to the alternate server, up to `maxRedirects`, and a 437
// Allocation Mismatch (RFC 8656 §7.4) again from a new base, `maxAttempts` in all. Because each base talks
// to one server, it may be connected to it, so a server that is not there refuses at once instead of after
// the timeout. Node's allocateTurn and the Worker's (through the bridge) share it.
import type { DatagramSocket } from '../net/datagram-socket.js';
import type { IceServerTransport } from '../net/ice-server-uri.js';
import { formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { TurnError, TurnErrorCode } from './errors.js';
import { TurnRelaySocket, type TurnRelaySocketOptions } from './relay-socket.js';

export interface AllocateFollowingOptions extends Omit<TurnRelaySocketOptions, 'server' | 'transport' | 'closeBase' | 'followAlternate'> {
  /** Attempts after 437 Allocation Mismatch, each from a new base (RFC 8656 §7.4: three in all). Default 3. */
  maxAttempts?: number;
}

/**
 * Allocates on `server` through bases `openBase` makes, one per server tried (an alternate is `server` with
 * its address changed, the rest such as the TLS name kept); the relay socket owns its base.
 */
export async function allocateFollowing<S extends { address: TransportAddress; transport: IceServerTransport }>(
  server: S,
  options: AllocateFollowingOptions,
  openBase: (server: S) => Promise<DatagramSocket>,
): Promise<TurnRelaySocket> {
  const maxAttempts = options.maxAttempts ?? 3;
  const maxRedirects = options.maxRedirects ?? 3;
  const visited = new Set([formatTransportAddress(server.address)]);
  let mismatches = 0;
  for (;;) {
    const base = await openBase(server);
    try {
      // A 300 is followed here, on a new base: the base talks to one server.
      return await TurnRelaySocket.allocate(base, { ...options, server: server.address, transport: server.transport, closeBase: true, followAlternate: false });
    } catch (err) {
      base.close();
      if (!(err instanceof TurnError)) throw err;
      if (err.code === TurnErrorCode.AllocationMismatch && err.kind === 'response' && ++mismatches < maxAttempts) continue;
      const to = err.alternateServer;
      if (err.code === TurnErrorCode.TryAlternate && to && err.kind === 'response') {
        const key = formatTransportAddress(to);
        if (visited.size <= maxRedirects && !visited.has(key)) {
          visited.add(key);
          // RFC 8489 §10: without ALTERNATE-DOMAIN the certificate is checked against the original name.
          server = { ...server, address: to };
          continue;
        }
      }
      throw err;
    }
  }
}
