// The WebTransport carrier's Deno process, started and supervised by the Node bridge
// (bridge/webtransport-supervisor.ts): configuration on the first stdin line, then JSON lines both ways
// (ipc-types.ts). Imports only the isomorphic core and this folder.
//   deno run --unstable-net --unstable-sloppy-imports --allow-net bridge/webtransport/main.ts < config-line
import { BridgeMetrics } from '../../src/bridge/metrics.js';
import { ResolveCache } from '../../src/bridge/resolve-cache.js';
import type { LookupAnswer } from '../../src/bridge/session-types.js';
import type { AddressFamily, TransportAddress } from '../../src/net/transport-address.js';
import { DestinationPolicy } from '../policy.js';
import { WebTransportEndpoint } from './endpoint.js';
import { ParentPipe } from './ipc.js';
import type { HostAddresses, WebTransportChildConfig } from './ipc-types.js';
import { LookupFailed } from './session-driver.js';

const pipe = new ParentPipe();
let config: WebTransportChildConfig;
try {
  config = await pipe.config();
} catch (err) {
  await pipe.send({ type: 'fatal', error: `bad configuration: ${err instanceof Error ? err.message : String(err)}` });
  Deno.exit(2);
}

const metrics = new BridgeMetrics();
const policy = new DestinationPolicy(config.policy);
let host: HostAddresses = config.host;
policy.setHostAddresses(host.own);

const pending = new Map<number, { resolve(answers: LookupAnswer[]): void; reject(err: Error): void; timer: ReturnType<typeof setTimeout> }>();
let nextLookup = 1;
/** A lookup the parent never answers must not be held for ever (the engine gave up on it long before). */
const LOOKUP_GIVE_UP_MS = config.limits.resolveTimeoutMs * 2 + 1000;

function lookup(name: string, families: AddressFamily[], mdns: boolean): Promise<LookupAnswer[]> {
  const id = nextLookup++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new LookupFailed('resolve-timeout', `no answer for ${name}`));
    }, LOOKUP_GIVE_UP_MS);
    pending.set(id, { resolve, reject, timer });
    // mDNS too is asked of the parent: it holds the multicast sockets (the child has no --allow-net for 5353).
    void pipe.send(mdns ? { type: 'lookup', id, name, families, mdns } : { type: 'lookup', id, name, families });
  });
}

/** The addresses a page should use as its host candidates for a socket bound to `bound` (as bridge/server.ts). */
function hostAddressesFor(family: AddressFamily, bound: TransportAddress): string[] {
  const fam = (a: string) => (a.includes(':') ? 'IPv6' : 'IPv4') === family;
  if (config.hostAddresses) return config.hostAddresses.filter(fam);
  if (bound.address !== '0.0.0.0' && bound.address !== '::') return [bound.address];
  return host.announce[family];
}

const sendMetrics = () => void pipe.send({ type: 'metrics', snapshot: metrics.snapshot(), sessions: endpoint.sessionCount });

let endpoint: WebTransportEndpoint;
try {
  endpoint = new WebTransportEndpoint({
    hostname: config.hostname,
    port: config.port,
    cert: config.cert,
    key: config.key,
    rules: { path: config.path, secrets: config.secrets, allowAnonymous: config.allowAnonymous, maxSessions: config.maxSessions },
    quicIdleTimeoutMs: config.quicIdleTimeoutMs,
    quicKeepAliveMs: config.quicKeepAliveMs,
    controlStreamTimeoutMs: config.controlStreamTimeoutMs,
    driver: {
      metrics,
      policy,
      session: {
        limits: config.limits,
        metrics,
        policy,
        // Unused in practice: the parent's resolver has the bridge's cache; this one only spares repeat asks.
        resolveCache: new ResolveCache({ maxEntries: 256 }),
        hostAddresses: hostAddressesFor,
      },
      udpBindAddress: config.udpBindAddress,
      tlsCa: config.tlsCa,
      lookup,
      log: (line) => void pipe.send({ type: 'log', line }),
    },
    onSessionsChanged: sendMetrics,
  });
} catch (err) {
  await pipe.send({ type: 'fatal', error: `cannot listen on ${config.hostname}:${config.port}/udp: ${err instanceof Error ? err.message : String(err)}` });
  Deno.exit(1);
}

await pipe.send({ type: 'ready', hostname: endpoint.address.hostname, port: endpoint.address.port, path: config.path, pid: Deno.pid });
const metricsTimer = setInterval(sendMetrics, config.metricsIntervalMs);

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    clearInterval(metricsTimer);
    await endpoint.stop();
    sendMetrics();
    await pipe.send({ type: 'log', line: JSON.stringify({ time: new Date().toISOString(), event: 'webtransport-stopped', pid: Deno.pid }) });
  }
  Deno.exit(code);
}
Deno.addSignalListener('SIGTERM', () => void stop(0));
Deno.addSignalListener('SIGINT', () => void stop(0));

for await (const m of pipe.messages()) {
  switch (m.type) {
    case 'lookup-answer': {
      const p = pending.get(m.id);
      if (!p) break;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if ('answers' in m) p.resolve(m.answers);
      else p.reject(new LookupFailed(m.failure, m.reason));
      break;
    }
    case 'host-addresses':
      host = m.host;
      if (m.hostAddresses !== undefined) config.hostAddresses = m.hostAddresses ?? undefined;
      policy.setHostAddresses(host.own);
      endpoint.hostAddressesChanged();
      break;
    case 'metrics-request':
      sendMetrics();
      break;
    case 'stop':
      await stop(0);
  }
}
// stdin closed: the parent is gone, and this process must not outlive it.
await stop(0);
