// A bridge session engine with no sockets and no clock, for tests: frames and driver reports in, frames and
// actions out, time passed by hand.
import { BridgeMetrics } from '../../src/bridge/metrics.js';
import { ResolveCache } from '../../src/bridge/resolve-cache.js';
import { BridgeSessionEngine } from '../../src/bridge/session-engine.js';
import type { SessionAction, SessionContext, SessionLimits } from '../../src/bridge/session-types.js';
import { decodeBridgeFrame, encodeBridgeFrame, type BridgeFrame } from '../../src/net/bridge-frame.js';

export const LIMITS: SessionLimits = {
  maxQueueDelayMs: 200,
  maxSockets: 2,
  maxPayload: 1200,
  packetsPerSecond: 100,
  bytesPerSecond: 100_000,
  idleTimeoutMs: 10_000,
  maxBufferedBytes: 1_000_000,
  maxMalformedFrames: 3,
  errorFramesPerSecond: 100,
  bindPortRange: [1024, 65535],
  maxStreams: 1,
  streamWindow: 1000,
  connectTimeoutMs: 2000,
  tls: true,
  resolve: true,
  mdns: false,
  maxMdnsNames: 0,
  mdnsHostCandidates: false,
  maxConcurrentLookups: 2,
  lookupsPerSecond: 10,
  resolveTimeoutMs: 500,
  listen: false,
  maxListeners: 0,
  listenPortRange: undefined,
};

export function session(limits: Partial<SessionLimits> = {}, version = 2, hostAddresses: SessionContext['hostAddresses'] = () => ['192.0.2.1']) {
  const metrics = new BridgeMetrics();
  const ctx: SessionContext = {
    limits: { ...LIMITS, ...limits },
    metrics,
    policy: {
      check: (address) => (address.startsWith('169.254.') ? 'destination-denied' : 'allowed'),
      checkAnswer: (address) => (address.startsWith('169.254.') ? 'destination-denied' : 'allowed'),
    },
    resolveCache: new ResolveCache(),
    hostAddresses,
    carrierBacklog: () => 0,
  };
  const engine = new BridgeSessionEngine(1, version, ctx, {}, 0);
  const frames = (): BridgeFrame[] => {
    const out: BridgeFrame[] = [];
    for (let f = engine.pollFrame(); f; f = engine.pollFrame()) out.push(decodeBridgeFrame(f));
    return out;
  };
  const actions = (): SessionAction[] => {
    const out: SessionAction[] = [];
    for (let a = engine.pollAction(); a; a = engine.pollAction()) out.push(a);
    return out;
  };
  return { engine, metrics, frames, actions, send: (f: BridgeFrame, now = 1) => engine.handleFrame(encodeBridgeFrame(f), now) };
}

