// An RFC 6062 TCP allocation over byte streams, for any runtime that can open one to the TURN server — the
// page's bridge streams among them: the control connection is tcp-allocation-control.ts's, and each peer
// that connects to the relayed address (CONNECTION-ATTEMPT, §4.4) gets a new connection that ConnectionBinds
// and then carries the peer's bytes as they are (§4.5). What passive relayed ICE-TCP candidates need
// (ice/tcp-relays.ts), and a Connect (§4.3) for active ones, bound the same way.
import { FramedStreamSocket, type ByteStream } from '../net/framed-stream-socket.js';
import type { TransportAddress } from '../net/transport-address.js';
import { TurnError } from './errors.js';
import type { TurnTcpAllocationOptions } from './tcp-allocation.js';
import { openTcpAllocationControl } from './tcp-allocation-control.js';
import { ConnectionBinder } from './tcp-connection-bind.js';

/** A TCP allocation whose peers connect to it: what a passive relayed TCP candidate is made of. */
export interface TcpRelayAllocation {
  readonly relayedAddress: TransportAddress;
  readonly mappedAddress: TransportAddress | undefined;
  /** RFC 6062 §5.3: a peer may connect to the relayed address only with a permission for its IP. */
  createPermission(peerIp: string): Promise<void>;
  /**
   * §4.3: the server connects to `peer` from the relayed address; resolves with the bound data connection
   * (the peer's bytes as they are), rejects with a TurnError (447: no connection). Without it, no active
   * relayed candidate is offered.
   */
  connect?(peer: TransportAddress): Promise<ByteStream>;
  /** A peer connected and its data connection is bound: the peer's bytes as they are (§4.5). */
  onconnection: ((stream: ByteStream, peer: TransportAddress) => void) | null;
  /** The allocation ended (its control connection closed, a refresh failed). */
  onclose: ((error?: Error) => void) | null;
  close(): void;
}

export interface StreamTcpAllocationOptions extends TurnTcpAllocationOptions {
  /** Opens a new connection to the TURN server (the control one, then one per peer), over its transport. */
  connect: () => Promise<ByteStream>;
  /** Give up on the Allocate, or a ConnectionBind, after this long. Default 10 000 ms. */
  timeoutMs?: number;
}

/** Resolves once the allocation is made; rejects with a TurnError (its code: 401, 437, 486, 408 for no answer). */
export async function openStreamTcpAllocation(options: StreamTcpAllocationOptions): Promise<TcpRelayAllocation> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const framed = new FramedStreamSocket(await options.connect(), { address: '0.0.0.0', port: 0 }, options.server);
  const control = await openTcpAllocationControl(framed, options, timeoutMs);
  const allocation: TcpRelayAllocation = {
    relayedAddress: control.relayedAddress,
    mappedAddress: control.mappedAddress,
    onconnection: null,
    onclose: null,
    createPermission: (peerIp) => control.createPermission(peerIp),
    connect: async (peer) => bindDataConnection(options.connect, new ConnectionBinder(control.credentials, await control.connect(peer)), timeoutMs),
    close: () => control.close(),
  };
  control.onattempt = (connectionId, peer) => {
    const accept = allocation.onconnection;
    if (!accept) return; // §5.3: no ConnectionBind, so the server closes it after its timeout
    bindDataConnection(options.connect, new ConnectionBinder(control.credentials, connectionId), timeoutMs).then(
      (stream) => (control.ended ? stream.close() : accept(stream, peer)),
      () => {},
    );
  };
  control.onclose = (error) => allocation.onclose?.(error);
  return allocation;
}

/**
 * §4.3/§4.4: a new connection, ConnectionBind with the allocation's credentials; once it succeeds the
 * connection is the peer's, the bytes that followed the response first (held until `ondata` is set).
 */
async function bindDataConnection(connect: () => Promise<ByteStream>, binder: ConnectionBinder, timeoutMs: number): Promise<ByteStream> {
  const stream = await connect();
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      clearTimeout(timer);
      stream.ondata = stream.onclose = null;
      stream.close();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TurnError(408, 'no answer to the ConnectionBind', 'allocate', 'timeout')), timeoutMs);
    stream.onclose = (reason) => fail(reason ?? new TurnError(0, 'the data connection closed before its ConnectionBind was answered', 'allocate', 'closed'));
    stream.ondata = (chunk) => {
      const progress = binder.receive(chunk);
      for (const bytes of progress.send) stream.write(bytes);
      if (progress.error) fail(progress.error);
      else if (progress.bound) {
        clearTimeout(timer);
        resolve(peerStream(stream, progress.bound.rest));
      }
    };
    stream.write(binder.start());
  });
}

/** The bound connection as the peer's stream: `first` (what came after the response) goes to the first ondata. */
function peerStream(stream: ByteStream, first: Uint8Array): ByteStream {
  const held: Uint8Array[] = first.length > 0 ? [first] : [];
  let handler: ((bytes: Uint8Array) => void) | null = null;
  const view: ByteStream = {
    write: (bytes) => stream.write(bytes),
    close: () => stream.close(),
    get ondata() {
      return handler;
    },
    set ondata(h) {
      handler = h;
      if (h) for (const bytes of held.splice(0)) h(bytes);
    },
    onclose: null,
    onend: null,
  };
  stream.ondata = (bytes) => {
    if (handler) handler(bytes);
    else held.push(bytes);
  };
  stream.onclose = (reason) => view.onclose?.(reason);
  stream.onend = () => view.onend?.();
  if (stream.end) view.end = () => stream.end!();
  return view;
}
