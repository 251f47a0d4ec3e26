// A TCP or TLS connection to one STUN/TURN server, seen as a DatagramSocket: each framed message is one
// datagram from the server, and `send` writes one message to the stream (RFC 8489 §6.2.2, RFC 8656 §12.5).
// The framing is the isomorphic FramedStreamSocket's; this file only opens node:net/node:tls sockets.
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { FramedStreamSocket, type ByteStream } from '../net/framed-stream-socket.js';
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

export class StreamSocket extends FramedStreamSocket {
  private constructor(socket: Socket, localAddress: TransportAddress, remoteAddress: TransportAddress) {
    super(nodeByteStream(socket), localAddress, remoteAddress);
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
}

export interface NodeByteStreamOptions {
  /**
   * Bytes Node may hold unsent before `write` reports the stream busy (the framed socket then drops whole
   * messages until it drains). At least Node's high-water mark (16 384), so that a drain event follows.
   * Default: unbounded (a client's own connection to its server).
   */
  maxQueueBytes?: number;
}

/** A connected node:net/node:tls socket as a ByteStream (the client's StreamSocket and the TURN server's connections). */
export function nodeByteStream(socket: Socket, options: NodeByteStreamOptions = {}): ByteStream {
  const max = options.maxQueueBytes ?? Infinity;
  const stream: ByteStream = {
    write(bytes) {
      socket.write(bytes);
      // Node's socket buffers what the kernel does not take yet; past `max` the writer waits for 'drain'.
      return socket.writableLength < max;
    },
    close: () => socket.destroy(),
    // For a connection spliced raw to another (RFC 6062 data connections): flow control and half-close.
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => socket.end(),
    ondata: null,
    onclose: null,
    ondrain: null,
  };
  socket.on('data', (chunk: Buffer) => stream.ondata?.(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  socket.on('drain', () => stream.ondrain?.());
  socket.on('error', (err) => stream.onclose?.(err));
  socket.on('close', () => stream.onclose?.());
  return stream;
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
