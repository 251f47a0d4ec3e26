// A bridge socket as the base of a host candidate. A bridge that binds its UDP sockets to a wildcard
// (0.0.0.0, ::) reports that wildcard as the local address, which is no candidate a peer can reach: the
// socket is then announced at the bridge's first host address of its family (the `bound` frame lists them).
// Deliberately one candidate per socket, not one per host address: a socket has one `ondatagram` to share.
import type { BridgeSocket } from '../net/bridge-client.js';
import type { DatagramHandler, DatagramSocket, UnreachableHandler } from '../net/datagram-socket.js';
import type { TransportAddress } from '../net/transport-address.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

class AnnouncedSocket implements DatagramSocket {
  constructor(
    private readonly socket: BridgeSocket,
    readonly localAddress: TransportAddress,
  ) {}

  get ondatagram(): DatagramHandler | null {
    return this.socket.ondatagram;
  }
  set ondatagram(handler: DatagramHandler | null) {
    this.socket.ondatagram = handler;
  }
  get onclose(): ((reason?: Error) => void) | null {
    return this.socket.onclose;
  }
  set onclose(handler: ((reason?: Error) => void) | null) {
    this.socket.onclose = handler;
  }
  /** The bridge's refusals of a destination reach whoever drives this socket (ICE, STUN, TURN). */
  get onunreachable(): UnreachableHandler | null {
    return this.socket.onunreachable;
  }
  set onunreachable(handler: UnreachableHandler | null | undefined) {
    this.socket.onunreachable = handler ?? null;
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    this.socket.send(bytes, to);
  }

  close(): void {
    this.socket.close();
  }
}

export function hostSocketOf(socket: BridgeSocket): DatagramSocket {
  const local = socket.localAddress;
  const host = socket.hostAddresses[0];
  if (!WILDCARDS.has(local.address) || host === undefined) return socket;
  return new AnnouncedSocket(socket, { address: host, port: local.port });
}
