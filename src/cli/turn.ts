// `icebridge turn <turn:URI> --username U --credential P --peer host:port [--bridge URL]`: allocate a relayed
// address, add a permission for the peer, bind a channel to it, send a datagram through the relay and wait for
// the reply — from this machine, or all through a bridge as a page would.
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { BridgeConnection } from '../net/bridge-client.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { parseIceServerUri } from '../net/ice-server-uri.js';
import { familyOf, formatTransportAddress, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import { connectBridge } from '../node/bridge-client.js';
import { allocateTurn } from '../node/turn-client.js';
import { TurnRelaySocket } from '../turn/relay-socket.js';
import { missing, parseCommandArgs, positiveInteger, turnServerArgument, UsageChecks } from './args.js';
import type { CliIO } from './main.js';

export const turnUsage = `icebridge turn <turn:host[:port][?transport=udp|tcp] | turns:host[:port]> --username U --credential P --peer host:port [options]

Allocates a relayed address on the TURN server, creates a permission for the peer, binds a channel to it,
sends a datagram to the peer through the channel and waits for the same bytes to come back (an echo peer).
Exits 0 when the echo came back, 1 otherwise.

Options:
  --username U      TURN username (long-term credential, or a TURN REST "<expiry>:<user>" name)
  --credential P    TURN password
  --peer host:port  the peer to send to (an echo server); IPv6 as [addr]:port, which asks for an IPv6
                    relay (REQUESTED-ADDRESS-FAMILY); otherwise an IPv4 relay, or IPv6 if the server
                    answers 440 (relays IPv6 only), a peer name then resolving in the relay's family
  --json            print {"relayed","mapped","peer","echoed","rttMs","channel"} as JSON
  --timeout-ms N    give up after N ms in all (default 10000)
  --insecure        with turns:, accept any TLS certificate (for test servers; not with --bridge)
  --bridge URL      do it all through an icebridge bridge (ws://…?username=…&credential=…), as a page
                    would: the bridge resolves the server's and the peer's names and reaches the server
                    from its UDP socket, or its TCP/TLS stream for ?transport=tcp and turns: (checking
                    the certificate itself); a destination its policy refuses fails with its reason`;

/** How often the probe is sent again while no echo has come back (UDP may drop it). */
const PROBE_INTERVAL_MS = 500;

export async function runTurn(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    username: { type: 'string' },
    credential: { type: 'string' },
    peer: { type: 'string' },
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string' },
    insecure: { type: 'boolean', default: false },
    bridge: { type: 'string' },
  });
  const [uri] = positionals;
  const checks = new UsageChecks();
  if (uri === undefined) throw missing('the TURN server (turn:host[:port][?transport=udp|tcp] or turns:host[:port])');
  checks.fail(positionals.length > 1, `one server only, got also ${JSON.stringify(positionals[1])}`);
  checks.take(() => turnServerArgument(uri));
  const absent = (['username', 'credential', 'peer'] as const).filter((name) => values[name] === undefined).map((name) => `--${name}`);
  checks.fail(absent.length > 0, `missing ${absent.length === 1 ? absent[0] : `${absent.slice(0, -1).join(', ')} and ${absent.at(-1)}`}`);
  const peerText = values.peer ?? '';
  const peerPort = Number(/:(\d+)$/.exec(peerText)?.[1]);
  checks.fail(
    values.peer !== undefined && (!/^(\[[^\]]+\]|[^:]+):\d+$/.test(peerText) || !(peerPort >= 1 && peerPort <= 65535)),
    `--peer must be host:port (IPv6 as [addr]:port), got ${JSON.stringify(peerText)}`,
  );
  const timeoutMs = checks.take(() => positiveInteger('timeout-ms', values['timeout-ms'])) ?? 10_000;
  checks.fail(
    values.bridge !== undefined && values.insecure,
    '--insecure does not apply with --bridge: the bridge checks certificates (its --tls-ca, --tls-insecure)',
  );
  checks.done();
  const deadline = Date.now() + timeoutMs;
  let socket: TurnRelaySocket | undefined;
  let connection: BridgeConnection | undefined;
  try {
    // RFC 8656 §10.1: the relay must be of the peer's family. An IPv6 literal asks for an IPv6 relay; otherwise
    // the server's default (IPv4), and a 440 brings one try of IPv6 (the TurnClient's familyFallback).
    const peerHost = /^\[([^\]]+)\]/.exec(peerText)?.[1] ?? peerText.slice(0, peerText.lastIndexOf(':'));
    const family: AddressFamily | undefined = isIP(peerHost) === 6 ? 'IPv6' : undefined;
    const credentials = { username: values.username!, credential: values.credential!, timeoutMs, ...(family ? { family } : {}) };
    if (values.bridge !== undefined) {
      const opening = connectBridge(values.bridge, { connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
      connection = await withDeadline(opening, deadline, 'connecting to the bridge');
      socket = await withDeadline(allocateThroughBridge(connection, uri, credentials), deadline, 'allocating');
    } else {
      socket = await withDeadline(allocateTurn(uri, { ...credentials, tls: values.insecure ? { rejectUnauthorized: false } : undefined }), deadline, 'allocating');
    }
    // A peer name resolves in the relayed address's family (RFC 8656 §10.1: peers of that family only): AAAA for an IPv6 relay.
    const peer = await resolvePeer(peerText, familyOf(socket.localAddress.address), connection?.resolveHost ?? lookupHost);
    await withDeadline(socket.createPermission(peer), deadline, 'creating the permission');
    const channel = await withDeadline(socket.bindChannel(peer), deadline, 'binding a channel');
    const echo = await probe(socket, peer, deadline);
    const out = {
      relayed: formatTransportAddress(socket.localAddress),
      mapped: socket.mappedAddress ? formatTransportAddress(socket.mappedAddress) : null,
      peer: formatTransportAddress(peer),
      echoed: echo !== undefined,
      rttMs: echo === undefined ? null : Math.round(echo * 1000) / 1000,
      channel,
    };
    if (values.json) io.stdout(JSON.stringify(out));
    else {
      io.stdout(
        `relayed ${out.relayed}  (mapped ${out.mapped ?? '-'}, channel 0x${channel.toString(16)})\n` +
          (out.echoed ? `echo from ${out.peer} in ${out.rttMs} ms` : `no echo from ${out.peer}`),
      );
    }
    await closeWithin(socket, deadline);
    return out.echoed ? 0 : 1;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: string | number }).code ?? 'ERROR';
    if (values.json) io.stdout(JSON.stringify({ error: { code, message } }));
    io.stderr(`icebridge turn: ${message}`);
    if (socket) await closeWithin(socket, deadline);
    return 1;
  } finally {
    connection?.close();
  }
}

/**
 * An allocation as a page makes one (RFC 8656 over the isomorphic TurnRelaySocket): the server's name
 * resolved on the bridge, a bridge UDP socket or TCP/TLS stream as the base, closed with the allocation.
 */
async function allocateThroughBridge(
  connection: BridgeConnection,
  text: string,
  options: { username: string; credential: string; timeoutMs: number; family?: AddressFamily },
): Promise<TurnRelaySocket> {
  const uri = parseIceServerUri(text);
  if (uri.scheme !== 'turn' && uri.scheme !== 'turns') throw new TypeError(`'${text}' is not a turn: or turns: URI`);
  const address = isIP(uri.host) ? uri.host : await connection.resolveHost(uri.host);
  const server = { address, port: uri.port };
  const base: DatagramSocket =
    uri.transport === 'udp' ? await connection.bind({ family: familyOf(address) }) : await connection.openStreamSocket(server, uri.transport, uri.host);
  try {
    return await TurnRelaySocket.allocate(base, { ...options, server, transport: uri.transport, closeBase: true });
  } catch (err) {
    base.close();
    throw err;
  }
}

async function lookupHost(host: string, family: AddressFamily): Promise<string> {
  return (await lookup(host, { family: family === 'IPv6' ? 6 : 4 })).address;
}

/** Sends a random probe through the relay every PROBE_INTERVAL_MS; resolves with the RTT of the first echo. */
function probe(socket: TurnRelaySocket, peer: TransportAddress, deadline: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sentAt = new Map<string, number>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (rtt: number | undefined) => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      socket.ondatagram = null;
      resolve(rtt);
    };
    socket.ondatagram = (bytes, from) => {
      if (from.port !== peer.port || from.address !== peer.address) return;
      const key = Buffer.from(bytes).toString('hex');
      const at = sentAt.get(key);
      if (at !== undefined) finish(performance.now() - at);
    };
    const send = () => {
      const bytes = new Uint8Array(randomBytes(16));
      sentAt.set(Buffer.from(bytes).toString('hex'), performance.now());
      socket.send(bytes, peer);
      timer = setTimeout(send, PROBE_INTERVAL_MS);
    };
    const giveUp = setTimeout(() => finish(undefined), Math.max(0, deadline - Date.now()));
    send();
  });
}

async function resolvePeer(text: string, family: AddressFamily, resolve: (host: string, family: AddressFamily) => Promise<string>): Promise<TransportAddress> {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`--peer '${text}' is not host:port`);
  const host = m[1];
  return { address: isIP(host) ? host : await resolve(host, family), port };
}

function withDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out ${what}`)), Math.max(0, deadline - Date.now()));
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Deletes the allocation, waiting for the answer at most until the deadline (and at least a moment). */
async function closeWithin(socket: TurnRelaySocket, deadline: number): Promise<void> {
  socket.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([socket.closed, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(1000, deadline - Date.now()))))]);
  clearTimeout(timer);
  socket.abort(); // no answer to the deleting Refresh in time: stop retransmitting it, the server lets it expire
}
