// The page agent's UDP host sockets: one bridge socket per family, announced at the bridge's first host
// address of it (host-socket.ts). With gatherPolicy 'continual' they follow the bridge's own address changes
// (issue: "the bridge tells the page about its own address changes the same way"): when the bridge says a
// socket is announced elsewhere now (`host-addresses`) and its candidate's address is gone, the agent drops
// that socket's candidates — its pairs fail at once, a selected one fails over — and gathers on a new socket
// announced at the new first address, whose candidates are trickled.
import type { BridgeConnection, BridgeSocket } from '../net/bridge-client.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import type { AddressFamily } from '../net/transport-address.js';
import type { IceAgent } from '../ice/ice-agent.js';
import { hostSocketOf } from './host-socket.js';

export class BridgeHostSockets {
  /** Set once the agent exists: the sockets follow the bridge only then. */
  agent: IceAgent | undefined;
  /** Per family, the change being handled: changes are taken one at a time. */
  private readonly pending = new Map<AddressFamily, Promise<void>>();

  constructor(
    private readonly connection: BridgeConnection,
    private readonly families: readonly AddressFamily[],
    private readonly continual: boolean,
  ) {}

  /** The first sockets, one per family (IceAgentOptions.sockets). */
  open(): Promise<DatagramSocket[]> {
    return Promise.all(this.families.map((family) => this.bind(family)));
  }

  private async bind(family: AddressFamily): Promise<DatagramSocket> {
    const socket = await this.connection.bind({ family });
    const host = hostSocketOf(socket);
    // A socket bound to a specific address is announced at it, whatever the bridge's interfaces do.
    if (this.continual && host !== socket) socket.onhostaddresseschange = (addresses) => this.changed(family, socket, host, addresses);
    return host;
  }

  private changed(family: AddressFamily, socket: BridgeSocket, host: DatagramSocket, addresses: readonly string[]): void {
    if (addresses[0] === host.localAddress.address) return;
    const run = async () => {
      const agent = this.agent;
      // Read through a function: TypeScript would keep the narrowing of agent.state across the await.
      const closed = () => agent === undefined || agent.state === 'closed';
      if (!agent || closed()) return;
      socket.onhostaddresseschange = null;
      agent.removeSocket(host); // closes the bridge socket too: the agent owns it
      if (addresses.length === 0) return; // no address of this family left: nothing to gather on
      try {
        const next = await this.bind(family);
        if (closed()) return next.close();
        await agent.addSocket(next);
      } catch {
        // The bridge refused a socket (its limit) or closed: the other family's candidates carry on.
      }
    };
    const next = (this.pending.get(family) ?? Promise.resolve()).then(run);
    this.pending.set(family, next);
  }
}
