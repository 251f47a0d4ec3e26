// The UDP sockets of one bridge session: binds within the limits, datagrams out through the destination
// policy and the rate limits, datagrams in under the carrier's queue bound. A datagram that cannot go is
// dropped, counted, and named to a v2 client in an error frame so it fails what waits for it at once.
import { encodeBridgeFrame, encodeDataFrame, type BindFrame, type DataFrame, type ErrorFrame } from '../net/bridge-frame.js';
import { familyOf, sameTransportAddress, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import type { DropReason, RefusalReason } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import type { StreamHost } from './session-streams.js';

/** What a session counts for its closing log line. */
export interface SessionStats {
  sockets: number;
  datagramsOut: number;
  datagramsIn: number;
  bytesOut: number;
  bytesIn: number;
  dropped: number;
  streams: number;
}

/** Whether two announcements list the same addresses in the same order (a `host-addresses` is due otherwise). */
export function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface SocketHost extends StreamHost {
  /** The session's protocol version: v2 clients learn a refused datagram's destination. */
  readonly version: number;
  readonly stats: SessionStats;
}

interface OpenSocket {
  readonly family: AddressFamily;
  /** The one peer of a connected socket (`bind` with `connect`). */
  readonly peer?: TransportAddress;
  readonly requestId: number;
  bound: boolean;
  local?: TransportAddress;
  /** The host addresses `bound` (or a later `host-addresses`) announced. */
  hostAddresses?: readonly string[];
  /** Those and the bound address: the only addresses a `mdns-register` may name. */
  announced?: readonly string[];
}

export class SessionSockets {
  private readonly sockets = new Map<number, OpenSocket>();
  private readonly packets: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(
    private readonly host: SocketHost,
    now: number,
  ) {
    const l = host.ctx.limits;
    this.packets = new TokenBucket(l.packetsPerSecond, l.packetsPerSecond, now);
    // Burst of one second, but never less than one largest datagram, which could otherwise never pass.
    this.bytes = new TokenBucket(l.bytesPerSecond, Math.max(l.bytesPerSecond, l.maxPayload), now);
  }

  get count(): number {
    return this.sockets.size;
  }

  has(id: number): boolean {
    return this.sockets.has(id);
  }

  /** Whether `bound` announced `address` for one of this session's sockets. */
  owns(address: string): boolean {
    for (const s of this.sockets.values()) if (s.announced?.includes(address) === true) return true;
    return false;
  }

  handleBind(frame: BindFrame): void {
    const l = this.host.ctx.limits;
    if (this.sockets.size >= l.maxSockets) return this.refuse(frame.requestId, 'socket-limit', `at most ${l.maxSockets} sockets per session`);
    if (frame.port !== 0 && (frame.port < l.bindPortRange[0] || frame.port > l.bindPortRange[1])) {
      return this.refuse(frame.requestId, 'bind-port-not-allowed', `port ${frame.port} is outside ${l.bindPortRange[0]}..${l.bindPortRange[1]}`);
    }
    const peer = frame.connect;
    if (peer) {
      // A connected socket is a v2 feature the hello offered; its one peer is judged as every destination is.
      if (this.host.version < 2 || l.connect !== true) return this.refuse(frame.requestId, 'bind-failed', 'this bridge binds no connected sockets');
      const verdict = this.host.ctx.policy.check(peer.address, peer.port);
      if (verdict !== 'allowed') return this.refuse(frame.requestId, verdict, `destination ${peer.address} port ${peer.port} is not allowed`);
      if (familyOf(peer.address) !== frame.family) return this.refuse(frame.requestId, 'bind-failed', `an ${frame.family} socket cannot reach ${peer.address}`);
    }
    const socketId = this.host.allocateId();
    if (socketId === undefined) return this.refuse(frame.requestId, 'socket-limit', 'no socket id left in this session');
    const connect = peer && { address: peer.address, port: peer.port };
    this.sockets.set(socketId, { family: frame.family, requestId: frame.requestId, bound: false, ...(connect ? { peer: connect } : {}) });
    this.host.act({ type: 'bind', socketId, family: frame.family, port: frame.port, connect });
  }

  /**
   * The connected peer of socket `socketId` refused (ICMP port unreachable): the client hears of it in an
   * error frame naming that destination, so what waits for an answer from there fails at once.
   */
  handleUnreachable(socketId: number, destination: TransportAddress): void {
    if (!this.sockets.get(socketId)?.bound || this.host.version < 2) return;
    this.host.sendError({
      type: 'error',
      code: 'port-unreachable',
      reason: `nothing listens at ${destination.address}:${destination.port} (ICMP port unreachable)`,
      socketId,
      destination: { address: destination.address, port: destination.port },
    });
  }

  handleBound(socketId: number, local: TransportAddress): void {
    const open = this.sockets.get(socketId);
    if (!open || open.bound) return;
    open.bound = true;
    const m = this.host.ctx.metrics;
    m.socketsOpen++;
    m.socketsTotal++;
    this.host.stats.sockets++;
    const hostAddresses = this.announce(open, local);
    this.host.sendFrame(encodeBridgeFrame({ type: 'bound', requestId: open.requestId, socketId, local, hostAddresses }));
  }

  /** The bridge's host addresses changed: each socket whose announcement differs now is told (`host-addresses`). */
  refreshHostAddresses(): void {
    for (const [socketId, open] of this.sockets) {
      if (!open.bound || !open.local) continue;
      const before = open.hostAddresses ?? [];
      const now = this.announce(open, open.local);
      if (sameAddresses(now, before)) continue;
      this.host.sendFrame(encodeBridgeFrame({ type: 'host-addresses', socketId, hostAddresses: now }));
    }
  }

  private announce(open: OpenSocket, local: TransportAddress): string[] {
    const hostAddresses = this.host.ctx.hostAddresses(open.family, local).slice(0, 255);
    open.local = local;
    open.hostAddresses = hostAddresses;
    open.announced = [local.address, ...hostAddresses].filter((a) => a !== '0.0.0.0' && a !== '::');
    return hostAddresses;
  }

  handleBindFailed(socketId: number, detail: string | undefined): void {
    const open = this.sockets.get(socketId);
    if (!open || open.bound) return;
    this.sockets.delete(socketId);
    this.refuse(open.requestId, 'bind-failed', `cannot bind a UDP socket${detail ? `: ${detail}` : ''}`);
  }

  /** Network → client; false when it was not for a bound socket or was dropped. */
  handleDatagram(socketId: number, payload: Uint8Array, from: TransportAddress): boolean {
    if (!this.sockets.get(socketId)?.bound) return false;
    const { ctx, stats } = this.host;
    // Back-pressure: a client that does not read must not make the bridge buffer without bound.
    if (ctx.carrierBacklog() > ctx.limits.maxBufferedBytes) {
      this.dropped('backpressure');
      return false;
    }
    this.host.sendFrame(encodeDataFrame(socketId, from, payload));
    ctx.metrics.datagramsIn++;
    ctx.metrics.bytesIn += payload.length;
    stats.datagramsIn++;
    stats.bytesIn += payload.length;
    return true;
  }

  /** Client → network, `now` being when the frame arrived (what the rate limits are charged at). */
  forward(frame: DataFrame, now: number): void {
    const { socketId, peer, payload } = frame;
    const open = this.sockets.get(socketId);
    const { ctx, stats } = this.host;
    const l = ctx.limits;
    if (!open?.bound) return this.dropOut('unknown-socket', socketId, 'no such socket');
    if (payload.length > l.maxPayload) return this.dropOut('payload-too-large', socketId, `payload of ${payload.length} bytes, limit ${l.maxPayload}`);
    const verdict = ctx.policy.check(peer.address, peer.port);
    if (verdict !== 'allowed') return this.dropOut(verdict, socketId, `destination ${peer.address} port ${peer.port} is not allowed`, peer);
    if (familyOf(peer.address) !== open.family) return this.dropOut('family-mismatch', socketId, `an ${open.family} socket cannot reach ${peer.address}`, peer);
    if (open.peer && !sameTransportAddress(peer, open.peer)) return this.dropOut('destination-denied', socketId, `this socket is connected to ${open.peer.address} port ${open.peer.port}`, peer);
    if (!this.packets.take(1, now) || !this.bytes.take(payload.length, now)) {
      return this.dropOut('rate-limited', socketId, 'over the packets or bytes per second of this session', peer);
    }
    this.host.act({ type: 'send', socketId, to: peer, payload });
    ctx.metrics.datagramsOut++;
    ctx.metrics.bytesOut += payload.length;
    stats.datagramsOut++;
    stats.bytesOut += payload.length;
  }

  /** A datagram dropped (here, or by the driver): counted for the bridge and the session. */
  dropped(reason: DropReason): void {
    this.host.ctx.metrics.drop(reason);
    this.host.stats.dropped++;
  }

  /** A socket closed under us (by the OS): the client is told it is gone. */
  handleSocketClosed(socketId: number): void {
    if (!this.sockets.get(socketId)?.bound) return;
    this.close(socketId);
    this.host.sendFrame(encodeBridgeFrame({ type: 'close', socketId }));
  }

  /** Closes socket `id` (the client's `close`); false if there is none. */
  close(id: number): boolean {
    const open = this.sockets.get(id);
    if (!open) return false;
    this.sockets.delete(id);
    if (open.bound) this.host.ctx.metrics.socketsOpen--;
    this.host.act({ type: 'close-socket', socketId: id });
    return true;
  }

  closeAll(): void {
    for (const id of [...this.sockets.keys()]) this.close(id);
  }

  /** A datagram that cannot go; v2 clients learn its destination, so they fail what waits for it at once. */
  private dropOut(reason: DropReason, socketId: number, text: string, destination?: TransportAddress): void {
    this.dropped(reason);
    const frame: ErrorFrame = { type: 'error', code: reason, reason: text, socketId };
    if (this.host.version >= 2 && destination) frame.destination = { address: destination.address, port: destination.port };
    this.host.sendError(frame);
  }

  private refuse(requestId: number, reason: RefusalReason, text: string): void {
    this.host.ctx.metrics.refuse(reason);
    this.host.sendError({ type: 'error', code: reason, reason: text, requestId });
  }
}
