// `icebridge serve`: the servers icebridge offers, in one process. For now the STUN server; the TURN
// server, the bridge and the example pages join it in later work.
import { parseArgs } from 'node:util';
import { formatTransportAddress } from '../net/transport-address.js';
import { startStunServer } from '../node/stun-server.js';
import type { CliIO } from './main.js';

export const serveUsage = `icebridge serve [options]

Runs icebridge's servers until Ctrl-C (SIGINT) or SIGTERM.

Options:
  --stun-port N     UDP port of the STUN server (default 3478; 0 picks a free port)
  --host ADDR       address to listen on, repeatable (default 0.0.0.0)
  --software TEXT   SOFTWARE attribute in responses (default "icebridge"; "" for none)`;

export async function runServe(args: string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'stun-port': { type: 'string', default: '3478' },
      host: { type: 'string', multiple: true },
      software: { type: 'string' },
    },
  });
  const port = Number(values['stun-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr('icebridge serve: --stun-port must be 0..65535');
    return 2;
  }
  let server;
  try {
    server = await startStunServer({ port, hosts: values.host ?? ['0.0.0.0'], software: values.software });
  } catch (err) {
    io.stderr(`icebridge serve: cannot start the STUN server: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  io.stdout(`STUN server listening on udp ${server.addresses.map(formatTransportAddress).join(', ')}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  const c = server.engine.counters;
  io.stdout(`stopped; answered ${c.answered} Binding requests`);
  return 0;
}
