// What a session's hello announces: its limits and, from version 2, what the bridge offers (streams, TLS,
// name lookups). A v1 hello carries only the v1 fields, so a v1 client reads it as before.
import { BridgeFeature, type BridgeLimits } from '../net/bridge-frame.js';
import type { SessionLimits } from './session-types.js';

export function helloLimits(l: SessionLimits, version: number): BridgeLimits {
  const limits: BridgeLimits = {
    maxSockets: l.maxSockets,
    maxPayload: l.maxPayload,
    packetsPerSecond: l.packetsPerSecond,
    bytesPerSecond: l.bytesPerSecond,
    idleTimeoutMs: l.idleTimeoutMs,
  };
  if (version < 2) return limits;
  const streams = Math.min(l.maxStreams, 0xffff);
  return {
    ...limits,
    maxStreams: streams,
    streamWindow: l.streamWindow,
    maxConcurrentLookups: l.resolve ? Math.min(l.maxConcurrentLookups, 0xffff) : 0,
    lookupsPerSecond: l.resolve ? l.lookupsPerSecond : 0,
    features:
      (l.resolve ? BridgeFeature.resolve : 0) |
      (streams > 0 ? BridgeFeature.tcp : 0) |
      (streams > 0 && l.tls ? BridgeFeature.tls : 0) |
      (l.resolve && l.mdns ? BridgeFeature.mdns : 0) |
      (l.resolve && l.mdns && l.maxMdnsNames > 0 && l.mdnsHostCandidates ? BridgeFeature.mdnsHostCandidates : 0) |
      (streams > 0 && l.listen && l.maxListeners > 0 ? BridgeFeature.listen : 0) |
      (l.connect === true ? BridgeFeature.connect : 0),
  };
}
