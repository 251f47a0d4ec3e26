// TCP listeners of one bridge session (protocol v2, `listen`): a page's passive ICE-TCP candidates (RFC 6544
// §4.1) live on the bridge host. Off unless the operator enables it (`allowListen`): a listener opens a port
// on the bridge host to anyone who can reach it. Each connection that comes in becomes a stream, open at once
// and counted against maxStreams like a connected one (session-streams.ts); a listener's `close` stops it,
// the streams it accepted go on.
import { encodeBridgeFrame, type ListenFrame } from '../net/bridge-frame.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import { sameAddresses } from './session-sockets.js';
import type { SessionStreams, StreamHost } from './session-streams.js';

interface Listener {
  readonly requestId: number;
  readonly family: AddressFamily;
  /** The client's receive window for each accepted stream. */
  readonly window: number;
  open: boolean;
  local?: TransportAddress;
  hostAddresses?: readonly string[];
}

export class SessionListeners {
  private readonly listeners = new Map<number, Listener>();

  constructor(
    private readonly host: StreamHost,
    private readonly streams: SessionStreams,
  ) {}

  has(id: number): boolean {
    return this.listeners.has(id);
  }

  get count(): number {
    return this.listeners.size;
  }

  handleListen(frame: ListenFrame): void {
    const { limits, metrics } = this.host.ctx;
    const refuse = (code: string, reason: string) => {
      metrics.streamRefusal(code);
      this.host.sendError({ type: 'error', code, reason, requestId: frame.requestId });
    };
    if (!limits.listen || limits.maxStreams === 0) return refuse('not-supported', 'this bridge does not listen for TCP connections (its operator has not enabled allowListen)');
    if (this.listeners.size >= limits.maxListeners) return refuse('listener-limit', `at most ${limits.maxListeners} listeners per session`);
    const range = limits.listenPortRange;
    if (frame.port !== 0 && (range ? frame.port < range[0] || frame.port > range[1] : frame.port < 1024)) {
      return refuse('listen-port-not-allowed', `port ${frame.port} is outside ${range ? `${range[0]}..${range[1]}` : '1024..65535'}`);
    }
    const id = this.host.allocateId();
    if (id === undefined) return refuse('listener-limit', 'no socket, stream or listener id left in this session');
    this.listeners.set(id, { requestId: frame.requestId, family: frame.family, window: frame.window, open: false });
    this.host.act({ type: 'listen', listenerId: id, family: frame.family, port: frame.port, portRange: range });
  }

  /** The driver listens: the client learns where (with the host's addresses when `local` is a wildcard). */
  handleListening(id: number, local: TransportAddress): void {
    const l = this.listeners.get(id);
    if (!l || l.open) return;
    l.open = true;
    const m = this.host.ctx.metrics;
    m.listenersOpen++;
    m.listenersTotal++;
    l.local = local;
    const hostAddresses = (l.hostAddresses = this.host.ctx.hostAddresses(l.family, local).slice(0, 255));
    this.host.sendFrame(encodeBridgeFrame({ type: 'listening', requestId: l.requestId, listenerId: id, local, hostAddresses }));
  }

  /** The bridge's host addresses changed: each listener whose announcement differs now is told (`host-addresses`). */
  refreshHostAddresses(): void {
    for (const [id, l] of this.listeners) {
      if (!l.open || !l.local) continue;
      const now = this.host.ctx.hostAddresses(l.family, l.local).slice(0, 255);
      if (sameAddresses(now, l.hostAddresses ?? [])) continue;
      l.hostAddresses = now;
      this.host.sendFrame(encodeBridgeFrame({ type: 'host-addresses', socketId: id, hostAddresses: now }));
    }
  }

  handleListenFailed(id: number, detail: string | undefined): void {
    const l = this.listeners.get(id);
    if (!l || l.open) return;
    this.listeners.delete(id);
    this.host.ctx.metrics.streamRefusal('listen-failed');
    this.host.sendError({ type: 'error', code: 'listen-failed', reason: `cannot listen for TCP${detail ? `: ${detail}` : ''}`, requestId: l.requestId });
  }

  /** A connection came in: its stream id, or undefined when the driver must close it. */
  handleAccepted(id: number, local: TransportAddress, remote: TransportAddress): number | undefined {
    const l = this.listeners.get(id);
    if (!l?.open) return undefined;
    return this.streams.handleAccepted(id, l.window, local, remote);
  }

  /** The listener died under us (by the OS): the client is told it is gone. */
  handleListenerClosed(id: number, error: string | undefined): void {
    if (!this.listeners.get(id)?.open) return;
    this.forget(id);
    if (error !== undefined) this.host.sendError({ type: 'error', code: 'listener-error', reason: error, socketId: id });
    this.host.sendFrame(encodeBridgeFrame({ type: 'close', socketId: id }));
  }

  /** The client closed the listener: true if `id` was one. */
  handleCloseFrame(id: number): boolean {
    if (!this.listeners.has(id)) return false;
    this.forget(id);
    this.host.act({ type: 'close-listener', listenerId: id });
    return true;
  }

  closeAll(): void {
    for (const id of [...this.listeners.keys()]) this.handleCloseFrame(id);
  }

  private forget(id: number): void {
    const l = this.listeners.get(id);
    if (!l) return;
    this.listeners.delete(id);
    if (l.open) this.host.ctx.metrics.listenersOpen--;
  }
}
