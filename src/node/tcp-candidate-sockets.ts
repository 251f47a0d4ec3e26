// Host TCP candidates for the Node agent (RFC 6544) as DatagramSockets, so the engine checks and sends over
// them as over UDP: each packet travels in an RFC 4571 frame on a connection. An active socket opens one
// connection per remote it sends to, from its address (its candidate says port 9); a passive one listens
// and answers on the connection each packet came in on. A connection that fails or closes is reported as
// unreachable, so its pairs fail at once (RFC 6544 §7.1) and a selected one fails over.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DestinationUnreachableError, type DatagramHandler, type DatagramSocket, type UnreachableHandler } from '../net/datagram-socket.js';
import { formatIp, parseIp } from '../net/ip.js';
import { frameRfc4571, Rfc4571Framer, RFC4571_MAX_PACKET } from '../net/rfc4571-framer.js';
import type { TransportAddress } from '../net/transport-address.js';

export interface TcpCandidateOptions {
  /** Connections at once per candidate socket; more are refused (active) or closed on accept (passive). Default 16. */
  maxConnections?: number;
  /** An active connection that is not up after this long fails. Default 5 000 ms. */
  connectTimeoutMs?: number;
}

export const TCP_CANDIDATE_DEFAULTS = { maxConnections: 16, connectTimeoutMs: 5_000 } as const;

const keyOf = (a: TransportAddress): string => `${a.address}|${a.port}`;

/** ::ffff:1.2.3.4 from a dual-stack listener as 1.2.3.4, and every address in RFC 5952 form. */
function remoteOf(socket: Socket): TransportAddress | undefined {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return undefined;
  const raw = socket.remoteAddress.startsWith('::ffff:') && socket.remoteAddress.includes('.') ? socket.remoteAddress.slice(7) : socket.remoteAddress;
  return { address: formatIp(parseIp(raw.split('%')[0])), port: socket.remotePort };
}

abstract class TcpCandidateSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  onunreachable: UnreachableHandler | null = null;
  protected readonly connections = new Map<string, Socket>();
  protected readonly maxConnections: number;
  protected closed = false;

  constructor(
    readonly localAddress: TransportAddress,
    options: TcpCandidateOptions,
  ) {
    this.maxConnections = options.maxConnections ?? TCP_CANDIDATE_DEFAULTS.maxConnections;
    if (!(this.maxConnections >= 1)) throw new RangeError('maxConnections must be ≥ 1');
  }

  abstract send(bytes: Uint8Array, to: TransportAddress): void;

  /** Frames in, unreachable out: what both kinds do with a connection. */
  protected adopt(socket: Socket, remote: TransportAddress): void {
    const key = keyOf(remote);
    this.connections.set(key, socket);
    socket.setNoDelay(true);
    const framer = new Rfc4571Framer();
    socket.on('data', (chunk: Buffer) => {
      for (const packet of framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) this.ondatagram?.(packet, remote);
    });
    let failure = 'the connection closed';
    socket.on('error', (err) => (failure = err.message));
    socket.once('close', () => {
      if (this.connections.get(key) === socket) this.connections.delete(key);
      if (!this.closed) this.onunreachable?.(new DestinationUnreachableError('tcp-closed', remote, `TCP to ${remote.address}:${remote.port}: ${failure}`));
    });
  }

  protected write(socket: Socket | undefined, bytes: Uint8Array): void {
    // A datagram that cannot go is dropped (DatagramSocket.send never throws).
    if (socket === undefined || socket.destroyed || bytes.length > RFC4571_MAX_PACKET) return;
    socket.write(frameRfc4571(bytes));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.connections.values()) socket.destroy();
    this.connections.clear();
    this.closeListener();
    this.onclose?.();
  }

  protected closeListener(): void {}
}

/** tcptype active: connects to each remote it sends to, from its own address and a fresh port. */
export class TcpActiveSocket extends TcpCandidateSocket {
  private readonly connectTimeoutMs: number;

  constructor(address: string, options: TcpCandidateOptions = {}) {
    super({ address, port: 9 }, options);
    this.connectTimeoutMs = options.connectTimeoutMs ?? TCP_CANDIDATE_DEFAULTS.connectTimeoutMs;
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.closed) return;
    const existing = this.connections.get(keyOf(to));
    if (existing) return this.write(existing, bytes);
    if (this.connections.size >= this.maxConnections) {
      this.onunreachable?.(new DestinationUnreachableError('tcp-connection-limit', to, `more than maxConnections ${this.maxConnections} TCP connections`));
      return;
    }
    const socket = connect({ host: to.address, port: to.port, localAddress: this.localAddress.address });
    // Node buffers what is written before the connection is up.
    const timer = setTimeout(() => socket.destroy(new Error(`not connected within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    this.adopt(socket, to);
    this.write(socket, bytes);
  }
}

/** tcptype passive: listens on its address; packets go back on the connection they came in on. */
export class TcpPassiveSocket extends TcpCandidateSocket {
  private constructor(
    private readonly server: Server,
    localAddress: TransportAddress,
    options: TcpCandidateOptions,
  ) {
    super(localAddress, options);
    server.on('connection', (socket) => {
      const remote = remoteOf(socket);
      if (this.closed || remote === undefined || this.connections.size >= this.maxConnections) {
        socket.destroy();
        return;
      }
      this.adopt(socket, remote);
    });
  }

  /** Listens on `address`, at `port` (default: one the OS picks). */
  static listen(address: string, options: TcpCandidateOptions & { port?: number } = {}): Promise<TcpPassiveSocket> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, address, () => {
        server.off('error', reject);
        const bound = server.address() as AddressInfo;
        resolve(new TcpPassiveSocket(server, { address: formatIp(parseIp(bound.address.split('%')[0])), port: bound.port }, options));
      });
    });
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (!this.closed) this.write(this.connections.get(keyOf(to)), bytes);
  }

  protected override closeListener(): void {
    this.server.close();
  }
}
