// `icebridge peer`'s command line: its usage text and the options it parses, each checked (a UsageError
// names the option: exit 2). The run itself is peer.ts.
import type { IceServerConfig } from '../ice/gatherer.js';
import { parseIceServerUri } from '../net/ice-server-uri.js';
import { formatIp, parseIp } from '../net/ip.js';
import { listHostAddresses } from '../node/ice-agent.js';
import { ipOption, oneOf, parseCommandArgs, positiveInteger, UsageChecks, UsageError } from './args.js';

export const peerUsage = `icebridge peer --role controlling|controlled [options]

Runs one ICE agent. Its local description is written to stdout as RFC 8839 lines — a=ice-ufrag,
a=ice-pwd, a=ice-options (trickle, renomination), one a=candidate per candidate as it is gathered, then
a=end-of-candidates (not with --gather-policy continual) — and the peer's description is read from stdin
in the same form, line by line (ice-ufrag and ice-pwd before the candidates). Events are written to
stderr as JSON lines: state, gathering, selected, data, error. Two peers whose stdout and stdin are piped
to each other connect.

Exits 0 once connected (and, with --send, once the text came back; with --echo, once stdin has ended),
1 on failure or timeout, 2 on usage errors.

Options:
  --role R             controlling or controlled (a --lite agent is always controlled)
  --ice-server URI     a stun:, turn: or turns: server; repeatable
  --username U         TURN username (for every turn:/turns: server)
  --credential P       TURN password
  --policy P           all (default) or relay: offer and use relayed candidates only
  --lite               be an ICE-lite agent (RFC 8445 §2.5)
  --send TEXT          once connected, send TEXT (again every 500 ms) until it is echoed back
  --echo               send every datagram received back to the peer; run until stdin ends
  --timeout-ms N       give up after N ms in all (default 30000)
  --candidate-protocols P
                       udp (default), tcp, or udp,tcp: host candidates of these transports (TCP:
                       RFC 6544 active and passive candidates; a UDP pair always outranks a TCP one)
  --address A          gather host candidates on this local address only; repeatable
                       (default: every interface address but loopback)
  --gather-policy P    once (default) or continual: keep watching the interfaces (those --address
                       names, or all but loopback), trickle the candidates of an address that appears
                       and drop those of one that goes, without an ICE restart; no a=end-of-candidates
  --network-poll-interval-ms N
                       with continual, look at the interfaces every N ms (default 2000)
  --insecure           with turns:, accept any TLS certificate (for test servers)
  --mdns-host-candidates on|off
                       on: hide host addresses behind fresh <uuid>.local names, answered by mDNS
                       while the peer runs (default off); the peer's .local candidates are always
                       resolved by mDNS on the gathered interfaces
  --mdns-timeout-ms N  give up resolving a peer's .local name after N ms (default 5000)`;

export interface PeerOptions {
  role: 'controlling' | 'controlled';
  iceServers: IceServerConfig[];
  policy: 'all' | 'relay';
  lite: boolean;
  send: string | undefined;
  echo: boolean;
  timeoutMs: number;
  addresses: string[] | undefined;
  insecure: boolean;
  mdnsHostCandidates: 'on' | 'off';
  mdnsTimeoutMs: number | undefined;
  candidateProtocols: ('udp' | 'tcp')[];
  gatherPolicy: 'once' | 'continual';
  networkPollIntervalMs: number | undefined;
}

export function parsePeerArgs(args: string[]): PeerOptions {
  const { values } = parseCommandArgs(
    args,
    {
      role: { type: 'string' },
      'ice-server': { type: 'string', multiple: true },
      username: { type: 'string' },
      credential: { type: 'string' },
      policy: { type: 'string', default: 'all' },
      lite: { type: 'boolean', default: false },
      send: { type: 'string' },
      echo: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      address: { type: 'string', multiple: true },
      insecure: { type: 'boolean', default: false },
      'mdns-host-candidates': { type: 'string', default: 'off' },
      'mdns-timeout-ms': { type: 'string' },
      'candidate-protocols': { type: 'string', default: 'udp' },
      'gather-policy': { type: 'string', default: 'once' },
      'network-poll-interval-ms': { type: 'string' },
    },
    false,
  );
  const checks = new UsageChecks();
  const role = values.role ?? (values.lite ? 'controlled' : undefined);
  checks.fail(role === undefined, 'missing --role (controlling or controlled)');
  const roleChoice = role === undefined ? undefined : checks.take(() => oneOf('role', role, ['controlling', 'controlled'] as const));
  checks.fail(values.lite && role === 'controlling', 'an ICE-lite agent is always controlled');
  const policy = checks.take(() => oneOf('policy', values.policy, ['all', 'relay'] as const));
  const timeoutMs = checks.take(() => positiveInteger('timeout-ms', values['timeout-ms'])) ?? 30_000;
  const urls = values['ice-server'] ?? [];
  let turn = false;
  for (const url of urls) {
    try {
      turn ||= parseIceServerUri(url).scheme.startsWith('turn');
    } catch (err) {
      const reason = (err as { reason?: unknown }).reason;
      checks.fail(true, `--ice-server ${JSON.stringify(url)} is not a STUN/TURN URI: ${typeof reason === 'string' ? reason : String(err)}`);
      turn ||= /^turns?:/i.test(url); // its mistake is named; do not also call it missing
    }
  }
  checks.fail(turn && (values.username === undefined || values.credential === undefined), 'a turn: server needs --username and --credential');
  checks.fail(policy === 'relay' && !turn, '--policy relay needs a turn: or turns: --ice-server');
  checks.fail(values.lite && policy === 'relay', 'an ICE-lite agent has host candidates only');
  const mdnsHostCandidates = checks.take(() => oneOf('mdns-host-candidates', values['mdns-host-candidates'], ['on', 'off'] as const));
  const mdnsTimeoutMs = checks.take(() => positiveInteger('mdns-timeout-ms', values['mdns-timeout-ms']));
  const protocols = values['candidate-protocols'].split(',').map((p) => p.trim().toLowerCase());
  checks.fail(
    protocols.length === 0 || !protocols.every((p) => p === 'udp' || p === 'tcp') || new Set(protocols).size !== protocols.length,
    `--candidate-protocols must be udp, tcp or udp,tcp, got ${JSON.stringify(values['candidate-protocols'])}`,
  );
  checks.fail(values.lite && protocols.includes('tcp'), 'an ICE-lite agent here gathers UDP host candidates only: use --candidate-protocols udp');
  const gatherPolicy = checks.take(() => oneOf('gather-policy', values['gather-policy'], ['once', 'continual'] as const));
  const networkPollIntervalMs = checks.take(() => positiveInteger('network-poll-interval-ms', values['network-poll-interval-ms']));
  checks.fail(values['network-poll-interval-ms'] !== undefined && values['gather-policy'] !== 'continual', '--network-poll-interval-ms goes with --gather-policy continual');
  const addresses = values.address ? checks.take(() => checkAddresses(values.address!)) : undefined;
  checks.done();
  const iceServers: IceServerConfig[] = urls.map((u) => (u.toLowerCase().startsWith('turn') ? { urls: u, username: values.username, credential: values.credential } : { urls: u }));
  // Past done(), each choice was given and is one of its values.
  return {
    role: roleChoice!,
    iceServers,
    policy: policy!,
    lite: values.lite,
    send: values.send,
    echo: values.echo,
    timeoutMs,
    addresses,
    insecure: values.insecure,
    mdnsHostCandidates: mdnsHostCandidates!,
    mdnsTimeoutMs,
    candidateProtocols: protocols as ('udp' | 'tcp')[],
    gatherPolicy: gatherPolicy!,
    networkPollIntervalMs,
  };
}

/** --address values in RFC 5952 form, each an address of this machine. */
function checkAddresses(texts: string[]): string[] {
  const local = new Set(listHostAddresses({ includeLinkLocal: true }).map((h) => h.address));
  return texts.map((text) => {
    const address = formatIp(parseIp(ipOption('address', text)));
    if (!local.has(address)) throw new UsageError(`--address must be an address of this machine, got ${JSON.stringify(text)}`);
    return address;
  });
}
