// Page-side handles on sockets that live in the Worker: a bridge socket and a TURN relay. Both look like a
// DatagramSocket (send, ondatagram, onclose, close); bytes cross the boundary transferred, both ways.
import { proxy, transfer } from 'comlink';
import { checkSendArguments, type DatagramHandler } from '../net/datagram-socket.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { IcebridgeWorker, WorkerBridgeConnection, WorkerResident } from './client.js';
import { deserializeError, type IcebridgeWorkerError } from './errors.js';
import type { CloseListener, DatagramListener, TurnAllocationConfig } from './protocol.js';
import { forTransfer } from './transfer.js';

/** The listeners a Worker-side socket calls, as comlink proxies, before the page object exists. */
function listenersFor(target: { deliver: DatagramHandler; end: (reason?: Error) => void }): { ondatagram: DatagramListener; onclose: CloseListener } {
  return {
    ondatagram: proxy<DatagramListener>((bytes, from) => target.deliver(bytes, from)),
    onclose: proxy<CloseListener>((error) => target.end(error && deserializeError(error))),
  };
}

/** Shared by both handles: the datagram and close callbacks, ended once. */
abstract class WorkerSocketBase implements WorkerResident {
  /** Datagrams received; `bytes` is the page's own (transferred from the Worker). */
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  protected id = 0;
  protected ended = false;
  /** Events can arrive before the Worker's reply that names the socket: they wait here. */
  private early: (() => void)[] | undefined = [];

  constructor(protected readonly owner: IcebridgeWorker) {}

  get closed(): boolean {
    return this.ended;
  }

  /** @internal */
  deliver(bytes: Uint8Array, from: TransportAddress): void {
    if (this.early) this.early.push(() => this.deliver(bytes, from));
    else if (!this.ended) this.ondatagram?.(bytes, from);
  }

  /** @internal the Worker-side socket ended on its own. */
  end(reason?: Error): void {
    if (this.early) this.early.push(() => this.end(reason));
    else if (!this.ended) {
      this.ended = true;
      this.owner.release(this);
      this.onclose?.(reason);
    }
  }

  /** @internal the socket went with its Worker: onclose, with the IcebridgeWorkerError. */
  workerEnded(error: IcebridgeWorkerError): void {
    this.end(error);
  }

  protected started(id: number): void {
    this.owner.adopt(this);
    this.id = id;
    const early = this.early ?? [];
    this.early = undefined;
    for (const f of early) f();
  }

  /** Sends one datagram; fire and forget, like UDP. The bytes are transferred (see forTransfer). */
  send(bytes: Uint8Array, to: TransportAddress): void {
    checkSendArguments(bytes, to);
    if (this.ended) return;
    const moved = forTransfer(bytes);
    this.post(transfer(moved, [moved.buffer]), { address: to.address, port: to.port });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.release(this);
    this.closeInWorker();
    // Like a dgram socket, report the close after close() returns.
    queueMicrotask(() => this.onclose?.());
  }

  protected abstract post(bytes: Uint8Array, to: TransportAddress): void;
  protected abstract closeInWorker(): void;
}

/** A UDP socket on the bridge host, driven from the page. */
export class WorkerBridgeSocket extends WorkerSocketBase {
  localAddress: TransportAddress = { address: '0.0.0.0', port: 0 };
  hostAddresses: string[] = [];

  /** @internal use WorkerBridgeConnection.bind(). */
  static async open(owner: IcebridgeWorker, connection: number, options: { family?: AddressFamily; port?: number }): Promise<WorkerBridgeSocket> {
    const socket = new WorkerBridgeSocket(owner);
    const l = listenersFor(socket);
    const info = await owner.call((api) => api.bindSocket(connection, options, l.ondatagram, l.onclose));
    socket.localAddress = info.localAddress;
    socket.hostAddresses = info.hostAddresses;
    socket.started(info.id);
    return socket;
  }

  protected override post(bytes: Uint8Array, to: TransportAddress): void {
    this.owner.post((api) => api.socketSend(this.id, bytes, to));
  }

  protected override closeInWorker(): void {
    this.owner.post((api) => api.closeSocket(this.id));
  }
}

/** A TURN allocation made in the Worker: `send` goes through the relay, peers' datagrams come to `ondatagram`. */
export class WorkerRelaySocket extends WorkerSocketBase {
  /** XOR-RELAYED-ADDRESS: where peers send to reach this client. */
  relayedAddress: TransportAddress = { address: '0.0.0.0', port: 0 };
  /** XOR-MAPPED-ADDRESS: the bridge socket as the TURN server saw it. */
  mappedAddress: TransportAddress | undefined;
  server: TransportAddress = { address: '0.0.0.0', port: 0 };
  private connection: WorkerBridgeConnection | undefined;

  /** @internal use WorkerBridgeConnection.allocateTurn() or IcebridgeWorker.allocateTurn(). */
  static async allocate(owner: IcebridgeWorker, connection: number, server: string | TransportAddress, options: TurnAllocationConfig): Promise<WorkerRelaySocket> {
    const relay = new WorkerRelaySocket(owner);
    const l = listenersFor(relay);
    const info = await owner.call((api) => api.allocateTurn(connection, server, options, l.ondatagram, l.onclose));
    relay.relayedAddress = info.relayedAddress;
    relay.mappedAddress = info.mappedAddress;
    relay.server = info.server;
    relay.started(info.id);
    return relay;
  }

  /** The relayed address, as TurnRelaySocket names it. */
  get localAddress(): TransportAddress {
    return this.relayedAddress;
  }

  /** Installs the permission for `peer`'s IP (send() does it by itself when needed). */
  createPermission(peer: TransportAddress): Promise<void> {
    return this.owner.call((api) => api.relayCreatePermission(this.id, { address: peer.address, port: peer.port }));
  }

  /** Binds a channel to `peer`, resolving with its number; data to `peer` then goes as ChannelData. */
  bindChannel(peer: TransportAddress): Promise<number> {
    return this.owner.call((api) => api.relayBindChannel(this.id, { address: peer.address, port: peer.port }));
  }

  /** @internal the relay was made on a connection of its own: it closes with the relay. */
  owns(connection: WorkerBridgeConnection): void {
    this.connection = connection;
  }

  override end(reason?: Error): void {
    super.end(reason);
    if (this.ended) this.connection?.close();
  }

  protected override post(bytes: Uint8Array, to: TransportAddress): void {
    this.owner.post((api) => api.relaySend(this.id, bytes, to));
  }

  protected override closeInWorker(): void {
    const connection = this.connection;
    // The deleting Refresh goes out before the connection closes (calls reach the Worker in order).
    this.owner.post((api) => api.closeRelay(this.id));
    connection?.close();
  }
}
