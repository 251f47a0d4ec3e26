// Shares one DatagramSocket among several users by the sender's address: an ICE host socket also carries
// its STUN server's and TURN server's traffic (RFC 8445 §5.1.1.2: srflx and relay candidates are gathered
// from the host candidate's base). Each route is a DatagramSocket of its own. Refusals (onunreachable) are
// routed like datagrams: to the routes from the refused destination, else to the rest.
import type { DatagramHandler, DatagramSocket, UnreachableHandler } from './datagram-socket.js';
import { sameTransportAddress, type TransportAddress } from './transport-address.js';

class Route implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  onunreachable: UnreachableHandler | null = null;
  closed = false;

  constructor(
    private readonly demux: SocketDemux,
    readonly peer: TransportAddress | undefined,
  ) {}

  get localAddress(): TransportAddress {
    return this.demux.socket.localAddress;
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (!this.closed) this.demux.socket.send(bytes, to);
  }

  /** Closes this route only; the shared socket stays open for the others. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.demux.remove(this);
    this.onclose?.();
  }
}

export class SocketDemux {
  private readonly routes: Route[] = [];
  private fallback: Route | undefined;

  constructor(readonly socket: DatagramSocket) {
    socket.ondatagram = (bytes, from) => {
      for (const r of this.routes) {
        if (r.peer && sameTransportAddress(r.peer, from)) {
          r.ondatagram?.(bytes, from);
          return;
        }
      }
      this.fallback?.ondatagram?.(bytes, from);
    };
    socket.onunreachable = (error) => {
      // Every route from the refused destination hears it (a STUN and a TURN route to one server both wait
      // on it); only when none is from there does the rest (ICE checks to that peer) get it.
      const routes = this.routes.filter((r) => r.peer && sameTransportAddress(r.peer, error.destination));
      if (routes.length === 0) {
        this.fallback?.onunreachable?.(error);
        return;
      }
      for (const r of routes) r.onunreachable?.(error);
    };
    socket.onclose = (reason) => {
      for (const r of [...this.routes, ...(this.fallback ? [this.fallback] : [])]) {
        r.closed = true;
        r.onclose?.(reason);
      }
    };
  }

  /** A socket that receives what `peer` sends (a STUN or TURN server). */
  routeFrom(peer: TransportAddress): DatagramSocket {
    const route = new Route(this, peer);
    this.routes.push(route);
    return route;
  }

  /** A socket that receives everything no other route claims. */
  rest(): DatagramSocket {
    this.fallback ??= new Route(this, undefined);
    return this.fallback;
  }

  remove(route: Route): void {
    const i = this.routes.indexOf(route);
    if (i >= 0) this.routes.splice(i, 1);
    if (this.fallback === route) this.fallback = undefined;
  }
}
