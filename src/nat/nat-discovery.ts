// discoverNatBehavior(): RFC 5780 NAT behaviour discovery against a server with two addresses and two
// ports — mapping (§4.3), filtering (§4.4), hairpinning (§3.4) and, on request, the binding lifetime
// (§4.6). Sans-I/O underneath like stunBinding(): any DatagramSocket, any Clock.
//
// Order matters (§4.4: filtering tests are "sensitive to prior state on the NAT"): after test I, which only
// talks to the primary address, come the filtering tests — their responses come from addresses this socket
// has never sent to — and only then the mapping tests, which send to the alternate address and port.
import { realClock, type Clock } from '../net/clock.js';
import type { DatagramSocket } from '../net/datagram-socket.js';
import { formatTransportAddress, sameTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { probeBindingLifetime, type BindingLifetimeOptions, type BindingLifetimeResult } from './binding-lifetime.js';
import { NatDiscoveryError } from './errors.js';
import { classicNatType, describeIceOutlook, iceOutlook, type ClassicNatType, type IceOutlook, type NatBehavior } from './nat-behavior.js';
import { ProbeSession, type SessionOutcome } from './probe-session.js';
import { serverTarget } from '../stun/server-target.js';
import { checkMilliseconds } from '../net/option-checks.js';

export interface NatDiscoveryOptions {
  /** The socket the tests run from (borrowed: its handlers are put back). Use a fresh one (§4.1). */
  socket: DatagramSocket;
  /**
   * Opens one more socket on the same host, for the hairpinning test (§3.4) and the binding lifetime probe
   * (§4.6); it is closed when done. Without it those tests are skipped.
   */
  openSocket?: () => Promise<DatagramSocket>;
  clock?: Clock;
  /** How long each test waits for its response; an unanswered filtering test takes this long. Default 3000 ms. */
  timeoutMs?: number;
  /** Initial retransmission timeout (RFC 8489 §6.2.1, doubling). Default 500 ms. */
  rtoMs?: number;
  /** Least time between new transactions (RFC 5780 §5: ≤ 10 per second). Default 100 ms. */
  minIntervalMs?: number;
  /** Run the hairpinning test when `openSocket` is given. Default true. */
  hairpinning?: boolean;
  /** Probe the binding lifetime (§4.6; long: minutes). Needs `openSocket`. Default: off. */
  bindingLifetime?: boolean | BindingLifetimeOptions;
  /**
   * Addresses of this host, to tell "no NAT" when the socket is bound to a wildcard address (0.0.0.0 / ::)
   * and its localAddress says nothing. Default: only the socket's own address counts.
   */
  localAddresses?: readonly string[];
  /** Turns a host name into an IP address; needed only for names. */
  resolve?: (host: string) => Promise<string>;
}

/** One test as run, for people and logs. */
export interface NatTestRecord {
  /** e.g. 'I', 'filtering II (change IP and port)', 'mapping III (alternate address and port)'. */
  test: string;
  to: TransportAddress;
  outcome: 'response' | 'no response' | 'error';
  /** XOR-MAPPED-ADDRESS of the response. */
  mapped?: TransportAddress;
  /** Where the response came from (and RESPONSE-ORIGIN, if it differs: a NAT in front of the server). */
  from?: TransportAddress;
  responseOrigin?: TransportAddress;
  rttMs?: number;
  error?: string;
}

export interface NatBehaviorResult {
  /** RFC 4787 §4.1 mapping behaviour (RFC 5780 §4.3). */
  mapping: NatBehavior;
  /** RFC 4787 §5 filtering behaviour (RFC 5780 §4.4). */
  filtering: NatBehavior;
  /** False when the mapped address is the socket's own (§4.3 test I): no NAT, maybe a firewall. */
  natted: boolean;
  /** Whether the NAT loops traffic for its own public address back inside (§3.4); absent when not tested or untestable. */
  hairpinning?: boolean;
  /** The binding lifetime probe's findings (§4.6); absent unless asked for. */
  bindingLifetime?: BindingLifetimeResult;
  classic: ClassicNatType;
  ice: IceOutlook;
  /** One sentence on what `ice` means. */
  iceNote: string;
  /** The server-reflexive address of the socket, from test I. */
  mappedAddress: TransportAddress;
  /** The server's alternate address and port (OTHER-ADDRESS). */
  otherAddress: TransportAddress;
  localAddress: TransportAddress;
  server: TransportAddress;
  details: {
    tests: NatTestRecord[];
    /** RESPONSE-ORIGIN of test I differs from the server address: something translates the server's side. */
    serverBehindNat: boolean;
    /** Why `hairpinning` is absent although it was tried. */
    hairpinning?: string;
    durationMs: number;
  };
}

const WILDCARD = new Set(['0.0.0.0', '::']);

/**
 * Classifies the NAT in front of `options.socket` with a RFC 5780 server (`stun:host:port`, `host:port` or
 * a TransportAddress). Rejects with NatDiscoveryError when the server cannot answer the question.
 */
export async function discoverNatBehavior(server: string | TransportAddress, options: NatDiscoveryOptions): Promise<NatBehaviorResult> {
  if (!options?.socket) throw new TypeError('discoverNatBehavior needs options.socket: the DatagramSocket whose NAT to classify');
  checkMilliseconds('timeoutMs', options.timeoutMs);
  checkMilliseconds('rtoMs', options.rtoMs);
  const target = await resolveServer(server, options.resolve);
  const clock = options.clock ?? realClock;
  const timeoutMs = options.timeoutMs ?? 3000;
  const session = new ProbeSession({ clock, rtoMs: options.rtoMs ?? 500, timeoutMs, minIntervalMs: options.minIntervalMs ?? 100 });
  const started = clock.now();
  let extra: DatagramSocket | undefined;
  try {
    const main = session.attach(options.socket);
    const local = options.socket.localAddress;
    const tests: NatTestRecord[] = [];
    const run = async (test: string, to: TransportAddress, attributes: Parameters<ProbeSession['bind']>[2] = []): Promise<SessionOutcome> => {
      const outcome = await session.bind(to, main, attributes);
      tests.push(record(test, to, outcome));
      if (outcome.kind === 'error') {
        const code = outcome.code === 420 ? 'NO_RFC5780' : 'ERROR_RESPONSE';
        const why = outcome.code === 420 ? ' (it does not support RFC 5780 NAT behaviour discovery)' : '';
        throw new NatDiscoveryError(code, `${formatTransportAddress(to)} answered test ${test} with error ${outcome.code} ${outcome.reason}${why}`);
      }
      return outcome;
    };

    // §4.2 / §4.3 test I.
    const first = await run('I', target);
    if (first.kind !== 'success') throw new NatDiscoveryError('NO_RESPONSE', `no response from ${formatTransportAddress(target)} within ${timeoutMs} ms: no UDP connectivity to the server, or it is down`);
    const mapped = first.response.get('XOR-MAPPED-ADDRESS') ?? first.response.get('MAPPED-ADDRESS');
    const other = first.response.get('OTHER-ADDRESS');
    if (mapped === undefined) throw new NatDiscoveryError('ERROR_RESPONSE', 'the Binding response carries no (XOR-)MAPPED-ADDRESS');
    if (other === undefined) {
      throw new NatDiscoveryError('NO_RFC5780', `${formatTransportAddress(target)} does not support RFC 5780 NAT behaviour discovery: no OTHER-ADDRESS in its Binding response (coturn needs two listening IPs, icebridge serve --alt-address)`);
    }
    if (other.address === target.address || other.port === target.port) {
      throw new NatDiscoveryError('NO_RFC5780', `OTHER-ADDRESS ${formatTransportAddress(other)} does not differ from ${formatTransportAddress(target)} in both address and port`);
    }
    const origin = first.response.get('RESPONSE-ORIGIN');
    const natted = !isOwnAddress(mapped, local, options.localAddresses);

    // §4.4 test II: change IP and port — only endpoint-independent filtering lets the answer in.
    let filtering: NatBehavior;
    const both = await run('filtering II (change IP and port)', target, [['CHANGE-REQUEST', { changeIp: true, changePort: true }]]);
    if (both.kind === 'success') {
      checkChanged(both.from, target, true);
      filtering = 'endpoint-independent';
    } else {
      // §4.4 test III: change port only — address-dependent filtering lets it in, port-dependent does not.
      const port = await run('filtering III (change port)', target, [['CHANGE-REQUEST', { changeIp: false, changePort: true }]]);
      if (port.kind === 'success') checkChanged(port.from, target, false);
      filtering = port.kind === 'success' ? 'address-dependent' : 'address-and-port-dependent';
    }

    // §4.3 tests II and III (not needed without a NAT: "the effective mapping will be Endpoint-Independent").
    let mapping: NatBehavior = 'endpoint-independent';
    if (natted) {
      const alternateIp = { address: other.address, port: target.port };
      const second = await run('mapping II (alternate address)', alternateIp);
      const m2 = mappedOf(second, 'mapping II', alternateIp);
      if (!sameTransportAddress(m2, mapped)) {
        const third = await run('mapping III (alternate address and port)', other);
        const m3 = mappedOf(third, 'mapping III', other);
        mapping = sameTransportAddress(m3, m2) ? 'address-dependent' : 'address-and-port-dependent';
      }
    }

    const result: NatBehaviorResult = {
      mapping,
      filtering,
      natted,
      classic: classicNatType(natted, mapping, filtering),
      ice: iceOutlook(natted, mapping, filtering),
      iceNote: describeIceOutlook(natted, mapping, filtering),
      mappedAddress: mapped,
      otherAddress: other,
      localAddress: local,
      server: target,
      details: { tests, serverBehindNat: origin !== undefined && !sameTransportAddress(origin, target), durationMs: 0 },
    };

    const wantLifetime = options.bindingLifetime !== undefined && options.bindingLifetime !== false;
    if (options.openSocket && (options.hairpinning !== false || wantLifetime)) {
      extra = await options.openSocket();
      const second = session.attach(extra);
      if (options.hairpinning !== false && natted) {
        const hairpinned = await testHairpinning(session, main, second, target, mapped, timeoutMs);
        // A symmetric NAT that also filters drops hairpinned probes at a filter that never saw their source
        // (the sender's mapping towards the NAT's own address is a new one): a negative there proves nothing.
        if (hairpinned || mapping === 'endpoint-independent' || filtering === 'endpoint-independent') result.hairpinning = hairpinned;
        else result.details.hairpinning = 'untestable: a symmetric NAT that filters drops the probes whether or not it hairpins';
      }
      if (wantLifetime) {
        const lifetimeOptions = typeof options.bindingLifetime === 'object' ? options.bindingLifetime : {};
        result.bindingLifetime = await probeBindingLifetime(session, main, second, target, lifetimeOptions);
      }
    }
    result.details.durationMs = clock.now() - started;
    return result;
  } finally {
    session.close();
    extra?.close();
  }
}

/**
 * §3.4: a request sent from a second socket to the first one's mapped address comes back in only if the NAT
 * hairpins. The first socket sends towards the second's mapped address first, so a filtering NAT has seen
 * traffic to it (RFC 4787 §6: hairpinned datagrams meet the filter like any from outside).
 */
async function testHairpinning(session: ProbeSession, main: number, second: number, server: TransportAddress, mapped: TransportAddress, timeoutMs: number): Promise<boolean> {
  const secondBinding = await session.bind(server, second);
  if (secondBinding.kind !== 'success') return false;
  const secondMapped = secondBinding.response.get('XOR-MAPPED-ADDRESS') ?? secondBinding.response.get('MAPPED-ADDRESS');
  if (secondMapped === undefined) return false;
  const resendMs = Math.max(50, Math.floor(timeoutMs / 4));
  // Either direction arriving shows the NAT hairpins.
  const watchingSecond = session.sendAndWatch(secondMapped, main, second, timeoutMs, resendMs);
  const watchingMain = session.sendAndWatch(mapped, second, main, timeoutMs, resendMs);
  const [a, b] = await Promise.all([watchingSecond, watchingMain]);
  return a || b;
}

function record(test: string, to: TransportAddress, outcome: SessionOutcome): NatTestRecord {
  if (outcome.kind === 'timeout') return { test, to, outcome: 'no response' };
  if (outcome.kind === 'error') return { test, to, outcome: 'error', from: outcome.from, error: `${outcome.code} ${outcome.reason}` };
  const r = outcome.response;
  const origin = r.get('RESPONSE-ORIGIN');
  return {
    test,
    to,
    outcome: 'response',
    mapped: r.get('XOR-MAPPED-ADDRESS') ?? r.get('MAPPED-ADDRESS'),
    from: outcome.from,
    ...(origin !== undefined && !sameTransportAddress(origin, outcome.from) ? { responseOrigin: origin } : {}),
    rttMs: outcome.rttMs,
  };
}

function mappedOf(outcome: SessionOutcome, test: string, to: TransportAddress): TransportAddress {
  if (outcome.kind !== 'success') throw new NatDiscoveryError('TEST_TIMEOUT', `no response to ${test} from ${formatTransportAddress(to)}: the server's alternate address is unreachable`);
  const mapped = outcome.response.get('XOR-MAPPED-ADDRESS') ?? outcome.response.get('MAPPED-ADDRESS');
  if (mapped === undefined) throw new NatDiscoveryError('ERROR_RESPONSE', `the response to ${test} carries no mapped address`);
  return mapped;
}

/** A CHANGE-REQUEST answered from the address it went to means the server ignored it: no answer is better than a wrong one. */
function checkChanged(from: TransportAddress, target: TransportAddress, changeIp: boolean): void {
  const ignored = changeIp ? from.address === target.address : sameTransportAddress(from, target);
  if (ignored) {
    throw new NatDiscoveryError('NO_RFC5780', `${formatTransportAddress(target)} ignored CHANGE-REQUEST (the response came from ${formatTransportAddress(from)}): it does not support RFC 5780`);
  }
}

function isOwnAddress(mapped: TransportAddress, local: TransportAddress, localAddresses: readonly string[] | undefined): boolean {
  if (sameTransportAddress(mapped, local)) return true;
  return WILDCARD.has(local.address) && mapped.port === local.port && (localAddresses ?? []).includes(mapped.address);
}

async function resolveServer(server: string | TransportAddress, resolve: ((host: string) => Promise<string>) | undefined): Promise<TransportAddress> {
  const target = serverTarget(server, 'discoverNatBehavior');
  if (target.transport !== 'udp') throw new NatDiscoveryError('NO_RFC5780', `NAT behaviour discovery here runs over UDP, not ${target.transport}`);
  if (!target.isName) return { address: target.host, port: target.port };
  if (!resolve) throw new NatDiscoveryError('UNRESOLVED', `'${target.host}' is a name; give discoverNatBehavior a resolve() function or an IP address`);
  return { address: await resolve(target.host), port: target.port };
}
