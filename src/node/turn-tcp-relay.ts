// The Node side of RFC 6062 TCP relays for the TURN server runner: a listening TCP socket per TCP allocation
// (its relayed transport address), outgoing connections to peers, and the splice of a client data
// connection with its peer data connection once ConnectionBind succeeds — raw bytes both ways, with flow
// control (§3: "if the relay process is no longer able to write data to the destination of the relayed
// data, the relay process stops reading data from the source"). The protocol is in turn-tcp-events.ts.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FramedStreamSocket, type ByteStream } from '../net/framed-stream-socket.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { TurnTcpRelayFactory, TurnTcpRelayHandler, TurnTcpRelayHost } from '../server/turn-tcp-driver.js';
import type { TurnServerEvent } from '../server/turn-server-events.js';

export interface NodeTcpRelayOptions {
  /** Where listeners are bound, one address per family (the UDP relay addresses). */
  relayAddresses: ReadonlyMap<AddressFamily, string>;
  /** The public address clients are told instead, per family (a 1:1 NAT). Default: none. */
  externalAddresses?: ReadonlyMap<AddressFamily, string>;
  /** Ports listeners are taken from. Default { min: 49152, max: 65535 }, as the UDP relays. */
  portRange?: { min: number; max: number };
  /** Tries at a random free port before the Allocate fails with 508. Default 32. */
  bindAttempts?: number;
}

interface PeerEntry {
  readonly socket: Socket;
  /** The client data connection, once spliced. */
  data: ByteStream | undefined;
  done: boolean;
}

/** A TCP relay driver for runTurnServer's `tcpRelay` option. */
export function createNodeTcpRelay(options: NodeTcpRelayOptions): TurnTcpRelayFactory {
  return (host) => new NodeTcpRelay(host, options);
}

class NodeTcpRelay implements TurnTcpRelayHandler {
  private readonly listeners = new Map<SocketId, Server>();
  private readonly peers = new Map<number, PeerEntry>();
  private readonly range: { min: number; max: number };
  private readonly attempts: number;
  private closed = false;

  constructor(
    private readonly host: TurnTcpRelayHost,
    private readonly options: NodeTcpRelayOptions,
  ) {
    this.range = options.portRange ?? { min: 49152, max: 65535 };
    this.attempts = options.bindAttempts ?? 32;
  }

  handleEvent(event: TurnServerEvent): boolean {
    switch (event.type) {
      case 'open-tcp-relay':
        void this.open(event.requestId, event.family);
        return true;
      case 'connect-tcp-peer':
        this.connectPeer(event.connectionId, event.relaySocket, event.peer);
        return true;
      case 'splice-tcp-peer':
        this.splice(event.connectionId, event.clientSocket);
        return true;
      case 'close-tcp-peer':
        this.closePeer(event.connectionId);
        return true;
      case 'close-relay': {
        const server = this.listeners.get(event.socket);
        if (server === undefined) return false;
        this.listeners.delete(event.socket);
        server.close();
        return true;
      }
      default:
        return false;
    }
  }

  close(): void {
    this.closed = true;
    for (const server of this.listeners.values()) server.close();
    this.listeners.clear();
    for (const id of [...this.peers.keys()]) this.closePeer(id);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private now(): number {
    return this.host.driver.clock.now();
  }

  private async open(requestId: number, family: AddressFamily): Promise<void> {
    const { engine, driver } = this.host;
    const address = this.options.relayAddresses.get(family);
    let server: Server | undefined;
    let lastError: unknown = new Error(`no relay address for ${family}`);
    for (let i = 0; address !== undefined && i < this.attempts && server === undefined; i++) {
      const port = this.range.min + Math.floor(Math.random() * (this.range.max - this.range.min + 1));
      try {
        server = await listen(address, port);
      } catch (err) {
        lastError = err;
      }
    }
    if (this.closed) {
      server?.close();
      return;
    }
    if (server === undefined) {
      engine.relayFailed(requestId, `no TCP relay port: ${lastError instanceof Error ? lastError.message : String(lastError)}`, this.now());
      driver.poll();
      return;
    }
    const id = this.host.nextSocketId();
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
    this.listeners.set(id, server);
    server.on('connection', (socket) => this.accepted(id, socket));
    server.on('close', () => {
      if (this.listeners.get(id) !== server) return; // closed on the engine's request
      this.listeners.delete(id);
      engine.relayClosed(id, this.now());
      driver.poll();
    });
    const external = this.options.externalAddresses?.get(family);
    const relayed: TransportAddress = { address: external ?? address!, port };
    engine.relayOpened(requestId, id, relayed, this.now());
    driver.poll();
  }

  /** §5.3: not read from until spliced (the kernel buffers, the receive window closes). */
  private accepted(listener: SocketId, socket: Socket): void {
    socket.pause();
    socket.on('error', () => {});
    const { engine, driver } = this.host;
    const peer = { address: unmapped(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const id = engine.tcp.peerAccepted(listener, peer, this.now());
    if (id === undefined) {
      socket.destroy();
      driver.poll();
      return;
    }
    this.track(id, socket);
    driver.poll();
  }

  /**
   * §5.2: from the relay address. Deliberately not from the relayed port itself: binding a connecting
   * socket to a port with a listener needs SO_REUSEPORT, which node:net does not offer on Node 20.
   */
  private connectPeer(connectionId: number, relaySocket: SocketId, peer: TransportAddress): void {
    const { engine, driver } = this.host;
    const server = this.listeners.get(relaySocket);
    const bound = server?.address();
    if (typeof bound !== 'object' || bound === null) {
      engine.tcp.peerConnectFailed(connectionId, 'no relay listener', this.now());
      driver.poll();
      return;
    }
    const socket = connect({ host: peer.address, port: peer.port, localAddress: bound.address });
    socket.pause();
    let connected = false;
    socket.once('error', (err) => {
      if (connected) return;
      engine.tcp.peerConnectFailed(connectionId, err.message, this.now());
      driver.poll();
    });
    socket.once('connect', () => {
      connected = true;
      socket.setNoDelay(true);
      engine.tcp.peerConnected(connectionId, this.now());
      driver.poll();
    });
    this.track(connectionId, socket);
  }

  private track(connectionId: number, socket: Socket): void {
    const entry: PeerEntry = { socket, data: undefined, done: false };
    this.peers.set(connectionId, entry);
    socket.on('error', () => {});
    socket.on('close', () => {
      if (entry.done) return;
      this.finish(connectionId, entry);
      this.host.engine.tcp.connectionClosed(connectionId, this.now());
      this.host.driver.poll();
    });
  }

  /** §5.4: the client data connection stops being framed; from now on both carry raw bytes. */
  private splice(connectionId: number, clientSocket: SocketId): void {
    const entry = this.peers.get(connectionId);
    const framed = this.host.driver.socket(clientSocket);
    const taken = framed instanceof FramedStreamSocket ? framed.unframe() : undefined;
    if (entry === undefined || taken === undefined) {
      framed?.close();
      if (entry !== undefined) entry.socket.destroy();
      return;
    }
    const { stream, pending } = taken;
    const peer = entry.socket;
    entry.data = stream;
    // Peer → client: pause the peer while the client's queue is over its limit.
    peer.on('data', (chunk: Buffer) => {
      if (!stream.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) peer.pause();
    });
    stream.ondrain = () => peer.resume();
    peer.on('end', () => (stream.end !== undefined ? stream.end() : stream.close()));
    // Client → peer.
    stream.ondata = (bytes) => {
      if (!peer.write(bytes)) stream.pause?.();
    };
    peer.on('drain', () => stream.resume?.());
    stream.onend = () => peer.end();
    stream.onclose = () => {
      if (entry.done) return;
      // §5.5: the client data connection closed, so does the peer's (after what is queued to it).
      entry.done = true;
      this.peers.delete(connectionId);
      peer.end();
      peer.once('finish', () => peer.destroy());
      this.host.engine.tcp.connectionClosed(connectionId, this.now());
      this.host.driver.poll();
    };
    if (pending.length > 0) peer.write(pending);
    peer.resume();
  }

  private closePeer(connectionId: number): void {
    const entry = this.peers.get(connectionId);
    if (entry === undefined) return;
    this.finish(connectionId, entry);
  }

  private finish(connectionId: number, entry: PeerEntry): void {
    entry.done = true;
    this.peers.delete(connectionId);
    entry.socket.destroy();
    if (entry.data !== undefined) {
      const data = entry.data;
      data.onclose = data.ondata = data.ondrain = null;
      if (data.end !== undefined) data.end();
      else data.close();
    }
  }
}

function listen(address: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true });
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      server.on('error', () => {});
      resolve(server);
    });
  });
}

/** An IPv4 peer as a dual-stack socket prints it (::ffff:a.b.c.d) is the IPv4 address. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
