// One WebSocket = one session: decodes the client's frames, opens and closes its UDP sockets, forwards
// datagrams both ways under the session's limits. Nothing a client sends may throw out of here.
import type { RawData, WebSocket } from 'ws';
import {
  BRIDGE_PROTOCOL_VERSION,
  BridgeFrameError,
  DATA_HEADER_MAX,
  decodeBridgeFrame,
  encodeBridgeFrame,
  encodeDataFrame,
  type BindFrame,
  type DataFrame,
  type ErrorFrame,
} from '../src/net/bridge-frame.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../src/net/transport-address.js';
import { UdpSocket } from '../src/node/udp-socket.js';
import { BridgeCloseCode } from './close-codes.js';
import type { BridgeMetrics, DropReason, RefusalReason } from './metrics.js';
import type { ResolvedBridgeOptions } from './options.js';
import { TokenBucket } from './rate-limit.js';

/** How long a closed WebSocket may take to finish the close handshake before its TCP connection is cut. */
export const CLOSE_HANDSHAKE_GRACE_MS = 2000;

export interface SessionContext {
  readonly options: ResolvedBridgeOptions;
  readonly metrics: BridgeMetrics;
  /** Addresses announced in `bound` for a socket of this family bound to this local address. */
  hostAddresses(family: AddressFamily, bound: TransportAddress): string[];
  /** Called once when the session has closed and released its sockets. */
  onClosed(session: BridgeSession): void;
}

export interface SessionInfo {
  user: string | undefined;
  remote: string | undefined;
  origin: string | undefined;
}

/** Closes a WebSocket with `code` and cuts the connection if the peer does not answer within the grace time. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED) return;
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
}

interface OpenSocket {
  readonly socket: UdpSocket;
  readonly family: AddressFamily;
}

export class BridgeSession {
  private readonly sockets = new Map<number, OpenSocket>();
  private pendingBinds = 0;
  private nextSocketId = 1;
  private malformed = 0;
  private closed = false;
  private lastActivity = performance.now();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly opened = Date.now();
  private readonly packets: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly errorFrames: TokenBucket;
  private readonly maxFrame: number;
  private readonly stats = { sockets: 0, datagramsOut: 0, datagramsIn: 0, bytesOut: 0, bytesIn: 0, dropped: 0 };

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly ctx: SessionContext,
    readonly info: SessionInfo,
  ) {
    const o = ctx.options;
    const now = performance.now();
    this.packets = new TokenBucket(o.packetsPerSecond, o.packetsPerSecond, now);
    // Burst of one second, but never less than one largest datagram, which could otherwise never pass.
    this.bytes = new TokenBucket(o.bytesPerSecond, Math.max(o.bytesPerSecond, o.maxPayload), now);
    this.errorFrames = new TokenBucket(o.errorFramesPerSecond, o.errorFramesPerSecond, now);
    this.maxFrame = o.maxPayload + DATA_HEADER_MAX;
    ctx.metrics.sessionsOpen++;
    ctx.metrics.sessionsTotal++;
    this.log('session-open', { user: info.user, remote: info.remote, origin: info.origin });

    ws.on('message', (data, isBinary) => this.guard(() => this.onMessage(data, isBinary)));
    ws.on('close', (code, reason) => this.finish(code, reason.toString('utf8')));
    // ws reports protocol errors (e.g. a message over maxMessageBytes) here and closes by itself.
    ws.on('error', () => {});
    this.send(
      encodeBridgeFrame({
        type: 'hello',
        version: BRIDGE_PROTOCOL_VERSION,
        limits: {
          maxSockets: o.maxSockets,
          maxPayload: o.maxPayload,
          packetsPerSecond: o.packetsPerSecond,
          bytesPerSecond: o.bytesPerSecond,
          idleTimeoutMs: o.idleTimeoutMs,
        },
      }),
    );
    this.armIdleTimer(o.idleTimeoutMs);
  }

  get socketCount(): number {
    return this.sockets.size;
  }

  /** Ends the session: its sockets close at once, the WebSocket with `code`. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    closeWebSocket(this.ws, code, reason);
    this.finish(code, reason);
  }

  // ---- client → bridge ----------------------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    this.lastActivity = performance.now();
    if (!isBinary) {
      this.onMalformed('text messages are not bridge frames');
      return;
    }
    const bytes = toBytes(data);
    if (bytes.length > this.maxFrame) {
      this.close(BridgeCloseCode.frameTooLarge, `frame of ${bytes.length} bytes, limit ${this.maxFrame}`);
      return;
    }
    let frame;
    try {
      frame = decodeBridgeFrame(bytes);
    } catch (err) {
      if (!(err instanceof BridgeFrameError)) throw err;
      this.onMalformed(err.message);
      return;
    }
    switch (frame.type) {
      case 'data':
        this.forward(frame);
        return;
      case 'bind':
        this.bind(frame);
        return;
      case 'close':
        if (!this.closeSocket(frame.socketId)) this.sendError({ type: 'error', code: 'unknown-socket', reason: 'no such socket', socketId: frame.socketId });
        return;
      default:
        this.onMalformed(`a client does not send ${frame.type} frames`);
    }
  }

  private onMalformed(reason: string): void {
    this.ctx.metrics.malformedFrames++;
    this.malformed++;
    if (this.malformed > this.ctx.options.maxMalformedFrames) {
      this.close(BridgeCloseCode.malformedFrames, `more than ${this.ctx.options.maxMalformedFrames} malformed frames`);
      return;
    }
    this.sendError({ type: 'error', code: 'malformed-frame', reason });
  }

  private forward(frame: DataFrame): void {
    const { socketId, peer, payload } = frame;
    const open = this.sockets.get(socketId);
    if (!open) return this.dropOut('unknown-socket', socketId, 'no such socket');
    if (payload.length > this.ctx.options.maxPayload) {
      return this.dropOut('payload-too-large', socketId, `payload of ${payload.length} bytes, limit ${this.ctx.options.maxPayload}`);
    }
    const verdict = this.ctx.options.policy.check(peer.address, peer.port);
    if (verdict !== 'allowed') return this.dropOut(verdict, socketId, `destination ${peer.address} port ${peer.port} is not allowed`);
    if (familyOf(peer.address) !== open.family) return this.dropOut('family-mismatch', socketId, `an ${open.family} socket cannot reach ${peer.address}`);
    const now = performance.now();
    if (!this.packets.take(1, now) || !this.bytes.take(payload.length, now)) {
      return this.dropOut('rate-limited', socketId, 'over the packets or bytes per second of this session');
    }
    open.socket.send(payload, peer);
    const m = this.ctx.metrics;
    m.datagramsOut++;
    m.bytesOut += payload.length;
    this.stats.datagramsOut++;
    this.stats.bytesOut += payload.length;
  }

  private dropOut(reason: DropReason, socketId: number, text: string): void {
    this.ctx.metrics.drop(reason);
    this.stats.dropped++;
    this.sendError({ type: 'error', code: reason, reason: text, socketId });
  }

  private bind(frame: BindFrame): void {
    const o = this.ctx.options;
    const refuse = (reason: RefusalReason, text: string) => {
      this.ctx.metrics.refuse(reason);
      this.sendError({ type: 'error', code: reason, reason: text, requestId: frame.requestId });
    };
    if (this.sockets.size + this.pendingBinds >= o.maxSockets) return refuse('socket-limit', `at most ${o.maxSockets} sockets per session`);
    if (frame.port !== 0 && (frame.port < o.bindPortRange[0] || frame.port > o.bindPortRange[1])) {
      return refuse('bind-port-not-allowed', `port ${frame.port} is outside ${o.bindPortRange[0]}..${o.bindPortRange[1]}`);
    }
    this.pendingBinds++;
    UdpSocket.bind({ family: frame.family, address: o.udpBindAddress[frame.family], port: frame.port }).then(
      (socket) => {
        this.pendingBinds--;
        if (this.closed) {
          socket.close();
          return;
        }
        this.guard(() => this.adopt(socket, frame));
      },
      (err: unknown) => {
        this.pendingBinds--;
        if (this.closed) return;
        const code = (err as { code?: unknown }).code;
        refuse('bind-failed', `cannot bind a UDP socket${typeof code === 'string' ? `: ${code}` : ''}`);
      },
    );
  }

  private adopt(socket: UdpSocket, frame: BindFrame): void {
    let id = this.nextSocketId;
    while (this.sockets.has(id)) id = id === 0xffff ? 1 : id + 1;
    this.nextSocketId = id === 0xffff ? 1 : id + 1;
    const open: OpenSocket = { socket, family: frame.family };
    this.sockets.set(id, open);
    this.ctx.metrics.socketsOpen++;
    this.ctx.metrics.socketsTotal++;
    this.stats.sockets++;
    socket.ondatagram = (bytes, from) => this.guard(() => this.deliver(id, bytes, from));
    // Closed under us (by the OS): tell the client the socket is gone.
    socket.onclose = () => {
      if (this.sockets.get(id) !== open) return;
      this.closeSocket(id);
      this.send(encodeBridgeFrame({ type: 'close', socketId: id }));
    };
    const local = socket.localAddress;
    this.send(
      encodeBridgeFrame({
        type: 'bound',
        requestId: frame.requestId,
        socketId: id,
        local,
        hostAddresses: this.ctx.hostAddresses(frame.family, local).slice(0, 255),
      }),
    );
  }

  private closeSocket(id: number): boolean {
    const open = this.sockets.get(id);
    if (!open) return false;
    this.sockets.delete(id);
    this.ctx.metrics.socketsOpen--;
    open.socket.close();
    return true;
  }

  // ---- UDP → client -------------------------------------------------------------------------------------

  private deliver(socketId: number, payload: Uint8Array, from: TransportAddress): void {
    if (this.closed) return;
    // Back-pressure: a client that does not read must not make the bridge buffer without bound.
    if (this.ws.bufferedAmount > this.ctx.options.maxBufferedBytes) {
      this.ctx.metrics.drop('backpressure');
      this.stats.dropped++;
      return;
    }
    this.lastActivity = performance.now();
    this.send(encodeDataFrame(socketId, from, payload));
    const m = this.ctx.metrics;
    m.datagramsIn++;
    m.bytesIn += payload.length;
    this.stats.datagramsIn++;
    this.stats.bytesIn += payload.length;
  }

  private sendError(frame: ErrorFrame): void {
    const now = performance.now();
    // Error frames obey the same queue bound as data: a client that does not read gets none.
    if (this.ws.bufferedAmount > this.ctx.options.maxBufferedBytes || !this.errorFrames.take(1, now)) {
      this.ctx.metrics.errorFramesSuppressed++;
      return;
    }
    this.ctx.metrics.errorFramesSent++;
    this.send(encodeBridgeFrame(frame));
  }

  private send(frame: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(frame, { binary: true });
  }

  // ---- lifetime -----------------------------------------------------------------------------------------

  private armIdleTimer(delayMs: number): void {
    this.idleTimer = setTimeout(() => {
      const idle = performance.now() - this.lastActivity;
      const limit = this.ctx.options.idleTimeoutMs;
      if (idle >= limit) this.close(BridgeCloseCode.idleTimeout, `idle for ${limit} ms`);
      else this.armIdleTimer(limit - idle);
    }, delayMs);
  }

  /** Runs a handler; a fault inside the bridge ends this session (1011), never the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('session-fault', { error: err instanceof Error ? err.message : String(err) });
      this.close(BridgeCloseCode.internalError, 'internal error');
    }
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const id of [...this.sockets.keys()]) this.closeSocket(id);
    this.ctx.metrics.sessionsOpen--;
    this.log('session-close', { code, reason, durationMs: Date.now() - this.opened, ...this.stats });
    this.ctx.onClosed(this);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    try {
      this.ctx.options.logger(JSON.stringify({ time: new Date().toISOString(), event, session: this.id, ...fields }));
    } catch {
      // A failing logger must not take the session down.
    }
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
