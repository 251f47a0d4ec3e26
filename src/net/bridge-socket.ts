// One UDP socket on the bridge host, carried by a BridgeConnection: a DatagramSocket like any other.
import type { BridgeError } from './bridge-error.js';
import { checkSendArguments, DestinationUnreachableError, type DatagramHandler, type DatagramSocket, type UnreachableHandler } from './datagram-socket.js';
import type { ErrorFrame } from './bridge-frame.js';
import type { TransportAddress } from './transport-address.js';

/** What a BridgeSocket needs of its connection. */
export interface BridgeSocketCarrier {
  sendData(socketId: number, bytes: Uint8Array, to: TransportAddress): void;
  releaseSocket(socketId: number): void;
}

/** A UDP socket on the bridge host. Its addresses are the bridge's: they are the page's host candidates. */
export class BridgeSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  /** Error frames about this socket (destination-denied, rate-limited, …); the socket stays open. */
  onerror: ((error: BridgeError) => void) | null = null;
  /** The bridge refused datagrams to one destination (an error frame naming it). */
  onunreachable: UnreachableHandler | null = null;
  /** The bridge announces this socket at other host addresses now (an interface came or went): `hostAddresses` has them. */
  onhostaddresseschange: ((hostAddresses: readonly string[]) => void) | null = null;
  private closed = false;
  private announced: readonly string[];

  /** @internal made by BridgeConnection.bind(). */
  constructor(
    private readonly connection: BridgeSocketCarrier,
    readonly id: number,
    /** The address the bridge's UDP socket is bound to (may be a wildcard such as 0.0.0.0). */
    readonly localAddress: TransportAddress,
    hostAddresses: readonly string[],
  ) {
    this.announced = hostAddresses;
  }

  /** The bridge host's interface addresses for this socket's family, as last announced. */
  get hostAddresses(): readonly string[] {
    return this.announced;
  }

  /** @internal a `host-addresses` frame named this socket. */
  hostAddressesChanged(hostAddresses: readonly string[]): void {
    if (this.closed) return;
    this.announced = hostAddresses;
    this.onhostaddresseschange?.(hostAddresses);
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    checkSendArguments(bytes, to);
    if (!this.closed) this.connection.sendData(this.id, bytes, to);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.releaseSocket(this.id);
    // Like a dgram socket, report the close after close() returns.
    queueMicrotask(() => this.onclose?.());
  }

  /** @internal an error frame named this socket. */
  errorFrame(frame: ErrorFrame, error: BridgeError): void {
    this.onerror?.(error);
    if (frame.destination) this.onunreachable?.(new DestinationUnreachableError(frame.code, frame.destination, frame.reason));
  }

  /** @internal the bridge or the connection went away. */
  closedBy(error: BridgeError): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.(error);
  }
}
