/** The simulated network and virtual clock: deterministic tests of engines on virtual time. */
export { VirtualClock, DEFAULT_MAX_EVENTS, type RunLimits, type RunResult } from './virtual-clock.js';
export { SeededRandom } from './random.js';
export { SimNetwork, PUBLIC_HOST_PREFIXES, PUBLIC_NAT_PREFIXES, type SimNetworkOptions } from './network.js';
export { SimHost, SimBindError, EPHEMERAL_PORTS, type SimHostOptions, type SimInterface, type SimSegment } from './host.js';
export { SimSocket } from './socket.js';
export { SimTcp, type SimTcpListener } from './tcp.js';
export { RefusalRules, type RefusalMatch, type RefusalOptions } from './refusal.js';
export { SimNat } from './nat.js';
export {
  NAT_BEHAVIORS,
  NAT_PRESETS,
  DEFAULT_NAT_BEHAVIOR,
  type NatBehavior,
  type NatBehaviorOptions,
  type SimNatOptions,
} from './nat-options.js';
export type { NatMapping } from './nat-table.js';
export { SimLink, type LinkConditions } from './link.js';
export { SimRouter } from './router.js';
export { SimStats, type SimTraceEvent } from './stats.js';
export { DROP_REASONS, type Datagram, type DropReason } from './datagram.js';
export { canonicalAddress } from './ip-address.js';
