// A TCP listener on the bridge host (protocol v2 `listen`): where a page's passive ICE-TCP candidate (RFC
// 6544 §4.1) takes connections. Each connection that comes in is a BridgeStream, as a connected one is.
import type { BridgeError } from './bridge-error.js';
import type { BridgeStream } from './bridge-stream.js';
import type { TransportAddress } from './transport-address.js';

/** What a BridgeListener needs of its connection. */
export interface BridgeListenerCarrier {
  releaseListener(listenerId: number): void;
}

/** At most this many accepted streams wait for an `onconnection` handler; more are closed. */
const MAX_WAITING = 16;

export class BridgeListener {
  /** Called once when the listener stops: the bridge closed it (an error says why), or the connection went. */
  onclose: ((reason?: BridgeError) => void) | null = null;
  /** The bridge announces this listener at other host addresses now: `hostAddresses` has them. */
  onhostaddresseschange: ((hostAddresses: readonly string[]) => void) | null = null;
  private handler: ((stream: BridgeStream) => void) | null = null;
  private announced: readonly string[];
  /** Streams that came in before a handler was set (the first can come in the task of `listening`). */
  private readonly waiting: BridgeStream[] = [];
  private closed = false;

  /** @internal made by BridgeConnection.listen(). */
  constructor(
    private readonly connection: BridgeListenerCarrier,
    readonly id: number,
    /** The address the bridge listens on (may be a wildcard such as 0.0.0.0). */
    readonly localAddress: TransportAddress,
    hostAddresses: readonly string[],
  ) {
    this.announced = hostAddresses;
  }

  /** The bridge host's interface addresses for this listener's family, as last announced. */
  get hostAddresses(): readonly string[] {
    return this.announced;
  }

  /** @internal a `host-addresses` frame named this listener. */
  hostAddressesChanged(hostAddresses: readonly string[]): void {
    if (this.closed) return;
    this.announced = hostAddresses;
    this.onhostaddresseschange?.(hostAddresses);
  }

  /** Each connection that comes in, as a stream open both ways. Until set, they wait here (a few). */
  get onconnection(): ((stream: BridgeStream) => void) | null {
    return this.handler;
  }
  set onconnection(handler: ((stream: BridgeStream) => void) | null) {
    this.handler = handler;
    while (this.handler && this.waiting.length > 0) this.handler(this.waiting.shift()!);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops listening; the streams it accepted stay open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.releaseListener(this.id);
    for (const s of this.waiting.splice(0)) s.close();
    queueMicrotask(() => this.onclose?.());
  }

  /** @internal a connection came in. */
  accept(stream: BridgeStream): void {
    if (this.closed || (!this.handler && this.waiting.length >= MAX_WAITING)) return stream.close();
    if (this.handler) this.handler(stream);
    else this.waiting.push(stream);
  }

  /** @internal the bridge or the connection went away. */
  closedBy(error: BridgeError): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.waiting.splice(0)) s.close();
    this.onclose?.(error);
  }
}
