// TCP candidates (RFC 6544) as DatagramSockets over any byte stream, so the engine checks and sends over
// them as over UDP: each packet travels in an RFC 4571 frame. Isomorphic: Node's sockets
// (node/tcp-candidate-sockets.ts) and the bridge's streams (the page's active candidates) run over it. A
// connection that fails or closes is reported as unreachable, so its pairs fail at once (RFC 6544 §7.1) and
// a selected one fails over.
import { DestinationUnreachableError, type DatagramHandler, type DatagramSocket, type UnreachableHandler } from './datagram-socket.js';
import type { ByteStream } from './framed-stream-socket.js';
import { frameRfc4571, Rfc4571Framer, RFC4571_MAX_PACKET } from './rfc4571-framer.js';
import type { TransportAddress } from './transport-address.js';
import { ICE_TCP_EARLY_CLOSE_RETRY_MS } from '../timing.js';

export interface StreamCandidateOptions {
  /** Connections at once per candidate socket; more are refused (active) or closed on accept (passive). Default 16. */
  maxConnections?: number;
  /**
   * Active: the waits (ms) before opening again a connection the far end accepted and closed before sending a
   * byte, whose packets so far are sent again on the new one; `[]` fails it at once. Default
   * ICE_TCP_EARLY_CLOSE_RETRY_MS, [250, 500, 1000] (src/timing.ts says why).
   */
  earlyCloseRetryMs?: readonly number[];
}

export const STREAM_CANDIDATE_DEFAULTS = { maxConnections: 16, earlyCloseRetryMs: ICE_TCP_EARLY_CLOSE_RETRY_MS } as const;

/** At most this many packets are kept to be sent again on a reopened connection (checks: one or two). */
const MAX_REPLAYED = 8;

const keyOf = (a: TransportAddress): string => `${a.address}|${a.port}`;

interface Connection {
  stream: ByteStream | undefined;
  /** Frames written before the stream was open. */
  queue: Uint8Array[];
  /** Frames written on the stream while nothing has come back on it (sent again if it is reopened). */
  unanswered: Uint8Array[];
  heard: boolean;
  /** Times it closed before anything came back. */
  earlyCloses: number;
  /** Reopens after an early close: true if it will (the frames then wait in `queue`). */
  reopen?: () => boolean;
}

/** The connections of one TCP candidate, by remote transport address. */
export class StreamConnections {
  ondatagram: DatagramHandler | null = null;
  onunreachable: UnreachableHandler | null = null;
  readonly maxConnections: number;
  private readonly byRemote = new Map<string, Connection>();
  private closed = false;

  constructor(options: StreamCandidateOptions = {}) {
    this.maxConnections = options.maxConnections ?? STREAM_CANDIDATE_DEFAULTS.maxConnections;
    if (!(this.maxConnections >= 1)) throw new RangeError('maxConnections must be ≥ 1');
  }

  get size(): number {
    return this.byRemote.size;
  }

  has(remote: TransportAddress): boolean {
    return this.byRemote.has(keyOf(remote));
  }

  /** A connection being opened to `remote`: frames written meanwhile wait for it. */
  /** `reopen`: asked when the stream closes before anything came back on it (ActiveStreamSocket's retries). */
  opening(remote: TransportAddress, reopen?: () => boolean): void {
    this.byRemote.set(keyOf(remote), { stream: undefined, queue: [], unanswered: [], heard: false, earlyCloses: 0, reopen });
  }

  /** A connected stream to or from `remote`: its frames in, its end as unreachable (or, early, reopened). */
  adopt(stream: ByteStream, remote: TransportAddress): void {
    const key = keyOf(remote);
    if (this.closed) return stream.close();
    const entry: Connection = this.byRemote.get(key) ?? { stream: undefined, queue: [], unanswered: [], heard: false, earlyCloses: 0 };
    entry.stream = stream;
    this.byRemote.set(key, entry);
    const framer = new Rfc4571Framer();
    stream.ondata = (chunk) => {
      entry.heard = true;
      entry.unanswered.length = 0;
      for (const packet of framer.push(chunk)) this.ondatagram?.(packet, remote);
    };
    let ended = false;
    stream.onclose = (reason) => {
      if (ended) return;
      ended = true;
      const current = this.byRemote.get(key) === entry;
      if (current && !entry.heard && !this.closed) entry.earlyCloses++;
      if (current && !entry.heard && !this.closed && entry.reopen?.()) {
        // Opened again: what went unanswered goes first on the new stream.
        entry.stream = undefined;
        entry.queue.unshift(...entry.unanswered.splice(0));
        return;
      }
      if (current) this.byRemote.delete(key);
      const early = entry.earlyCloses > 1 ? `the connection closed before any answer, ${entry.earlyCloses} times` : 'the connection closed';
      this.unreachable(remote, reason?.message ?? early);
    };
    for (const frame of entry.queue.splice(0)) this.send(entry, frame);
  }

  private send(entry: Connection, frame: Uint8Array): void {
    if (!entry.heard && entry.reopen && entry.unanswered.length < MAX_REPLAYED) entry.unanswered.push(frame);
    entry.stream!.write(frame);
  }

  /** Opening `remote` failed. */
  failed(remote: TransportAddress, reason: string): void {
    this.byRemote.delete(keyOf(remote));
    this.unreachable(remote, reason);
  }

  /** Writes one packet to `remote`'s connection; false if there is none. A packet over 65 535 bytes is dropped. */
  write(remote: TransportAddress, packet: Uint8Array): boolean {
    const entry = this.byRemote.get(keyOf(remote));
    if (!entry) return false;
    if (packet.length > RFC4571_MAX_PACKET) return true;
    const frame = frameRfc4571(packet);
    if (entry.stream) this.send(entry, frame);
    else entry.queue.push(frame);
    return true;
  }

  close(): void {
    this.closed = true;
    for (const entry of this.byRemote.values()) entry.stream?.close();
    this.byRemote.clear();
  }

  private unreachable(remote: TransportAddress, reason: string): void {
    if (!this.closed) this.onunreachable?.(new DestinationUnreachableError('tcp-closed', remote, `TCP to ${remote.address}:${remote.port}: ${reason}`));
  }
}

/** A TCP candidate's socket: its handlers are its connections' (what both directions share). */
abstract class StreamCandidateSocket implements DatagramSocket {
  abstract readonly localAddress: TransportAddress;
  onclose: ((reason?: Error) => void) | null = null;
  protected readonly connections: StreamConnections;
  protected closed = false;

  constructor(options: StreamCandidateOptions) {
    this.connections = new StreamConnections(options);
  }

  get ondatagram(): DatagramHandler | null {
    return this.connections.ondatagram;
  }
  set ondatagram(handler: DatagramHandler | null) {
    this.connections.ondatagram = handler;
  }
  get onunreachable(): UnreachableHandler | null {
    return this.connections.onunreachable;
  }
  set onunreachable(handler: UnreachableHandler | null) {
    this.connections.onunreachable = handler;
  }

  abstract send(bytes: Uint8Array, to: TransportAddress): void;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connections.close();
    this.release();
    this.onclose?.();
  }

  /** What a subclass releases besides its connections. */
  protected release(): void {}
}

/**
 * tcptype active (RFC 6544 §4.1): its candidate says port 9; sending to a remote opens a stream to it with
 * `open` (one per remote, kept) and frames go out once it is up. A stream that cannot be opened is unreachable.
 */
export class ActiveStreamSocket extends StreamCandidateSocket {
  readonly localAddress: TransportAddress;
  private readonly retryMs: readonly number[];

  constructor(
    address: string,
    private readonly open: (to: TransportAddress) => Promise<ByteStream>,
    options: StreamCandidateOptions = {},
    /** What else goes when it closes (the page's: the bridge socket that tells it of address changes). */
    private readonly onRelease?: () => void,
  ) {
    super(options);
    this.localAddress = { address, port: 9 };
    this.retryMs = options.earlyCloseRetryMs ?? STREAM_CANDIDATE_DEFAULTS.earlyCloseRetryMs;
  }

  protected override release(): void {
    this.onRelease?.();
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.closed || this.connections.write(to, bytes)) return;
    if (this.connections.size >= this.connections.maxConnections) {
      this.connections.failed(to, `more than maxConnections ${this.connections.maxConnections} TCP connections`);
      return;
    }
    let retries = 0;
    this.connections.opening(to, () => {
      if (retries >= this.retryMs.length) return false;
      setTimeout(() => this.connect(to), this.retryMs[retries++]);
      return true;
    });
    this.connections.write(to, bytes);
    this.connect(to);
  }

  private connect(to: TransportAddress): void {
    if (this.closed || !this.connections.has(to)) return;
    this.open(to).then(
      (stream) => (this.closed ? stream.close() : this.connections.adopt(stream, to)),
      (err: unknown) => this.connections.failed(to, err instanceof Error ? err.message : String(err)),
    );
  }
}

/**
 * tcptype passive (RFC 6544 §4.1): streams the runtime accepted on its listening address are handed to
 * `accept`; packets go back on the stream they came in on. Over `maxConnections`, a stream is closed at once.
 */
export class PassiveStreamSocket extends StreamCandidateSocket {
  constructor(
    readonly localAddress: TransportAddress,
    /** Stops the runtime's listener (on close). */
    private readonly stopListening: () => void,
    options: StreamCandidateOptions = {},
  ) {
    super(options);
  }

  /** A stream from `remote` the listener accepted. */
  accept(stream: ByteStream, remote: TransportAddress): void {
    if (this.closed || this.connections.size >= this.connections.maxConnections) return stream.close();
    this.connections.adopt(stream, remote);
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (!this.closed) this.connections.write(to, bytes);
  }

  protected override release(): void {
    this.stopListening();
  }
}
