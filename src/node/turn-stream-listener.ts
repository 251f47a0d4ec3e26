// TCP and TLS listeners of the Node TURN server. RFC 8656 §3.1: a client may reach the server over TCP or
// TLS-over-TCP and still be relayed UDP; RFC 8489 §6.2.2 and RFC 8656 §12.5 frame the messages on the stream
// (the isomorphic FramedStreamSocket does it). Each accepted connection becomes one framed DatagramSocket that
// `attach` hands to the engine's runner; the allocations made on it die with it (the engine does that).
//
// Limits, all options with defaults (TURN_STREAM_DEFAULTS): connections in total and per client IP (refused
// = closed at once, counted), an idle timeout for a connection that holds no allocation, the largest framed
// message, a bounded write queue (whole messages dropped while it is full, counted) and a TLS handshake timeout.
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { FramedStreamSocket } from '../net/framed-stream-socket.js';
import { StreamFramingError } from '../net/stream-framer.js';
import type { TransportAddress } from '../net/transport-address.js';
import { nodeByteStream } from './stream-socket.js';

export type TurnStreamTransport = 'tcp' | 'tls';

export const TURN_STREAM_DEFAULTS = {
  maxConnections: 1000,
  maxConnectionsPerIp: 100,
  idleTimeoutMs: 60_000,
  maxMessageBytes: 0xffff + 20,
  maxWriteQueueBytes: 256 * 1024,
  tlsHandshakeTimeoutMs: 10_000,
} as const;

/** Node's default high-water mark of a socket: below it no 'drain' would follow a busy write. */
const MIN_WRITE_QUEUE_BYTES = 16 * 1024;

export interface TurnStreamLimits {
  /** TCP and TLS connections open at once, both listeners together; one more is closed at once. Default 1000. */
  maxConnections?: number;
  /** Connections open at once from one client IP address; one more is closed at once. Default 100. */
  maxConnectionsPerIp?: number;
  /**
   * A connection that holds no allocation this long after it opened (or after the last check) is closed,
   * as coturn closes idle TCP sessions. Default 60 000 ms.
   */
  idleTimeoutMs?: number;
  /** Largest framed message (STUN or ChannelData) accepted; a longer one closes the connection. Default 65 555 bytes. */
  maxMessageBytes?: number;
  /**
   * Bytes a connection may have queued unsent; past it, messages to that client are dropped whole (counted)
   * until the queue drains. At least 16 384. Default 262 144.
   */
  maxWriteQueueBytes?: number;
  /** A TLS handshake not done this long after the connection opened closes it. Default 10 000 ms. */
  tlsHandshakeTimeoutMs?: number;
}

/** streamLimits with every default filled in. */
export type ResolvedTurnStreamLimits = { readonly [K in keyof typeof TURN_STREAM_DEFAULTS]: number };

export interface TurnStreamCounters {
  /** Connections accepted (past the limits), per transport. */
  accepted: Record<TurnStreamTransport, number>;
  /** Connections closed at once because a limit was reached. */
  refused: { maxConnections: number; maxConnectionsPerIp: number };
  /** Connections closed for holding no allocation for idleTimeoutMs. */
  idleClosed: number;
  /** TLS handshakes that failed, and those that did not finish within tlsHandshakeTimeoutMs. */
  tlsHandshakeFailed: number;
  tlsHandshakeTimedOut: number;
  /** Connections closed because their bytes were not STUN/ChannelData or a message was too long. */
  framingErrors: number;
  /** Messages to clients dropped whole because a connection's write queue was full (counted when it closes, and live). */
  droppedSends: number;
}

/** What the listeners need from the TURN server they feed. */
export interface TurnStreamHooks {
  /** A connection is ready (TCP accepted, TLS handshake done): attach it to the engine. */
  attach(socket: FramedStreamSocket, transport: TurnStreamTransport): void;
  /** Whether the client on this connection holds an allocation (then it is not idle). */
  hasAllocation(socket: FramedStreamSocket): boolean;
}

/** TLS material: PEM text (not file paths; the CLI reads the files). */
export interface TurnTlsCredentials {
  cert: string;
  key: string;
}

function resolveLimits(limits: TurnStreamLimits): ResolvedTurnStreamLimits {
  const out = { ...TURN_STREAM_DEFAULTS } as { -readonly [K in keyof ResolvedTurnStreamLimits]: number };
  for (const key of Object.keys(TURN_STREAM_DEFAULTS) as (keyof ResolvedTurnStreamLimits)[]) {
    const v = limits[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new RangeError(`${key} must be a positive whole number, got ${String(v)}`);
    out[key] = v;
  }
  if (out.maxWriteQueueBytes < MIN_WRITE_QUEUE_BYTES) throw new RangeError(`maxWriteQueueBytes must be at least ${MIN_WRITE_QUEUE_BYTES}, got ${out.maxWriteQueueBytes}`);
  return out;
}

/** An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 client) as its IPv4 address. */
function unmappedAddress(address: string | undefined): string {
  const a = address ?? '';
  return a.toLowerCase().startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

interface Connection {
  readonly raw: Socket;
  readonly transport: TurnStreamTransport;
  framed?: FramedStreamSocket;
  timer?: NodeJS.Timeout;
}

/** The TCP and TLS listeners of one TURN server, sharing its connection limits and counters. */
export class TurnStreamListeners {
  readonly limits: ResolvedTurnStreamLimits;
  readonly counters: TurnStreamCounters = {
    accepted: { tcp: 0, tls: 0 },
    refused: { maxConnections: 0, maxConnectionsPerIp: 0 },
    idleClosed: 0,
    tlsHandshakeFailed: 0,
    tlsHandshakeTimedOut: 0,
    framingErrors: 0,
    droppedSends: 0,
  };
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly open: Record<TurnStreamTransport, number> = { tcp: 0, tls: 0 };
  private secureContext: SecureContext | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    limits: TurnStreamLimits,
    private readonly hooks: TurnStreamHooks,
  ) {
    this.limits = resolveLimits(limits);
  }

  /** Checks the TLS material before anything listens (a bad certificate or key throws here). */
  setTlsCredentials(credentials: TurnTlsCredentials): void {
    this.secureContext = createSecureContext({ cert: credentials.cert, key: credentials.key });
  }

  /** Connections open now (TLS ones still in their handshake included). */
  openConnections(transport?: TurnStreamTransport): number {
    return transport === undefined ? this.connections.size : this.open[transport];
  }

  /** Messages dropped so far, the live connections' included. */
  get droppedSends(): number {
    let n = this.counters.droppedSends;
    for (const c of this.connections) n += c.framed?.droppedSends ?? 0;
    return n;
  }

  /** Listens on every host at `port` (0: a free one, then the same for the other hosts); resolves with the addresses. */
  async listen(transport: TurnStreamTransport, hosts: readonly string[], port: number): Promise<TransportAddress[]> {
    if (transport === 'tls' && this.secureContext === undefined) throw new TypeError('a TLS listener needs a certificate and key');
    const addresses: TransportAddress[] = [];
    let next = port;
    for (const host of hosts) {
      const server = createServer({ noDelay: true }, (raw) => this.accept(raw, transport));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: next, ipv6Only: host.includes(':'), exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', () => {}); // accept errors (EMFILE) are transient; the listener stays
      this.servers.push(server);
      const bound = server.address();
      if (bound === null || typeof bound === 'string') throw new Error('a TURN stream listener is not on a TCP port');
      if (next === 0) next = bound.port;
      addresses.push({ address: unmappedAddress(bound.address), port: bound.port });
    }
    return addresses;
  }

  /** Stops listening and closes every connection; resolves when the listening ports are released. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      const stopped = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const c of [...this.connections]) this.drop(c);
      await Promise.all(stopped);
    })());
  }

  private accept(raw: Socket, transport: TurnStreamTransport): void {
    raw.on('error', () => {}); // reported through 'close'; an unhandled one would end the process
    if (this.closing !== undefined) {
      raw.destroy();
      return;
    }
    const ip = unmappedAddress(raw.remoteAddress);
    if (this.connections.size >= this.limits.maxConnections) {
      this.counters.refused.maxConnections++;
      raw.destroy();
      return;
    }
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.limits.maxConnectionsPerIp) {
      this.counters.refused.maxConnectionsPerIp++;
      raw.destroy();
      return;
    }
    const connection: Connection = { raw, transport };
    this.connections.add(connection);
    this.perIp.set(ip, fromIp + 1);
    this.open[transport]++;
    this.counters.accepted[transport]++;
    raw.once('close', () => {
      this.connections.delete(connection);
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
      this.open[transport]--;
      clearTimeout(connection.timer);
      this.counters.droppedSends += connection.framed?.droppedSends ?? 0;
      connection.framed?.close(); // the engine hears of it (the runner's onclose) if the stream did not say so
    });
    if (transport === 'tcp') {
      this.ready(connection, raw);
      return;
    }
    const tls = new TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
    let secured = false;
    connection.timer = setTimeout(() => {
      this.counters.tlsHandshakeTimedOut++;
      this.drop(connection);
    }, this.limits.tlsHandshakeTimeoutMs);
    tls.on('error', () => {
      if (!secured) this.counters.tlsHandshakeFailed++;
      this.drop(connection);
    });
    tls.once('close', () => raw.destroy());
    tls.once('secure', () => {
      secured = true;
      clearTimeout(connection.timer);
      if (raw.destroyed) return;
      this.ready(connection, tls);
    });
  }

  /** The stream carries STUN now (TCP at once, TLS after its handshake): frame it and hand it to the engine. */
  private ready(connection: Connection, stream: Socket): void {
    const { raw } = connection;
    const local = { address: unmappedAddress(raw.localAddress), port: raw.localPort ?? 0 };
    const remote = { address: unmappedAddress(raw.remoteAddress), port: raw.remotePort ?? 0 };
    const framed = new FramedStreamSocket(nodeByteStream(stream, { maxQueueBytes: this.limits.maxWriteQueueBytes }), local, remote, {
      maxFrame: this.limits.maxMessageBytes,
      // The wider RFC 5766 range is framed; whether a channel number is valid is the engine's call.
      channelNumbers: 'rfc5766',
      // No copy per message on TCP: a Node socket hands each read over in a fresh buffer and never reuses it,
      // and the engine relays ChannelData synchronously; what it keeps longer (a pending Allocate's request)
      // is small and short-lived, so pinning its chunk costs little. Not on TLS yet: with views there,
      // turnutils_uclient's TLS mode lost a few echoes in 3 of 5 runs under load, cause not found.
      views: connection.transport === 'tcp',
    });
    connection.framed = framed;
    this.hooks.attach(framed, connection.transport);
    const attached = framed.onclose;
    framed.onclose = (reason) => {
      if (reason instanceof StreamFramingError) this.counters.framingErrors++;
      attached?.(reason);
      // RFC 6062 §5.4: a bound data connection goes on carrying raw bytes (src/node/turn-tcp-relay.ts owns it now).
      if (framed.unframed) clearTimeout(connection.timer);
      else raw.destroy();
    };
    this.armIdle(connection);
  }

  private armIdle(connection: Connection): void {
    connection.timer = setTimeout(() => {
      const framed = connection.framed;
      if (framed === undefined || framed.unframed || !this.connections.has(connection)) return;
      if (this.hooks.hasAllocation(framed)) {
        this.armIdle(connection);
        return;
      }
      this.counters.idleClosed++;
      this.drop(connection);
    }, this.limits.idleTimeoutMs);
  }

  private drop(connection: Connection): void {
    clearTimeout(connection.timer);
    connection.framed?.close();
    connection.raw.destroy();
  }
}
