// `icebridge stun <host:port | stun:URI | stuns:URI> [--tcp] [--json] [--timeout-ms N] [--bridge URL]`: one Binding transaction.
import type { DatagramSocket } from '../net/datagram-socket.js';
import { parseIceServerUri } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import { familyOf, formatTransportAddress } from '../net/transport-address.js';
import { connectBridge } from '../node/bridge-client.js';
import { stunBinding } from '../node/stun-binding.js';
import { stunBinding as stunBindingOver, type StunBindingResult } from '../stun/binding.js';
import { parseCommandArgs, positiveInteger, stunServerArgument, UsageChecks } from './args.js';
import type { CliIO } from './main.js';

export const stunUsage = `icebridge stun <host[:port] | stun:host[:port] | stuns:host[:port]> [options]

Sends one STUN Binding request and prints the mapped (server-reflexive) address and the round-trip time.

Options:
  --json            print {"mapped","local","server","rttMs"} as JSON
  --timeout-ms N    give up after N ms (default: the RFC 8489 schedule, 39.5 s)
  --rto-ms N        initial retransmission timeout (default 500)
  --tcp             over TCP instead of UDP (RFC 8489 §6.2.2; stun: servers only)
  --insecure        with stuns:, accept any TLS certificate (for test servers; not with --bridge)
  --bridge URL      do it all through an icebridge bridge (ws://…?username=…&credential=…), as a page
                    would: the bridge resolves the name and sends from its UDP socket (or its TCP/TLS
                    stream for stuns: and turn:…?transport=tcp, checking the certificate itself); the
                    mapped address is then the bridge host's, and a destination the bridge's policy
                    refuses fails at once with the bridge's reason`;

export async function runStun(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string' },
    'rto-ms': { type: 'string' },
    tcp: { type: 'boolean', default: false },
    insecure: { type: 'boolean', default: false },
    bridge: { type: 'string' },
  });
  const [text] = positionals;
  const checks = new UsageChecks();
  checks.fail(text === undefined, 'missing the STUN server (host:port, stun:host[:port] or stuns:host[:port])');
  checks.fail(positionals.length > 1, `one server only, got also ${JSON.stringify(positionals[1])}`);
  const uri = text === undefined ? undefined : checks.take(() => stunServerArgument(text, 'stun'));
  checks.fail(values.tcp && uri !== undefined && uri.scheme !== 'stun', '--tcp is for stun: servers (stuns: already runs over TLS/TCP)');
  checks.fail(
    values.bridge !== undefined && values.insecure,
    '--insecure does not apply with --bridge: the bridge checks certificates (its --tls-ca, --tls-insecure)',
  );
  const timeoutMs = checks.take(() => positiveInteger('timeout-ms', values['timeout-ms']));
  const rtoMs = checks.take(() => positiveInteger('rto-ms', values['rto-ms']));
  checks.done();
  // The URI grammar says TCP only for turn: (RFC 7065); STUN over TCP goes to the same kind of server.
  const { host: name, port, scheme } = uri!; // done() threw unless the server was given and parsed
  const host = name.includes(':') ? `[${name}]` : name;
  const server = values.tcp ? `turn:${host}:${port}?transport=tcp` : `${scheme}:${host}:${port}`;
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
      uri.transport === 'udp' ? await connection.bind({ family: familyOf(address), connect: to }) : await connection.openStreamSocket(to, uri.transport, uri.host);
    return await stunBindingOver(to, { socket, reliable: uri.transport !== 'udp', timeoutMs, rtoMs });
  } finally {
    connection.close();
  }
}
