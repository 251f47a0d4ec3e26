// `icebridge serve`: the servers icebridge offers, in one process. The TURN server (RFC 8656), which answers
// STUN Binding requests on the same port (STUN and TURN share 3478); the bridge and the example pages join
// it in later work. Without --user or --secret TURN is disabled: Allocate and the other TURN requests get
// 401 Unauthenticated (no credential can satisfy it) while STUN keeps working.
import { parseArgs } from 'node:util';
import { formatTransportAddress } from '../net/transport-address.js';
import { startTurnServer, type NodeTurnServerOptions } from '../node/turn-server.js';
import type { CliIO } from './main.js';

export const serveUsage = `icebridge serve [options]

Runs icebridge's servers until Ctrl-C (SIGINT) or SIGTERM: a STUN and TURN server on one UDP port.
TURN needs credentials (--user or --secret); without them it is disabled and STUN still works.

Options:
  --stun-port N         UDP port of the STUN/TURN server (default 3478; 0 picks a free port)
  --turn-port N         the same port, by its other name (STUN and TURN share it)
  --host ADDR           address to listen on, repeatable (default 0.0.0.0)
  --software TEXT       SOFTWARE attribute in responses (default "icebridge"; "" for none)
  --realm R             TURN realm (default "icebridge")
  --user NAME:PASSWORD  a TURN long-term credential, repeatable
  --secret S            TURN REST API shared secret (or set ICEBRIDGE_SECRET): credentials minted by
                        \`icebridge token\` or any app server with the same secret
  --relay-address A     address relay sockets bind on and clients are told, one per family
                        (default: the --host if specific, else the first non-loopback interface)
  --external-address A  public address announced instead of the relay address, one per family
                        (a server behind a 1:1 NAT, like coturn's --external-ip)
  --relay-ports MIN-MAX relay port range (default 49152-65535)
  --allow-loopback      relay to 127.0.0.0/8 and ::1 (tests; denied by default)
  --deny CIDR           also refuse relaying to this range, repeatable (0.0.0.0/8, link-local,
                        multicast and loopback are refused by default)
  --allow CIDR          always allow relaying to this range, repeatable (overrides --deny)
  --max-allocations N   allocations in total (default 1000; then 508)
  --user-quota N        allocations per user (default 10; then 486)
  --max-bps N           relayed bytes per second per allocation (default 2500000; excess dropped)`;

function count(text: string | undefined, name: string): number | undefined | Error {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : new Error(`--${name} must be a positive whole number`);
}

/** Turns the flags into server options, or an error message for a usage error. */
function serverOptions(values: Record<string, string | boolean | string[] | undefined>): NodeTurnServerOptions | string {
  const stunPort = values['stun-port'] as string | undefined;
  const turnPort = values['turn-port'] as string | undefined;
  if (stunPort !== undefined && turnPort !== undefined && stunPort !== turnPort) return '--stun-port and --turn-port name the same port; give one';
  const portText = stunPort ?? turnPort ?? '3478';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) return '--stun-port must be 0..65535';
  const users: Record<string, string> = {};
  for (const entry of (values.user as string[] | undefined) ?? []) {
    const colon = entry.indexOf(':');
    if (colon <= 0) return `--user takes NAME:PASSWORD, got ${JSON.stringify(entry)}`;
    users[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  let relayPortRange: { min: number; max: number } | undefined;
  const ports = values['relay-ports'] as string | undefined;
  if (ports !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(ports);
    relayPortRange = m ? { min: Number(m[1]), max: Number(m[2]) } : undefined;
    if (!relayPortRange || relayPortRange.min < 1 || relayPortRange.min > relayPortRange.max || relayPortRange.max > 65535) {
      return '--relay-ports takes MIN-MAX within 1-65535';
    }
  }
  const maxAllocations = count(values['max-allocations'] as string | undefined, 'max-allocations');
  const maxAllocationsPerUser = count(values['user-quota'] as string | undefined, 'user-quota');
  const bytesPerSecond = count(values['max-bps'] as string | undefined, 'max-bps');
  for (const n of [maxAllocations, maxAllocationsPerUser, bytesPerSecond]) if (n instanceof Error) return n.message;
  return {
    port,
    hosts: (values.host as string[] | undefined) ?? ['0.0.0.0'],
    software: values.software as string | undefined,
    realm: values.realm as string | undefined,
    users,
    secret: (values.secret as string | undefined) ?? (process.env.ICEBRIDGE_SECRET || undefined),
    relayAddress: values['relay-address'] as string[] | undefined,
    externalAddress: values['external-address'] as string[] | undefined,
    relayPortRange,
    allowLoopback: values['allow-loopback'] === true,
    deny: values.deny as string[] | undefined,
    allow: values.allow as string[] | undefined,
    maxAllocations: maxAllocations as number | undefined,
    maxAllocationsPerUser: maxAllocationsPerUser as number | undefined,
    bytesPerSecond: bytesPerSecond as number | undefined,
  };
}

export async function runServe(args: string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'stun-port': { type: 'string' },
      'turn-port': { type: 'string' },
      host: { type: 'string', multiple: true },
      software: { type: 'string' },
      realm: { type: 'string' },
      user: { type: 'string', multiple: true },
      secret: { type: 'string' },
      'relay-address': { type: 'string', multiple: true },
      'relay-ports': { type: 'string' },
      'external-address': { type: 'string', multiple: true },
      'allow-loopback': { type: 'boolean' },
      deny: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      'max-allocations': { type: 'string' },
      'user-quota': { type: 'string' },
      'max-bps': { type: 'string' },
    },
  });
  const options = serverOptions(values);
  if (typeof options === 'string') {
    io.stderr(`icebridge serve: ${options}`);
    return 2;
  }
  let server;
  try {
    server = await startTurnServer(options);
  } catch (err) {
    // Bad CIDRs, realms and the like are configuration errors found at construction.
    const usage = err instanceof RangeError || err instanceof TypeError;
    io.stderr(`icebridge serve: cannot start the STUN/TURN server: ${err instanceof Error ? err.message : String(err)}`);
    return usage ? 2 : 1;
  }
  const listening = server.addresses.map(formatTransportAddress).join(', ');
  io.stdout(`STUN server listening on udp ${listening}`);
  if (server.engine.turnEnabled) {
    const users = Object.keys(options.users ?? {}).length;
    const external = [options.externalAddress ?? []].flat();
    const announced = external.length > 0 ? ` (announced as ${external.join(', ')})` : '';
    const sources = [users > 0 ? `${users} user${users === 1 ? '' : 's'}` : '', options.secret ? 'REST API secret' : ''].filter(Boolean).join(' and ');
    io.stdout(`TURN server listening on udp ${listening}, realm "${server.engine.realm}", ${sources}, relaying from ${server.relayAddresses.join(', ')}${announced}`);
  } else {
    io.stdout('TURN disabled: no --user or --secret given (TURN requests are answered 401); STUN works');
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  const stun = server.engine.stun.counters;
  const turn = server.engine.counters;
  io.stdout(`stopped; answered ${stun.answered} Binding requests, created ${turn.allocations.created} TURN allocations`);
  return 0;
}
