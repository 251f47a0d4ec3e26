// The binding lifetime probe (RFC 5780 §4.6): socket X makes a binding (Pa:Pp); after T idle, socket Y asks
// the server with RESPONSE-PORT Pp to answer to Pa:Pp. The answer reaching X means the binding outlived T;
// reaching Y (the NAT reused the port) or nothing means it did not. T doubles until a binding dies, then a
// binary search narrows the lifetime down. Long: the sum of every T waited. Opt-in.
import type { SocketId } from '../net/engine.js';
import { formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import { NatDiscoveryError } from './errors.js';
import type { ProbeSession } from './probe-session.js';

export interface BindingLifetimeOptions {
  /** The first idle time tried. Default 5000 ms. */
  minMs?: number;
  /** The longest idle time tried; a binding that outlives it is reported as at least this. Default 300 000 ms (5 min). */
  maxMs?: number;
  /** Stop the binary search when the bracket is this narrow. Default 5000 ms. */
  precisionMs?: number;
}

export interface BindingLifetimeResult {
  /** The binding survived this long idle… */
  atLeastMs: number;
  /** …and not this long (absent: it outlived `maxMs`). */
  lessThanMs?: number;
  trials: { idleMs: number; alive: boolean }[];
}

export async function probeBindingLifetime(
  session: ProbeSession,
  x: SocketId,
  y: SocketId,
  server: TransportAddress,
  options: BindingLifetimeOptions = {},
): Promise<BindingLifetimeResult> {
  const minMs = options.minMs ?? 5000;
  const maxMs = options.maxMs ?? 300_000;
  const precisionMs = options.precisionMs ?? 5000;
  if (!(minMs > 0 && maxMs >= minMs && precisionMs > 0)) throw new RangeError('bindingLifetime needs 0 < minMs <= maxMs and precisionMs > 0');
  const trials: BindingLifetimeResult['trials'] = [];

  const trial = async (idleMs: number): Promise<boolean> => {
    // §4.6: a fresh request from X before each test (some NATs refresh only on outbound traffic).
    const made = await session.bind(server, x);
    if (made.kind !== 'success') throw new NatDiscoveryError('TEST_TIMEOUT', `no response to the binding lifetime probe from ${formatTransportAddress(server)}`);
    const mapped = made.response.get('XOR-MAPPED-ADDRESS') ?? made.response.get('MAPPED-ADDRESS');
    if (mapped === undefined) throw new NatDiscoveryError('ERROR_RESPONSE', 'the Binding response carries no mapped address');
    await session.sleep(idleMs);
    const probe = await session.bind(server, y, [['RESPONSE-PORT', mapped.port]]);
    if (probe.kind === 'error') {
      const code = probe.code === 420 ? 'NO_RFC5780' : 'ERROR_RESPONSE';
      throw new NatDiscoveryError(code, `${formatTransportAddress(server)} answered RESPONSE-PORT with ${probe.code} ${probe.reason}`);
    }
    const alive = probe.kind === 'success' && probe.socket === x;
    trials.push({ idleMs, alive });
    return alive;
  };

  let alive = 0;
  let dead: number | undefined;
  for (let t = minMs; dead === undefined; t = Math.min(t * 2, maxMs)) {
    if (await trial(t)) alive = t;
    else dead = t;
    if (t >= maxMs) break;
  }
  while (dead !== undefined && dead - alive > precisionMs) {
    const mid = Math.round((alive + dead) / 2);
    if (await trial(mid)) alive = mid;
    else dead = mid;
  }
  return dead === undefined ? { atLeastMs: alive, trials } : { atLeastMs: alive, lessThanMs: dead, trials };
}
