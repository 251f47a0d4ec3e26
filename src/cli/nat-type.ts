// `icebridge nat-type --server stun:host:port [--json] [--bridge URL]`: RFC 5780 NAT behaviour discovery from
// this machine, or from the sockets of a bridge (the bridge host's NAT, as the inspector page sees it).
import { NatDiscoveryError } from '../nat/errors.js';
import { discoverNatBehavior as discoverOver, type NatBehaviorResult, type NatTestRecord } from '../nat/nat-discovery.js';
import { parseIceServerUri } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';
import { familyOf, formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { connectBridge } from '../node/bridge-client.js';
import { discoverNatBehavior } from '../node/nat-discovery.js';
import { missing, parseCommandArgs, positiveInteger, stunServerArgument, UsageChecks } from './args.js';
import type { CliIO } from './main.js';

export const natTypeUsage = `icebridge nat-type --server <stun:host:port | host:port> [options]

Finds out how the NAT in front of this machine behaves (RFC 5780): its mapping and filtering behaviour
(endpoint-independent, address-dependent, address-and-port-dependent — RFC 4787), whether it hairpins,
the classic name (full cone, restricted cone, port-restricted cone, symmetric) and what that means for ICE.
The server must support RFC 5780: two addresses and two ports (\`icebridge serve --host A --alt-address B\`,
or coturn with two --listening-ip).

Options:
  --server URI          the RFC 5780 STUN server (the first positional argument works too)
  --json                print the result as JSON (errors as {"error":{"code","message"}})
  --timeout-ms N        how long each test waits for its answer (default 3000); a NAT that filters makes
                        one or two tests wait this long
  --rto-ms N            initial retransmission timeout (default 500)
  --local-address A     bind the test sockets to this local address (default: any)
  --no-hairpin          skip the hairpinning test
  --lifetime            also probe the binding lifetime (RFC 5780 §4.6; takes minutes)
  --lifetime-max-ms N   longest idle time the lifetime probe tries (default 300000)
  --bridge URL          run the tests from UDP sockets of an icebridge bridge (ws://…?username=…&credential=…),
                        as the inspector page does: the result is the bridge host's NAT; the bridge resolves
                        the server's name and its announced host addresses tell "no NAT" from a NAT
                        (not with --local-address, nor --lifetime, whose idle waits outlast the bridge's
                        idle timeout)

Exits 0 with a result, 1 when the server cannot answer (no response, no RFC 5780 support), 2 on usage errors.`;

export async function runNatType(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    server: { type: 'string' },
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string' },
    'rto-ms': { type: 'string' },
    'local-address': { type: 'string' },
    'no-hairpin': { type: 'boolean', default: false },
    lifetime: { type: 'boolean', default: false },
    'lifetime-max-ms': { type: 'string' },
    bridge: { type: 'string' },
  });
  const server = values.server ?? positionals[0];
  if (server === undefined) throw missing('--server (stun:host[:port] or host:port)');
  const checks = new UsageChecks();
  checks.fail(positionals.length > (values.server === undefined ? 1 : 0), `one server only, got also ${JSON.stringify(positionals.at(-1))}`);
  const uri = checks.take(() => stunServerArgument(server, 'nat-type'));
  checks.fail(uri !== undefined && uri.transport !== 'udp', `NAT behaviour discovery runs over UDP: give a stun: server, not ${JSON.stringify(server)}`);
  const timeoutMs = checks.take(() => positiveInteger('timeout-ms', values['timeout-ms']));
  const rtoMs = checks.take(() => positiveInteger('rto-ms', values['rto-ms']));
  const lifetimeMaxMs = checks.take(() => positiveInteger('lifetime-max-ms', values['lifetime-max-ms']));
  checks.fail(
    values.bridge !== undefined && (values['local-address'] !== undefined || values.lifetime),
    `--bridge does not go with ${values.lifetime ? '--lifetime' : '--local-address'}`,
  );
  checks.done();
  try {
    const common = { timeoutMs, rtoMs, hairpinning: !values['no-hairpin'] };
    const result =
      values.bridge !== undefined
        ? await discoverThroughBridge(server, values.bridge, common)
        : await discoverNatBehavior(server, {
            ...common,
            localAddress: values['local-address'],
            bindingLifetime: values.lifetime ? { maxMs: lifetimeMaxMs } : false,
          });
    io.stdout(values.json ? JSON.stringify(result) : describe(result));
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof NatDiscoveryError ? err.code : ((err as { code?: string }).code ?? 'ERROR');
    if (values.json) io.stdout(JSON.stringify({ error: { code, message } }));
    io.stderr(`icebridge nat-type: ${message}`);
    return err instanceof TypeError || err instanceof RangeError ? 2 : 1;
  }
}

/** The tests from bridge sockets (a second one for hairpinning), as IcebridgeService.discoverNat runs them. */
async function discoverThroughBridge(
  server: string,
  url: string,
  options: { timeoutMs: number | undefined; rtoMs: number | undefined; hairpinning: boolean },
): Promise<NatBehaviorResult> {
  const uri = parseIceServerUri(/^(stuns?|turns?):/i.test(server) ? server : `stun:${server}`);
  if (uri.transport !== 'udp') throw new TypeError(`NAT behaviour discovery runs over UDP, not ${uri.transport} ('${server}')`);
  const connection = await connectBridge(url);
  try {
    const address = isIp(uri.host) ? uri.host : await connection.resolveHost(uri.host);
    const family = familyOf(address);
    const socket = await connection.bind({ family });
    try {
      // The bridge's announced host addresses, not this machine's: its sockets may be bound to a wildcard.
      return await discoverOver(
        { address, port: uri.port },
        { ...options, socket, openSocket: () => connection.bind({ family }), localAddresses: socket.hostAddresses },
      );
    } finally {
      socket.close();
    }
  } finally {
    connection.close();
  }
}

const f = (t: TransportAddress | undefined) => (t === undefined ? '-' : formatTransportAddress(t));

function describeTest(t: NatTestRecord): string {
  const head = `  ${t.test.padEnd(42)} → ${f(t.to).padEnd(21)}`;
  if (t.outcome === 'no response') return `${head} no response`;
  if (t.outcome === 'error') return `${head} error ${t.error ?? ''}`;
  const origin = t.responseOrigin ? ` (RESPONSE-ORIGIN ${f(t.responseOrigin)})` : '';
  return `${head} answered from ${f(t.from)}${origin}, mapped ${f(t.mapped)}, ${Math.round((t.rttMs ?? 0) * 10) / 10} ms`;
}

function describe(r: NatBehaviorResult): string {
  const hairpin = r.hairpinning !== undefined ? (r.hairpinning ? 'yes' : 'no') : !r.natted ? 'n/a (no NAT)' : (r.details.hairpinning ?? 'not tested');
  const lines = [
    `NAT type: ${r.classic}${r.natted ? '' : ' (no NAT)'}`,
    `  mapping:      ${r.mapping}`,
    `  filtering:    ${r.filtering}`,
    `  hairpinning:  ${hairpin}`,
    `  ICE:          ${r.ice} — ${r.iceNote}`,
    `  mapped address ${f(r.mappedAddress)} (local ${f(r.localAddress)}); server ${f(r.server)}, other address ${f(r.otherAddress)}`,
  ];
  if (r.details.serverBehindNat) lines.push('  note: the server\'s RESPONSE-ORIGIN differs from its address: something translates the server\'s side');
  if (r.bindingLifetime) {
    const b = r.bindingLifetime;
    lines.push(`  binding lifetime: at least ${b.atLeastMs / 1000} s${b.lessThanMs === undefined ? '' : `, less than ${b.lessThanMs / 1000} s`} (${b.trials.length} trials)`);
  }
  lines.push(`tests (${Math.round(r.details.durationMs)} ms):`, ...r.details.tests.map(describeTest));
  return lines.join('\n');
}
