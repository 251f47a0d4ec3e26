// NAT behaviour discovery (RFC 5780) over any DatagramSocket and Clock: isomorphic, like stunBinding().
export { discoverNatBehavior, type NatDiscoveryOptions, type NatBehaviorResult, type NatTestRecord } from './nat-discovery.js';
export { NatDiscoveryError, type NatDiscoveryErrorCode } from './errors.js';
export { classicNatType, iceOutlook, describeIceOutlook, predictDirect, type NatBehavior, type ClassicNatType, type IceOutlook, type NatProfile } from './nat-behavior.js';
export type { BindingLifetimeOptions, BindingLifetimeResult } from './binding-lifetime.js';
