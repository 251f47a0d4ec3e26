// The WebSocket carrier and the Node driver of one bridge session: WebSocket messages, node:dgram sockets,
// node:net/node:tls streams and name lookups around the sans-I/O BridgeSessionEngine
// (src/bridge/session-engine.ts), which makes every decision; the loop itself is src/bridge/session-driver.ts.
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import type { BridgeMetrics } from '../src/bridge/metrics.js';
import { SessionDriver, type DriverListener, type DriverListenerEvents, type DriverStreamEvents } from '../src/bridge/session-driver.js';
import { BridgeSessionEngine } from '../src/bridge/session-engine.js';
import type { LookupAnswer, LookupFunction, SessionContext } from '../src/bridge/session-types.js';
import type { AddressFamily, TransportAddress } from '../src/net/transport-address.js';
import { UdpSocket } from '../src/node/udp-socket.js';
import type { ResolvedBridgeOptions } from './options.js';
import { withSessionPort } from './policy.js';
import { listenTcp, openStream } from './stream-connector.js';
import { BridgeFrameType } from '../src/net/bridge-frame-types.js';
import { ClientWriteQueue } from './client-write-queue.js';
import type { DataFrameScheduler, QueuedFrameSink } from './frame-scheduler.js';
import type { UdpDropCounter } from './udp-drops.js';

/** How long a closed WebSocket may take to finish the close handshake before its TCP connection is cut. */
export const CLOSE_HANDSHAKE_GRACE_MS = 2000;

/** What the sessions of one bridge share. */
export interface BridgeDriverContext {
  readonly options: ResolvedBridgeOptions;
  readonly metrics: BridgeMetrics;
  /** The engine's view: limits, policy, the shared answer cache, host addresses (carrierBacklog is per session). */
  readonly session: Omit<SessionContext, 'carrierBacklog'>;
  readonly lookup: LookupFunction;
  /** The kernel's receive-buffer drops on the sessions' UDP sockets. */
  readonly udpDrops: UdpDropCounter;
  /** Where data frames from clients wait behind control frames. */
  readonly scheduler: DataFrameScheduler;
  /** The bridge's mDNS responder for page names (`mdns-register`), when the operator enabled mdns. */
  readonly mdnsRegister?: (name: string, address: string) => string | undefined;
  readonly mdnsUnregister?: (name: string) => void;
  /** Called once when the session has closed and released its sockets. */
  onClosed(session: BridgeSession): void;
}

export interface SessionInfo {
  user: string | undefined;
  remote: string | undefined;
  origin: string | undefined;
}

/** The close code ws sends for one of its protocol errors (ws keeps it on the error; RFC 6455 §7.4.1). */
function wsErrorCloseCode(err: Error): number | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined; // a socket error: nothing was sent
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') return 1009;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  return 1002;
}

/** Closes a WebSocket with `code` and cuts the connection if the peer does not answer within the grace time. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED) return;
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
}

export class BridgeSession extends SessionDriver<UdpSocket, Socket> implements QueuedFrameSink {
  /** Each bound socket's key in the kernel's UDP table (UdpDropCounter). */
  private readonly dropKeys = new Map<UdpSocket, { family: AddressFamily; key: string }>();
  private readonly out: ClientWriteQueue;
  /** When the datagram being handled arrived: the data frames the engine writes now are its. */
  private datagramAt = 0;

  constructor(
    id: number,
    private readonly ws: WebSocket,
    private readonly ctx: BridgeDriverContext,
    readonly info: SessionInfo,
    version: number,
  ) {
    const holder: { out?: ClientWriteQueue } = {};
    const session: SessionContext = { ...ctx.session, carrierBacklog: () => holder.out?.backlog ?? ws.bufferedAmount };
    const engine = new BridgeSessionEngine(id, version, session, { user: info.user, remote: info.remote, origin: info.origin }, performance.now());
    super(id, engine);
    this.out = holder.out = new ClientWriteQueue(ws, ctx.options.maxQueueDelayMs, (reason) => engine.handleDropped(reason), this.sent);
    ws.on('message', (data, isBinary) => {
      // Stamped as ws hands it over; data waits behind control frames (the scheduler), control is served now.
      const arrived = performance.now();
      const bytes = toBytes(data);
      if (isBinary && bytes[0] === BridgeFrameType.data) ctx.scheduler.push(this, bytes, arrived);
      else this.run(() => this.engine.handleFrame(bytes, arrived, isBinary));
    });
    // ws reports protocol errors (e.g. a message over maxMessageBytes) on 'error' and closes by itself with a
    // code of its own (1009, 1002, 1007); its 'close' event then gives the code the peer sent back, or 1006
    // when none came. The log records what the client was told.
    let sentCode: number | undefined;
    let sentReason = '';
    ws.on('error', (err) => {
      sentCode = wsErrorCloseCode(err);
      sentReason = err.message;
    });
    ws.on('close', (code, reason) => this.finish(sentCode ?? code, sentCode === undefined ? reason.toString('utf8') : sentReason));
    this.pump();
  }

  /** After each frame is written out: streams paused for the WebSocket's backlog go on once it is small again. */
  private readonly sent = (): void => {
    if (this.engine.waitingForCarrier && this.ws.bufferedAmount <= this.ctx.options.maxBufferedBytes) this.run(() => this.engine.handleCarrierDrained());
  };

  handleQueuedFrame(bytes: Uint8Array, arrived: number, now: number): void {
    if (this.finished) this.engine.handleDropped('session-closed');
    else this.run(() => this.engine.handleFrame(bytes, now, true, arrived));
  }

  protected writeFrame(frame: Uint8Array): void {
    if (frame[0] === BridgeFrameType.data) this.out.sendData(frame, this.datagramAt);
    else this.out.sendControl(frame);
  }

  protected closeCarrier(code: number, reason: string): void {
    closeWebSocket(this.ws, code, reason);
  }

  protected sendDatagram(socket: UdpSocket, payload: Uint8Array, to: TransportAddress): void {
    socket.send(payload, to);
  }

  protected bindSocket(socketId: number, family: AddressFamily, port: number, connect: TransportAddress | undefined): void {
    const o = this.ctx.options;
    UdpSocket.bind({ family, address: o.udpBindAddress[family], port, connect, receiveBufferSize: o.receiveBufferBytes, sendBufferSize: o.sendBufferBytes }).then(
      (socket) => {
        if (this.finished) return socket.close();
        this.ctx.options.policy.addSessionPort(socket.localAddress.port);
        this.dropKeys.set(socket, { family, key: this.ctx.udpDrops.watch(family, socket.localAddress.address, socket.localAddress.port) });
        // After bind, an 'error' is a send the OS refused (UdpSocket keeps no datagram it cannot send), or a
        // connected socket's ICMP port unreachable: the datagram went out, and the peer refused it.
        socket.raw.on('error', (err: NodeJS.ErrnoException) => {
          if (!(connect && err.code === 'ECONNREFUSED')) this.ctx.metrics.drop('send-failed');
        });
        socket.onunreachable = (err) => this.run(() => this.engine.handleUnreachable(socketId, err.destination));
        socket.ondatagram = (bytes, from) => {
          const at = (this.datagramAt = performance.now());
          this.run(() => this.engine.handleDatagram(socketId, bytes, from, at));
        };
        socket.onclose = () => this.socketDied(socketId, socket);
        this.adoptSocket(socketId, socket, socket.localAddress);
      },
      (err: unknown) => {
        const code = (err as { code?: unknown }).code;
        this.run(() => this.engine.handleBindFailed(socketId, typeof code === 'string' ? code : undefined));
      },
    );
  }

  protected releaseSocket(socket: UdpSocket): void {
    this.ctx.options.policy.releaseSessionPort(socket.localAddress.port);
    socket.onclose = null;
    socket.ondatagram = null;
    const drops = this.dropKeys.get(socket);
    this.dropKeys.delete(socket);
    // The kernel's drop counter dies with the socket: it is read once more first.
    if (drops) this.ctx.udpDrops.release(drops.family, drops.key, () => socket.close());
    else socket.close();
  }

  protected openStream(remote: TransportAddress, tls: boolean, serverName: string, events: DriverStreamEvents): Socket {
    const o = this.ctx.options;
    return openStream({ remote, tls, serverName, ca: o.tlsCa, insecure: o.tlsInsecure }, events);
  }

  protected override listen(family: AddressFamily, port: number, portRange: readonly [number, number] | undefined, events: DriverListenerEvents<Socket>): DriverListener {
    return withSessionPort(this.ctx.options.policy, events, (e) => listenTcp(this.ctx.options.udpBindAddress[family], port, portRange, e));
  }

  protected lookup(name: string, families: AddressFamily[], mdns: boolean): Promise<LookupAnswer[]> {
    return this.ctx.lookup(name, families, mdns);
  }

  protected override mdnsRegister(name: string, address: string): string | undefined {
    return this.ctx.mdnsRegister ? this.ctx.mdnsRegister(name, address) : super.mdnsRegister(name, address);
  }

  protected override mdnsUnregister(name: string): void {
    this.ctx.mdnsUnregister?.(name);
  }

  protected writeLog(line: string): void {
    this.ctx.options.logger(line);
  }

  protected onFinished(): void {
    this.out.discard();
    this.ctx.onClosed(this);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
