// A frozen copy of the version 1 client (commit 215d592), to test that a v1 client still works against a v2
// bridge. Not built, not shipped: only test/bridge/compat.test.ts imports it.
// The page's side of the bridge: UDP sockets carried over one WebSocket. Isomorphic — a page, a Worker and
// Node (with the `ws` package's WebSocket) all run it; each BridgeSocket is a DatagramSocket like any other.
import {
  BRIDGE_PROTOCOL_VERSION,
  decodeBridgeFrame,
  encodeBridgeFrame,
  encodeDataFrame,
  type BridgeFrame,
  type BridgeLimits,
  type BoundFrame,
  type ErrorFrame,
} from './bridge-frame.js';
import type { DatagramHandler, DatagramSocket } from '../../../src/net/datagram-socket.js';
import type { AddressFamily, TransportAddress } from '../../../src/net/transport-address.js';

/** Any WebSocket class: the platform's, or `ws`'s in Node. Only the standard API is used. */
export type WebSocketConstructor = new (url: string, ...rest: never[]) => object;

/** The part of the WHATWG WebSocket API used here; both the DOM's and `ws`'s have it. */
interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const OPEN = 1;

export interface BridgeConnectOptions {
  /** The WebSocket class; default the global one (Node 20 has none: pass `ws`'s, or use `connectBridge`). */
  WebSocket?: WebSocketConstructor;
  /** Give up when the bridge has not said hello within this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Give up on a bind the bridge has not answered within this long. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Above this many bytes queued on the WebSocket, `send` drops datagrams instead of queueing. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** The WebSocket's binaryType: 'arraybuffer' (default); Node's `ws` avoids a copy per message with 'nodebuffer'. */
  binaryType?: string;
}

/**
 * What went wrong with the bridge. `code` is stable: `closed` (with the WebSocket `closeCode`, e.g. 4001 when
 * the bridge refused the token — see bridge/close-codes.ts), `connect-failed` (a URL the WebSocket class
 * refuses), `timeout`, `protocol`, `socket-closed`, or an error frame's code (`socket-limit`,
 * `destination-denied`, `rate-limited`, …).
 */
export class BridgeError extends Error {
  override readonly name = 'BridgeError';
  constructor(
    readonly code: string,
    readonly reason: string,
    readonly closeCode?: number,
  ) {
    super(closeCode === undefined ? `${code}: ${reason}` : `${code} (${closeCode}): ${reason}`);
  }
}

interface PendingBind {
  resolve: (socket: BridgeSocket) => void;
  reject: (error: BridgeError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class BridgeConnection {
  /** Error frames from the bridge (drops it reports, malformed frames); informational. */
  onerror: ((error: BridgeError) => void) | null = null;
  /** Called once when the connection closes, with why. */
  onclose: ((error: BridgeError) => void) | null = null;
  /** Frames from the bridge that did not decode; counted and dropped. */
  malformedFrames = 0;
  /** Datagrams `send` dropped (connection not open, too large, WebSocket queue full, bad address). */
  droppedSends = 0;
  private readonly sockets = new Map<number, BridgeSocket>();
  private readonly pending = new Map<number, PendingBind>();
  private nextRequestId = 1;
  private closedWith: BridgeError | undefined;

  private constructor(
    private readonly ws: WebSocketLike,
    readonly limits: BridgeLimits,
    private readonly options: Required<Omit<BridgeConnectOptions, 'WebSocket' | 'binaryType'>>,
  ) {
    ws.onmessage = (event) => this.onMessage(event.data);
    ws.onclose = (event) => this.onClosed(new BridgeError('closed', event.reason || 'the bridge connection closed', event.code));
    ws.onerror = null;
  }

  /** Opens the WebSocket and waits for the bridge's hello. Rejects with a BridgeError if the bridge refuses. */
  static connect(url: string, options: BridgeConnectOptions = {}): Promise<BridgeConnection> {
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) return Promise.reject(new TypeError('no WebSocket class here: pass { WebSocket } (in Node, use connectBridge)'));
    const resolved = {
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 1_048_576,
    };
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new Ctor(url) as unknown as WebSocketLike;
      } catch (err) {
        reject(new BridgeError('connect-failed', err instanceof Error ? err.message : String(err)));
        return;
      }
      ws.binaryType = options.binaryType ?? 'arraybuffer';
      const fail = (error: BridgeError) => {
        clearTimeout(timer);
        ws.onmessage = ws.onclose = ws.onerror = null;
        if (ws.readyState <= OPEN) ws.close(1000);
        reject(error);
      };
      const timer = setTimeout(() => fail(new BridgeError('timeout', `no hello from the bridge within ${resolved.connectTimeoutMs} ms`)), resolved.connectTimeoutMs);
      // A refusal arrives as a close after the upgrade (a code in 4000..4999), so wait for hello, not for open.
      ws.onclose = (event) => fail(new BridgeError('closed', event.reason || 'the bridge closed the connection', event.code));
      ws.onerror = () => {};
      ws.onmessage = (event) => {
        let frame: BridgeFrame;
        try {
          frame = decodeBridgeFrame(bytesOf(event.data));
        } catch (err) {
          fail(new BridgeError('protocol', `bad hello from the bridge: ${err instanceof Error ? err.message : String(err)}`));
          return;
        }
        if (frame.type !== 'hello' || frame.version !== BRIDGE_PROTOCOL_VERSION) {
          fail(new BridgeError('protocol', `expected a version ${BRIDGE_PROTOCOL_VERSION} hello, got a ${frame.type} frame`));
          return;
        }
        clearTimeout(timer);
        resolve(new BridgeConnection(ws, frame.limits, resolved));
      };
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Asks the bridge for a UDP socket; `port` 0 (default) lets it pick. One WebSocket carries them all. */
  bind(options: { family?: AddressFamily; port?: number } = {}): Promise<BridgeSocket> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.ws.readyState !== OPEN) return Promise.reject(new BridgeError('closed', 'the bridge connection is closing'));
    const requestId = this.nextRequestId;
    this.nextRequestId = requestId === 0xffffffff ? 1 : requestId + 1;
    let frame: Uint8Array;
    try {
      frame = encodeBridgeFrame({ type: 'bind', requestId, family: options.family ?? 'IPv4', port: options.port ?? 0 });
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new BridgeError('timeout', `the bridge did not answer bind ${requestId} within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.ws.send(frame);
    });
  }

  /** Closes the WebSocket and with it every socket. */
  close(): void {
    if (this.closedWith) return;
    this.onClosed(new BridgeError('closed', 'closed by the application', 1000));
    this.ws.close(1000);
  }

  /** @internal BridgeSocket's way out. */
  sendData(socketId: number, bytes: Uint8Array, to: TransportAddress): void {
    if (this.closedWith || this.ws.readyState !== OPEN || bytes.length > this.limits.maxPayload || this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.droppedSends++;
      return;
    }
    let frame: Uint8Array;
    try {
      frame = encodeDataFrame(socketId, to, bytes);
    } catch {
      this.droppedSends++; // not an IP address, or a port out of range: a datagram that cannot go
      return;
    }
    this.ws.send(frame);
  }

  /** @internal BridgeSocket.close(). */
  releaseSocket(socketId: number): void {
    if (!this.sockets.delete(socketId) || this.closedWith || this.ws.readyState !== OPEN) return;
    this.ws.send(encodeBridgeFrame({ type: 'close', socketId }));
  }

  private onMessage(data: unknown): void {
    let frame: BridgeFrame;
    try {
      frame = decodeBridgeFrame(bytesOf(data));
    } catch {
      this.malformedFrames++;
      return;
    }
    switch (frame.type) {
      case 'data': {
        const socket = this.sockets.get(frame.socketId);
        socket?.ondatagram?.(frame.payload, frame.peer);
        return;
      }
      case 'bound':
        this.onBound(frame);
        return;
      case 'error':
        this.onErrorFrame(frame);
        return;
      case 'close': {
        const socket = this.sockets.get(frame.socketId);
        this.sockets.delete(frame.socketId);
        socket?.closedBy(new BridgeError('socket-closed', 'the bridge closed this socket'));
        return;
      }
      default:
        this.malformedFrames++; // hello twice, or a client-only frame
    }
  }

  private onBound(frame: BoundFrame): void {
    const pending = this.pending.get(frame.requestId);
    if (!pending) {
      // The bind timed out here but succeeded there: give the socket back.
      this.ws.send(encodeBridgeFrame({ type: 'close', socketId: frame.socketId }));
      return;
    }
    this.pending.delete(frame.requestId);
    clearTimeout(pending.timer);
    const socket = new BridgeSocket(this, frame.socketId, frame.local, frame.hostAddresses);
    this.sockets.set(frame.socketId, socket);
    pending.resolve(socket);
  }

  private onErrorFrame(frame: ErrorFrame): void {
    const error = new BridgeError(frame.code, frame.reason);
    const pending = frame.requestId === undefined ? undefined : this.pending.get(frame.requestId);
    if (pending) {
      this.pending.delete(frame.requestId!);
      clearTimeout(pending.timer);
      pending.reject(error);
      return;
    }
    if (frame.socketId !== undefined) this.sockets.get(frame.socketId)?.onerror?.(error);
    this.onerror?.(error);
  }

  private onClosed(error: BridgeError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    this.ws.onmessage = this.ws.onclose = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    for (const s of sockets) s.closedBy(error);
    this.onclose?.(error);
  }
}

/** A UDP socket on the bridge host. Its addresses are the bridge's: they are the page's host candidates. */
export class BridgeSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  /** Error frames about this socket (destination-denied, rate-limited, …); the socket stays open. */
  onerror: ((error: BridgeError) => void) | null = null;
  private closed = false;

  /** @internal made by BridgeConnection.bind(). */
  constructor(
    private readonly connection: BridgeConnection,
    readonly id: number,
    /** The address the bridge's UDP socket is bound to (may be a wildcard such as 0.0.0.0). */
    readonly localAddress: TransportAddress,
    /** The bridge host's interface addresses for this socket's family. */
    readonly hostAddresses: readonly string[],
  ) {}

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (!this.closed) this.connection.sendData(this.id, bytes, to);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.releaseSocket(this.id);
    // Like a dgram socket, report the close after close() returns.
    queueMicrotask(() => this.onclose?.());
  }

  /** @internal the bridge or the connection went away. */
  closedBy(error: BridgeError): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.(error);
  }
}

function bytesOf(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0); // a text message: decodes as EMPTY, counted as malformed
}
