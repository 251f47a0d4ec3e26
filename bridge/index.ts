// The bridge's public surface, for the CLI and for apps that run it next to their own server.
export { startBridge, type BridgeCarriers, type RunningBridge } from './server.js';
export { BRIDGE_DEFAULTS, type BridgeOptions, type WebTransportOptions } from './options.js';
export type { BridgeMdnsResolver } from './mdns-resolver.js';
export { findDeno } from './webtransport-supervisor.js';
export type { CertificateHash } from './webtransport-certificate.js';
export { BridgeCloseCode, type BridgeCloseCodeName } from './close-codes.js';
export { BridgeMetrics, bridgeMetricsText, type CarrierSnapshot, type BridgeMetricsSnapshot, type DropReason, type RefusalReason } from './metrics.js';
export { DestinationPolicy, DEFAULT_DENIED, parseCidr, type DestinationPolicyOptions } from './policy.js';
