// A TCP or TLS connection to one STUN/TURN server, seen as a DatagramSocket: each framed message is one
// datagram from the server, and `send` writes one message to the stream (RFC 8489 §6.2.2, RFC 8656 §12.5).
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import type { DatagramHandler, DatagramSocket } from '../net/datagram-socket.js';
import { frameForStream, StreamFramer } from '../net/stream-framer.js';
import type { TransportAddress } from '../net/transport-address.js';

export interface StreamSocketOptions {
  host: string;
  port: number;
  /** Use TLS (`stuns:`/`turns:`); pass node:tls options, e.g. `{ ca, servername, rejectUnauthorized }`. */
  tls?: boolean | ConnectionOptions;
  /** The TLS server name (SNI, certificate check) when `host` is an address resolved from it. */
  servername?: string;
  /** Give up connecting after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

export class StreamSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  readonly reliable = true;
  private readonly framer = new StreamFramer();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly localAddress: TransportAddress,
    readonly remoteAddress: TransportAddress,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        this.shut(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      for (const frame of frames) this.ondatagram?.(frame, this.remoteAddress);
    });
    socket.on('error', (err) => this.shut(err));
    socket.on('close', () => this.shut());
  }

  static connect(options: StreamSocketOptions): Promise<StreamSocket> {
    return new Promise((resolve, reject) => {
      const socket: Socket = options.tls
        ? connectTls({ host: options.host, port: options.port, servername: options.servername ?? (isIpLiteral(options.host) ? undefined : options.host), ...(typeof options.tls === 'object' ? options.tls : {}) })
        : connectTcp({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connecting to ${options.host}:${options.port} timed out`));
      }, options.connectTimeoutMs ?? 10_000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(
          new StreamSocket(
            socket,
            { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
            { address: socket.remoteAddress ?? options.host, port: socket.remotePort ?? options.port },
          ),
        );
      });
    });
  }

  /** Writes one message; `to` must be the server this connection goes to (anything else is dropped). */
  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.closed || to.port !== this.remoteAddress.port || !sameHost(to.address, this.remoteAddress.address)) return;
    this.socket.write(frameForStream(bytes));
  }

  close(): void {
    this.shut();
  }

  private shut(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onclose?.(reason);
  }
}

/** Node reports an IPv4 peer of a dual-stack socket as ::ffff:a.b.c.d. */
function sameHost(a: string, b: string): boolean {
  const strip = (x: string) => (x.startsWith('::ffff:') && x.includes('.') ? x.slice(7) : x);
  return strip(a) === strip(b);
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
