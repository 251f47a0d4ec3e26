// The lab's NAT modes: Linux netfilter rules that give each RFC 4787 behaviour, and what discovery must find.
// Facts of Linux NAT these rest on (checked by the lab itself, each run):
//   - MASQUERADE keeps one mapping per internal socket → endpoint-independent mapping; conntrack lets in only
//     replies from the exact remote address and port → address-and-port-dependent filtering;
//   - MASQUERADE --random-fully picks a new random port per conntrack entry → address-and-port-dependent
//     ("symmetric") mapping;
//   - a DNAT of all inbound UDP to the host (port kept) → endpoint-independent filtering;
//   - an nft set of the peer addresses the LAN has sent to, and a DNAT of inbound UDP from those
//     → address-dependent filtering.
// Every mode also drops NEW/INVALID inbound to the NAT itself (otherwise a peer's check that arrives before
// the host has sent anything leaves a conntrack entry for that 5-tuple, and the host's own first datagram
// then gets another port: the mapping would no longer be endpoint-independent).
import type { NatProfile } from '../../src/nat/index.js';
import type { ClassicNatType, NatBehavior } from '../../src/nat/index.js';

export type NatModeName = 'full-cone' | 'restricted' | 'port-restricted' | 'symmetric';

export interface NatMode {
  readonly name: NatModeName;
  readonly mapping: NatBehavior;
  readonly filtering: NatBehavior;
  readonly classic: ClassicNatType;
  /** iptables commands (argument lists) for a NAT with WAN interface `wan` and LAN host `host`. */
  iptables(wan: string, host: string): string[][];
  /** An nft script to load, if any. */
  nft?(wan: string, host: string): string;
}

const masquerade = (wan: string, randomFully = false): string[][] => [
  ['-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE', ...(randomFully ? ['--random-fully'] : [])],
  ['-A', 'INPUT', '-i', wan, '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP'],
];

export const NAT_MODES: readonly NatMode[] = [
  {
    name: 'full-cone',
    mapping: 'endpoint-independent',
    filtering: 'endpoint-independent',
    classic: 'full cone',
    iptables: (wan, host) => [...masquerade(wan), ['-t', 'nat', '-A', 'PREROUTING', '-i', wan, '-p', 'udp', '-j', 'DNAT', '--to-destination', host]],
  },
  {
    name: 'restricted',
    mapping: 'endpoint-independent',
    filtering: 'address-dependent',
    classic: 'restricted cone',
    iptables: (wan) => masquerade(wan),
    nft: (wan, host) => `table ip natlab {
  set contacted { type ipv4_addr; flags dynamic,timeout; timeout 2m; }
  chain post { type filter hook postrouting priority 0; oifname "${wan}" update @contacted { ip daddr }; }
  chain pre { type nat hook prerouting priority -100; iifname "${wan}" ip saddr @contacted meta l4proto udp dnat to ${host}; }
}
`,
  },
  {
    name: 'port-restricted',
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    classic: 'port-restricted cone',
    iptables: (wan) => masquerade(wan),
  },
  {
    name: 'symmetric',
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    classic: 'symmetric',
    iptables: (wan) => masquerade(wan, true),
  },
];

export function profileOf(mode: NatMode): NatProfile {
  return { natted: true, mapping: mode.mapping, filtering: mode.filtering };
}
