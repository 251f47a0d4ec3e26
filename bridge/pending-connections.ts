// What may arrive before authentication: TCP connections that have not (yet) become WebSocket sessions.
// The token is checked at the upgrade, so until then a connection costs the bridge a socket and a parser for
// nothing; these caps keep a flood of half-open connections from starving real sessions. A connection over
// a cap is destroyed the moment it is accepted (no bytes are read from it). Node's headersTimeout and
// requestTimeout (set by the bridge on its own server) end those that never finish their request.
import type { Socket } from 'node:net';

export interface PendingConnectionLimits {
  /** Not-yet-upgraded connections at once, from everyone. */
  maxPendingConnections: number;
  /** Not-yet-upgraded connections at once from one IP address. */
  maxPendingConnectionsPerIp: number;
}

export class PendingConnections {
  private readonly sockets = new Map<Socket, string>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly limits: PendingConnectionLimits,
    /** Told about every connection refused, with which cap it hit. */
    private readonly refused: (cap: 'total' | 'per-ip') => void,
  ) {}

  get size(): number {
    return this.sockets.size;
  }

  /** A new TCP connection: kept and counted until it upgrades or closes, or destroyed now if over a cap. */
  readonly admit = (socket: Socket): void => {
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.perIp.get(ip) ?? 0;
    const cap = this.sockets.size >= this.limits.maxPendingConnections ? 'total' : fromIp >= this.limits.maxPendingConnectionsPerIp ? 'per-ip' : undefined;
    if (cap !== undefined) {
      this.refused(cap);
      socket.destroy();
      return;
    }
    this.sockets.set(socket, ip);
    this.perIp.set(ip, fromIp + 1);
    socket.once('close', () => this.release(socket));
  };

  /** The connection upgraded (a session now, or a refused one closing): no longer pending. */
  release(socket: Socket): void {
    const ip = this.sockets.get(socket);
    if (ip === undefined) return;
    this.sockets.delete(socket);
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, left);
  }
}
