// `icebridge stun <host:port | stun:URI> [--json] [--timeout-ms N] [--bridge URL]`: one Binding transaction.
import { parseArgs } from 'node:util';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { parseIceServerUri } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import { familyOf, formatTransportAddress } from '../net/transport-address.js';
import { connectBridge } from '../node/bridge-client.js';
import { stunBinding } from '../node/stun-binding.js';
import { stunBinding as stunBindingOver, type StunBindingResult } from '../stun/binding.js';
import type { CliIO } from './main.js';

export const stunUsage = `icebridge stun <host:port | stun:URI | stuns:URI> [options]

Sends one STUN Binding request and prints the mapped (server-reflexive) address and the round-trip time.

Options:
  --json            print {"mapped","local","server","rttMs"} as JSON
  --timeout-ms N    give up after N ms (default: the RFC 8489 schedule, 39.5 s)
  --rto-ms N        initial retransmission timeout (default 500)
  --insecure        with stuns:, accept any TLS certificate (for test servers; not with --bridge)
  --bridge URL      do it all through an icebridge bridge (ws://…?username=…&credential=…), as a page
                    would: the bridge resolves the name and sends from its UDP socket (or its TCP/TLS
                    stream for stuns: and turn:…?transport=tcp, checking the certificate itself); the
                    mapped address is then the bridge host's, and a destination the bridge's policy
                    refuses fails at once with the bridge's reason`;

export async function runStun(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      'rto-ms': { type: 'string' },
      insecure: { type: 'boolean', default: false },
      bridge: { type: 'string' },
    },
  });
  const [server] = positionals;
  if (!server || positionals.length > 1) {
    io.stderr(`Usage: ${stunUsage}`);
    return 2;
  }
  if (values.bridge !== undefined && values.insecure) {
    io.stderr('icebridge stun: --insecure does not apply with --bridge: the bridge checks certificates (its --tls-ca, --tls-insecure)');
    return 2;
  }
  const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
  const rtoMs = values['rto-ms'] === undefined ? undefined : Number(values['rto-ms']);
  for (const [name, v] of [['--timeout-ms', timeoutMs], ['--rto-ms', rtoMs]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
      io.stderr(`icebridge stun: ${name} must be a positive number`);
      return 2;
    }
  }
  try {
    const r = values.bridge !== undefined
      ? await bindingThroughBridge(server, values.bridge, timeoutMs, rtoMs)
      : await stunBinding(server, { timeoutMs, rtoMs, tls: values.insecure ? { rejectUnauthorized: false } : undefined });
    const out = {
      mapped: formatTransportAddress(r.mapped),
      local: formatTransportAddress(r.local),
      server: formatTransportAddress(r.server),
      rttMs: Math.round(r.rttMs * 1000) / 1000,
      ...(r.otherAddress ? { otherAddress: formatTransportAddress(r.otherAddress) } : {}),
      ...(r.software ? { software: r.software } : {}),
    };
    io.stdout(values.json ? JSON.stringify(out) : `mapped ${out.mapped}  (local ${out.local}, server ${out.server}, rtt ${out.rttMs} ms)`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (values.json) io.stdout(JSON.stringify({ error: { code: (err as { code?: string }).code ?? 'ERROR', message } }));
    io.stderr(`icebridge stun: ${message}`);
    return 1;
  }
}

/**
 * One Binding through the bridge, as a page runs it: the name resolved on the bridge, the isomorphic
 * stunBinding over a BridgeSocket (UDP) or a bridge stream (TCP/TLS).
 */
async function bindingThroughBridge(server: string, url: string, timeoutMs: number | undefined, rtoMs: number | undefined): Promise<StunBindingResult> {
  const uri = parseIceServerUri(/^(stuns?|turns?):/i.test(server) ? server : `stun:${server}`);
  const connection = await connectBridge(url, { connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  try {
    const address = isIp(uri.host) ? uri.host : await connection.resolveHost(uri.host);
    const to = { address, port: uri.port };
    const socket: DatagramSocket =
      uri.transport === 'udp' ? await connection.bind({ family: familyOf(address) }) : await connection.openStreamSocket(to, uri.transport, uri.host);
    return await stunBindingOver(to, { socket, reliable: uri.transport !== 'udp', timeoutMs, rtoMs });
  } finally {
    connection.close();
  }
}
