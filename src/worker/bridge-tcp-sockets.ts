// The page's TCP candidates (RFC 6544) on its bridge connection: an active one per family, a bridge stream
// per remote it sends to; and a passive one per family when the bridge listens for pages (its operator
// enabled `allowListen`), a bridge listener whose accepted streams carry the checks that come in. Their
// address is the bridge host's, as the bridge announces it. Relayed ones (RFC 6062) over bridge streams too.
import { BridgeError, type BridgeConnection, type BridgeSocket } from '../net/bridge-client.js';
import type { IceAgent } from '../ice/ice-agent.js';
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

type TcpSocket = { socket: DatagramSocket; tcpType: 'active' | 'passive' };

/**
 * The TCP sockets of an agent on `connection`, for IceAgentOptions.tcpSockets. With gatherPolicy
 * 'continual' they follow the bridge's own address changes as the UDP host sockets do
 * (bridge-host-sockets.ts): when the bridge announces the family elsewhere, that family's active and passive
 * candidates are dropped and new ones at the new first address are added. The notices come from the
 * passive candidate's listener, or, where the bridge does not listen for pages, from the UDP socket that
 * showed the bridge's address, kept open for that (one bridge socket per family).
 */
export class BridgeTcpSockets {
  /** Set once the agent exists: the sockets follow the bridge only then. */
  agent: IceAgent | undefined;
  /** Per family, the change being handled: changes are taken one at a time. */
  private readonly pending = new Map<AddressFamily, Promise<void>>();
  private readonly current = new Map<AddressFamily, { address: string; sockets: TcpSocket[] }>();

  constructor(
    private readonly connection: BridgeConnection,
    private readonly families: readonly AddressFamily[],
    private readonly continual: boolean,
  ) {}

  /** The first sockets: an active one per family, and a passive one where the bridge listens. */
  async open(): Promise<TcpSocket[]> {
    return (await Promise.all(this.families.map((family) => this.openFamily(family)))).flat();
  }

  private async openFamily(family: AddressFamily): Promise<TcpSocket[]> {
    const passive = this.connection.listenSupported ? await this.passiveSocket(family) : undefined;
    let address = passive?.localAddress.address;
    let probe: BridgeSocket | undefined;
    if (address === undefined) {
      // The bridge host's address as a UDP socket there shows it (bound to be read; kept to hear of changes).
      probe = await this.connection.bind({ family });
      address = announced(probe.localAddress, probe.hostAddresses);
      if (this.continual) probe.onhostaddresseschange = (addresses) => this.changed(family, addresses);
      else {
        probe.close();
        probe = undefined;
      }
    }
    // Its probe goes with the active candidate (closed with the agent, or when the family moves).
    const active = new ActiveStreamSocket(address, (to) => this.connection.connect({ address: to.address, port: to.port }), {}, () => probe?.close());
    const sockets: TcpSocket[] = [{ socket: active, tcpType: 'active' }, ...(passive ? [{ socket: passive, tcpType: 'passive' as const }] : [])];
    this.current.set(family, { address, sockets });
    return sockets;
  }

  private async passiveSocket(family: AddressFamily): Promise<PassiveStreamSocket | undefined> {
    let listener;
    try {
      listener = await this.connection.listen({ family });
    } catch (err) {
      // Over the bridge's listener limit, or a port it could not take: the active candidate still goes.
      if (err instanceof BridgeError) return undefined;
      throw err;
    }
    const local = { address: announced(listener.localAddress, listener.hostAddresses), port: listener.localAddress.port };
    const socket = new PassiveStreamSocket(local, () => listener.close());
    listener.onconnection = (stream) => socket.accept(stream, stream.remoteAddress);
    listener.onclose = () => socket.close();
    if (this.continual && WILDCARDS.has(listener.localAddress.address)) listener.onhostaddresseschange = (addresses) => this.changed(family, addresses);
    return socket;
  }

  private changed(family: AddressFamily, addresses: readonly string[]): void {
    const run = async () => {
      const agent = this.agent;
      const now = this.current.get(family);
      // Read through a function: TypeScript would keep the narrowing of agent.state across the await.
      const closed = () => agent === undefined || agent.state === 'closed';
      if (!agent || closed() || !now || addresses[0] === now.address) return;
      this.current.delete(family);
      for (const { socket } of now.sockets) agent.removeSocket(socket); // closes them (and the probe): the agent owns them
      if (addresses.length === 0) return; // no address of this family left
      try {
        const next = await this.openFamily(family);
        if (closed()) return next.forEach(({ socket }) => socket.close());
        for (const { socket, tcpType } of next) await agent.addSocket(socket, tcpType);
      } catch {
        // The bridge refused a socket or a listener (its limits) or closed: the other candidates carry on.
      }
    };
    const next = (this.pending.get(family) ?? Promise.resolve()).then(run);
    this.pending.set(family, next);
  }
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
