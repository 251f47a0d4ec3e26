// TCP listeners for WebTransport bridge sessions (protocol v2 `listen`), made with Deno.listen — the Deno
// twin of listenTcp in bridge/stream-connector.ts: a port asked for, or one of a range tried from a random
// point, or any free one; each connection a DenoStream that reads once the engine took it.
import type { DriverListener, DriverListenerEvents } from '../../src/bridge/session-driver.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { DenoStream, errorText } from './stream-connector.js';

/** How many ports of a range a listen for port 0 tries before it gives up (as the Node bridge). */
const LISTEN_ATTEMPTS = 32;

/** ::ffff:1.2.3.4 (an IPv4 peer on a dual-stack socket) as 1.2.3.4. */
function addressOf(addr: Deno.NetAddr): TransportAddress {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr.hostname);
  return { address: mapped ? mapped[1] : addr.hostname, port: addr.port };
}

function candidatePorts(port: number, range: readonly [number, number] | undefined): number[] {
  if (port !== 0 || range === undefined) return [port];
  const span = range[1] - range[0] + 1;
  const start = Math.floor(Math.random() * span);
  const ports: number[] = [];
  for (let i = 0; i < Math.min(span, LISTEN_ATTEMPTS); i++) ports.push(range[0] + ((start + i) % span));
  return ports;
}

/** Listens on `hostname`; reports asynchronously, as the session driver expects. */
export function listenDeno(hostname: string, port: number, range: readonly [number, number] | undefined, events: DriverListenerEvents<DenoStream>): DriverListener {
  let listener: Deno.TcpListener | undefined;
  let closed = false;
  let reason = '';
  for (const p of candidatePorts(port, range)) {
    try {
      listener = Deno.listen({ hostname, port: p, transport: 'tcp' });
      break;
    } catch (err) {
      reason = errorText(err);
      if (!(err instanceof Deno.errors.AddrInUse)) break;
    }
  }
  const close = () => {
    closed = true;
    try {
      listener?.close();
    } catch {
      // Closed already.
    }
  };
  if (listener === undefined) {
    queueMicrotask(() => events.failed(reason));
    return { close };
  }
  const open = listener;
  queueMicrotask(async () => {
    if (closed) return;
    events.listening(addressOf(open.addr));
    try {
      for await (const conn of open) {
        if (closed) {
          conn.close();
          continue;
        }
        const remote = addressOf(conn.remoteAddr);
        const stream = DenoStream.accepted(conn, remote);
        events.accepted(stream, addressOf(conn.localAddr), remote, (streamEvents) => stream.wire(streamEvents));
      }
    } catch (err) {
      if (!closed) events.closed(errorText(err));
    }
  });
  return { close };
}
