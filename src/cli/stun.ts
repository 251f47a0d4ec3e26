// `icebridge stun <host:port | stun:URI> [--json] [--timeout-ms N]`: one Binding transaction.
import { parseArgs } from 'node:util';
import { formatTransportAddress } from '../net/transport-address.js';
import { stunBinding } from '../node/stun-binding.js';
import type { CliIO } from './main.js';

export const stunUsage = `icebridge stun <host:port | stun:URI | stuns:URI> [options]

Sends one STUN Binding request and prints the mapped (server-reflexive) address and the round-trip time.

Options:
  --json            print {"mapped","local","server","rttMs"} as JSON
  --timeout-ms N    give up after N ms (default: the RFC 8489 schedule, 39.5 s)
  --rto-ms N        initial retransmission timeout (default 500)
  --insecure        with stuns:, accept any TLS certificate (for test servers)`;

export async function runStun(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      'rto-ms': { type: 'string' },
      insecure: { type: 'boolean', default: false },
    },
  });
  const [server] = positionals;
  if (!server || positionals.length > 1) {
    io.stderr(`Usage: ${stunUsage}`);
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
    const r = await stunBinding(server, { timeoutMs, rtoMs, tls: values.insecure ? { rejectUnauthorized: false } : undefined });
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
