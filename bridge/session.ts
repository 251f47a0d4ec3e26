// The WebSocket carrier and the Node driver of one bridge session: WebSocket messages, node:dgram sockets,
// node:net/node:tls streams and name lookups around the sans-I/O BridgeSessionEngine
// (src/bridge/session-engine.ts), which makes every decision. Nothing a client sends may throw out of here.
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { BridgeCloseCode } from '../src/bridge/close-codes.js';
import type { BridgeMetrics } from '../src/bridge/metrics.js';
import { BridgeSessionEngine } from '../src/bridge/session-engine.js';
import type { SessionAction, SessionContext } from '../src/bridge/session-types.js';
import { UdpSocket } from '../src/node/udp-socket.js';
import type { ResolvedBridgeOptions } from './options.js';
import { LookupError } from './resolver.js';
import { openStream } from './stream-connector.js';
import type { AddressFamily, TransportAddress } from '../src/net/transport-address.js';
import type { LookupAnswer } from '../src/bridge/session-types.js';

/** How long a closed WebSocket may take to finish the close handshake before its TCP connection is cut. */
export const CLOSE_HANDSHAKE_GRACE_MS = 2000;

/** What the sessions of one bridge share. */
export interface BridgeDriverContext {
  readonly options: ResolvedBridgeOptions;
  readonly metrics: BridgeMetrics;
  /** The engine's view: limits, policy, the shared answer cache, host addresses (carrierBacklog is per session). */
  readonly session: Omit<SessionContext, 'carrierBacklog'>;
  readonly lookup: (name: string, families: AddressFamily[]) => Promise<LookupAnswer[]>;
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

export class BridgeSession {
  private readonly engine: BridgeSessionEngine;
  private readonly sockets = new Map<number, UdpSocket>();
  private readonly streams = new Map<number, Socket>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private pumping = false;
  private finished = false;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly ctx: BridgeDriverContext,
    readonly info: SessionInfo,
    version: number,
  ) {
    const session: SessionContext = { ...ctx.session, carrierBacklog: () => ws.bufferedAmount };
    this.engine = new BridgeSessionEngine(id, version, session, { user: info.user, remote: info.remote, origin: info.origin }, performance.now());
    ws.on('message', (data, isBinary) => this.run(() => this.engine.handleFrame(toBytes(data), performance.now(), isBinary)));
    ws.on('close', (code, reason) => this.finish(code, reason.toString('utf8')));
    // ws reports protocol errors (e.g. a message over maxMessageBytes) here and closes by itself.
    ws.on('error', () => {});
    this.pump();
  }

  get socketCount(): number {
    return this.engine.socketCount;
  }

  /** After each frame is written out: streams paused for the WebSocket's backlog go on once it is small again. */
  private readonly sent = (): void => {
    if (this.engine.waitingForCarrier && this.ws.bufferedAmount <= this.ctx.options.maxBufferedBytes) this.run(() => this.engine.handleCarrierDrained());
  };

  /** Ends the session: its sockets and streams close at once, the WebSocket with `code`. */
  close(code: number, reason: string): void {
    this.run(() => this.engine.close(code, reason));
  }

  /** Runs one input into the engine, then carries out what it asked; a fault ends this session (1011), never the process. */
  private run(input: () => void): void {
    if (this.finished) return;
    try {
      input();
      this.pump();
    } catch (err) {
      this.log('session-fault', { session: this.id, error: err instanceof Error ? err.message : String(err) });
      closeWebSocket(this.ws, BridgeCloseCode.internalError, 'internal error');
      this.finish(BridgeCloseCode.internalError, 'internal error');
    }
  }

  private pump(): void {
    if (this.pumping) return; // an action's callback ran synchronously: the outer loop picks up what it queued
    this.pumping = true;
    try {
      let again = true;
      while (again) {
        again = false;
        for (let a = this.engine.pollAction(); a; a = this.engine.pollAction()) {
          this.perform(a);
          again = true;
        }
        for (let f = this.engine.pollFrame(); f; f = this.engine.pollFrame()) {
          if (this.ws.readyState === this.ws.OPEN) this.ws.send(f, { binary: true }, this.sent);
        }
        for (let e = this.engine.pollEvent(); e; e = this.engine.pollEvent()) this.log(e.event, e.fields);
      }
    } finally {
      this.pumping = false;
    }
    this.arm(this.engine.pollTimeout());
  }

  private perform(a: SessionAction): void {
    switch (a.type) {
      case 'send':
        this.sockets.get(a.socketId)?.send(a.payload, a.to);
        return;
      case 'bind':
        return this.bind(a.socketId, a.family, a.port);
      case 'close-socket': {
        const socket = this.sockets.get(a.socketId);
        this.sockets.delete(a.socketId);
        if (socket) this.release(socket);
        return;
      }
      case 'resolve':
        this.ctx.lookup(a.name, a.families).then(
          (answers) => this.run(() => this.engine.handleLookupAnswered(a.lookupId, answers, performance.now())),
          (err: unknown) => {
            const failure = err instanceof LookupError ? err.failure : 'resolve-failed';
            this.run(() => this.engine.handleLookupFailed(a.lookupId, failure, err instanceof Error ? err.message : String(err), performance.now()));
          },
        );
        return;
      case 'connect':
        return this.connect(a.streamId, a.remote, a.tls, a.serverName);
      case 'write': {
        const n = a.bytes.length;
        this.streams.get(a.streamId)?.write(a.bytes, () => this.run(() => this.engine.handleStreamWritten(a.streamId, n)));
        return;
      }
      case 'end-stream':
        this.streams.get(a.streamId)?.end();
        return;
      case 'close-stream': {
        const socket = this.streams.get(a.streamId);
        this.streams.delete(a.streamId);
        socket?.destroy();
        return;
      }
      case 'pause-stream':
        this.streams.get(a.streamId)?.pause();
        return;
      case 'resume-stream':
        this.streams.get(a.streamId)?.resume();
        return;
      case 'close-carrier':
        closeWebSocket(this.ws, a.code, a.reason);
        this.finish(a.code, a.reason);
        return;
    }
  }

  private bind(socketId: number, family: AddressFamily, port: number): void {
    UdpSocket.bind({ family, address: this.ctx.options.udpBindAddress[family], port }).then(
      (socket) => {
        if (this.finished) return socket.close();
        this.sockets.set(socketId, socket);
        this.ctx.options.policy.addSessionPort(socket.localAddress.port);
        socket.ondatagram = (bytes, from) => this.run(() => this.engine.handleDatagram(socketId, bytes, from, performance.now()));
        socket.onclose = () => {
          if (this.sockets.get(socketId) !== socket) return;
          this.sockets.delete(socketId);
          this.ctx.options.policy.releaseSessionPort(socket.localAddress.port);
          this.run(() => this.engine.handleSocketClosed(socketId));
        };
        this.run(() => this.engine.handleBound(socketId, socket.localAddress));
      },
      (err: unknown) => {
        const code = (err as { code?: unknown }).code;
        this.run(() => this.engine.handleBindFailed(socketId, typeof code === 'string' ? code : undefined));
      },
    );
  }

  private connect(streamId: number, remote: TransportAddress, tls: boolean, serverName: string): void {
    const o = this.ctx.options;
    const socket = openStream(
      { remote, tls, serverName, ca: o.tlsCa, insecure: o.tlsInsecure },
      {
        connected: (local, peer) => this.run(() => this.engine.handleStreamConnected(streamId, local, peer, performance.now())),
        failed: (failure, reason) => {
          this.streams.delete(streamId);
          this.run(() => this.engine.handleStreamConnectFailed(streamId, failure, reason));
        },
        data: (bytes) => this.run(() => this.engine.handleStreamData(streamId, bytes, performance.now())),
        ended: () => this.run(() => this.engine.handleStreamEnded(streamId)),
        closed: (error) => {
          if (this.streams.get(streamId) !== socket) return;
          this.streams.delete(streamId);
          this.run(() => this.engine.handleStreamClosed(streamId, error));
        },
      },
    );
    this.streams.set(streamId, socket);
  }

  private release(socket: UdpSocket): void {
    this.ctx.options.policy.releaseSessionPort(socket.localAddress.port);
    socket.onclose = null;
    socket.close();
  }

  /** One timer at the earliest deadline; a deadline that moved later (the idle one) just fires early and re-arms. */
  private arm(at: number | undefined): void {
    if (this.finished || at === undefined || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.timer = undefined;
      this.run(() => this.engine.handleTimeout(performance.now()));
    }, Math.max(0, at - performance.now()));
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.engine.handleCarrierClosed(code, reason, performance.now());
    // The log line and the releases; inside a pump, its loop drains them when this returns.
    if (!this.pumping) this.pump();
    this.finished = true;
    clearTimeout(this.timer);
    for (const s of this.sockets.values()) this.release(s);
    for (const s of this.streams.values()) s.destroy();
    this.sockets.clear();
    this.streams.clear();
    this.ctx.onClosed(this);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    try {
      this.ctx.options.logger(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
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
