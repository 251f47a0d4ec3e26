// The page's TCP candidates (RFC 6544) on its bridge connection: an active one per family, a bridge stream
// per remote it sends to; and a passive one per family when the bridge listens for pages (its operator
// enabled `allowListen`), a bridge listener whose accepted streams carry the checks that come in. Their
// address is the bridge host's, as the bridge announces it. Relayed ones (RFC 6062) over bridge streams too.
import { BridgeError, type BridgeConnection } from '../net/bridge-client.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { ActiveStreamSocket, PassiveStreamSocket } from '../net/stream-candidate-socket.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { OpenTcpRelay } from '../ice/tcp-relays.js';
import { openStreamTcpAllocation } from '../turn/tcp-allocation-streams.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** A wildcard the bridge bound is announced at its first host address of the family (as host-socket.ts does). */
function announced(local: TransportAddress, hostAddresses: readonly string[]): string {
  return WILDCARDS.has(local.address) && hostAddresses[0] !== undefined ? hostAddresses[0] : local.address;
}

async function passiveSocket(connection: BridgeConnection, family: AddressFamily): Promise<PassiveStreamSocket | undefined> {
  let listener;
  try {
    listener = await connection.listen({ family });
  } catch (err) {
    // Over the bridge's listener limit, or a port it could not take: the active candidate still goes.
    if (err instanceof BridgeError) return undefined;
    throw err;
  }
  const local = { address: announced(listener.localAddress, listener.hostAddresses), port: listener.localAddress.port };
  const socket = new PassiveStreamSocket(local, () => listener.close());
  listener.onconnection = (stream) => socket.accept(stream, stream.remoteAddress);
  listener.onclose = () => socket.close();
  return socket;
}

/** The TCP sockets of an agent on `connection`, for IceAgentOptions.tcpSockets. */
export async function bridgeTcpSockets(connection: BridgeConnection, families: readonly AddressFamily[]): Promise<{ socket: DatagramSocket; tcpType: 'active' | 'passive' }[]> {
  const perFamily = await Promise.all(
    families.map(async (family) => {
      const passive = connection.listenSupported ? await passiveSocket(connection, family) : undefined;
      let address = passive?.localAddress.address;
      if (address === undefined) {
        // The bridge host's address as a UDP socket there shows it (bound to be read, then closed).
        const probe = await connection.bind({ family });
        address = announced(probe.localAddress, probe.hostAddresses);
        probe.close();
      }
      const active = new ActiveStreamSocket(address, (to) => connection.connect({ address: to.address, port: to.port }));
      return passive ? [{ socket: active, tcpType: 'active' as const }, { socket: passive, tcpType: 'passive' as const }] : [{ socket: active, tcpType: 'active' as const }];
    }),
  );
  return perFamily.flat();
}

/** RFC 6062 TCP allocations (relayed TCP candidates) whose control and data connections are bridge streams. */
export function bridgeTcpRelay(connection: BridgeConnection): OpenTcpRelay {
  return (server, transport, serverName, { username, credential }) =>
    openStreamTcpAllocation({
      server,
      username,
      credential,
      ...(server.address.includes(':') ? { family: 'IPv6' as const } : {}),
      connect: () => connection.connect({ address: server.address, port: server.port, tls: transport === 'tls', serverName: transport === 'tls' ? serverName : '' }),
    });
}
