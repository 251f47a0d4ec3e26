import type { LinkConditions } from './link.js';

/** RFC 4787 §4.1 mapping and §5 filtering behaviours share these three names. */
export type NatBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export const NAT_BEHAVIORS: readonly NatBehavior[] = [
  'endpoint-independent',
  'address-dependent',
  'address-and-port-dependent',
];

/** How a simulated NAT behaves. Defaults follow the RFC 4787 MUSTs and first RECOMMENDEDs. */
export interface SimNatOptions {
  /** For traces and random-stream labels; default `nat<n>`. */
  name?: string;
  /** Its public address(es) on the outside network; default: the next free one (203.0.113.0/24 on the internet). */
  publicAddress?: string | readonly string[];
  /** The LAN prefix hosts get addresses from; default `10.0.<n>.0/24` (n counts NATs in the network). */
  internalNetwork?: string;
  /** The NAT's own LAN address; default the first host address of `internalNetwork` (e.g. 10.0.0.1). */
  internalAddress?: string;
  /** RFC 4787 §4.1; default endpoint-independent (REQ-1: a NAT MUST have it). */
  mapping?: NatBehavior;
  /** RFC 4787 §5; default endpoint-independent (REQ-8, for application transparency). */
  filtering?: NatBehavior;
  /** RFC 4787 §4.2.1: try the internal port as the public port first; default false. Never overloads (REQ-3). */
  portPreservation?: boolean;
  /** RFC 4787 §6: loop datagrams for its own public addresses back inside; default true (REQ-9). */
  hairpinning?: boolean;
  /**
   * RFC 4787 §4.3: a mapping idle this long expires; default 120 000 (REQ-5's minimum; 5b lets it be
   * configured, and tests set it lower).
   */
  mappingLifetimeMs?: number;
  /** RFC 4787 §4.3 REQ-6a: inbound datagrams refresh the mapping too; default false. Outbound always do (REQ-6). */
  inboundRefresh?: boolean;
  /** Public ports for new mappings (inclusive); default the dynamic range 49152–65535. */
  portRange?: { readonly min: number; readonly max: number };
  /** Conditions of the NAT's uplink, crossed by everything entering or leaving the LAN. */
  link?: LinkConditions;
}

export interface NatBehaviorOptions {
  readonly mapping: NatBehavior;
  readonly filtering: NatBehavior;
  readonly portPreservation: boolean;
  readonly hairpinning: boolean;
  readonly mappingLifetimeMs: number;
  readonly inboundRefresh: boolean;
  readonly portRange: { readonly min: number; readonly max: number };
}

export const DEFAULT_NAT_BEHAVIOR: NatBehaviorOptions = {
  mapping: 'endpoint-independent',
  filtering: 'endpoint-independent',
  portPreservation: false,
  hairpinning: true,
  mappingLifetimeMs: 120_000,
  inboundRefresh: false,
  portRange: { min: 49152, max: 65535 },
};

/**
 * The classic RFC 3489 names, as option presets. RFC 4787 §3 explains why these names are too coarse;
 * they are here because test names and bug reports still use them.
 */
export const NAT_PRESETS = {
  /** EIM + EIF. */
  fullCone: { mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
  /** EIM + ADF. */
  restrictedCone: { mapping: 'endpoint-independent', filtering: 'address-dependent' },
  /** EIM + APDF: the common home router. */
  portRestrictedCone: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
  /** APDM + APDF: needs a relay against anything but a public or full-cone peer. */
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' },
} as const satisfies Record<string, SimNatOptions>;

/** Defaults filled in and every value checked once, at construction. */
export function resolveNatBehavior(options: SimNatOptions): NatBehaviorOptions {
  const resolved: NatBehaviorOptions = {
    mapping: options.mapping ?? DEFAULT_NAT_BEHAVIOR.mapping,
    filtering: options.filtering ?? DEFAULT_NAT_BEHAVIOR.filtering,
    portPreservation: options.portPreservation ?? DEFAULT_NAT_BEHAVIOR.portPreservation,
    hairpinning: options.hairpinning ?? DEFAULT_NAT_BEHAVIOR.hairpinning,
    mappingLifetimeMs: options.mappingLifetimeMs ?? DEFAULT_NAT_BEHAVIOR.mappingLifetimeMs,
    inboundRefresh: options.inboundRefresh ?? DEFAULT_NAT_BEHAVIOR.inboundRefresh,
    portRange: options.portRange ?? DEFAULT_NAT_BEHAVIOR.portRange,
  };
  for (const key of ['mapping', 'filtering'] as const) {
    if (!NAT_BEHAVIORS.includes(resolved[key])) throw new TypeError(`NAT ${key}: unknown behaviour ${String(resolved[key])}`);
  }
  const lifetime = resolved.mappingLifetimeMs;
  if (!(lifetime > 0 && lifetime < Infinity)) throw new RangeError(`NAT mappingLifetimeMs must be > 0, got ${lifetime}`);
  const { min, max } = resolved.portRange;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
    throw new RangeError(`NAT portRange must be integers within 1..65535, min <= max, got ${min}..${max}`);
  }
  return resolved;
}
