// icebridge's WebSocket-to-UDP bridge in a process of its own (so it never shares an event loop with the
// client under test), on 127.0.0.1, a free port, its UDP sockets bound to 127.0.0.1 only. Options come as
// JSON in argv[2] (secret, packetsPerSecond, maxSessions, …, and `zone`: { name: address | address[] },
// which JSON-friendly stands for the `resolve` function option — those names resolve to those addresses,
// any other name is not found). Commands: stats (the bridge's metrics), heap (heapUsed + external after a
// full gc), carriers (each carrier's session count and the WebTransport Deno child's pid; `waitReport: true`
// first waits for that child's next session-count report). `webTransport: { port: 0 }` passes through: the
// ready line then names webTransportUrl, certificateHashes and denoPid, and stats adds dropsByCarrier.
import { startBridge, type BridgeOptions } from '../../bridge/index.js';
import type { BridgeResolveFunction } from '../../bridge/resolver.js';
import { heapAfterGc, settle } from '../lib/heap.js';
import { serveCommands } from './commands.js';

const { zone, ...options } = JSON.parse(process.argv[2] ?? '{}') as BridgeOptions & { zone?: Record<string, string | string[]> };

/** A resolver that answers from `zone` only (names compared lowercased, without a trailing dot). */
function zoneResolver(entries: Record<string, string | string[]>): BridgeResolveFunction {
  const table = new Map(Object.entries(entries).map(([name, a]) => [name.toLowerCase().replace(/\.$/, ''), Array.isArray(a) ? a : [a]]));
  return async (name, family) => {
    const addresses = table.get(name.toLowerCase().replace(/\.$/, ''));
    if (addresses === undefined) throw Object.assign(new Error(`${name} is not in the bench zone`), { code: 'ENOTFOUND' });
    return addresses.filter((a) => a.includes(':') === (family === 'IPv6'));
  };
}

let logLines = 0;
const bridge = await startBridge({
  ...options,
  ...(zone ? { resolve: zoneResolver(zone) } : {}),
  port: 0,
  host: '127.0.0.1',
  udpBindAddress: { IPv4: '127.0.0.1', IPv6: '::1' },
  allowLoopback: true,
  metricsPath: false,
  // One JSON line per session open and close would be written to a pipe nobody reads: count them instead.
  logger: () => void logLines++,
});

/** `icebridge_bridge_drops_total{carrier="…",reason="…"} n` lines of the Prometheus text, summed per carrier. */
function dropsByCarrier(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of bridge.metricsText().matchAll(/^icebridge_bridge_drops_total\{([^}]*)\} (\d+)/gm)) {
    const carrier = /carrier="([^"]+)"/.exec(m[1])?.[1] ?? 'websocket';
    out[carrier] = (out[carrier] ?? 0) + Number(m[2]);
  }
  return out;
}

serveCommands({
  port: bridge.port,
  ready: { url: bridge.url, webTransportUrl: bridge.webTransportUrl, certificateHashes: bridge.certificateHashes, denoPid: bridge.carriers.webtransport?.pid },
  commands: {
    stats: () => ({ ...bridge.metrics.snapshot(), sessionCount: bridge.sessionCount, dropsByCarrier: dropsByCarrier(), logLines }),
    carriers: async (args) => {
      const wt = bridge.carriers.webtransport;
      if (args.waitReport === true && wt) await wt.nextReport();
      const now = bridge.carriers;
      return { websocket: now.websocket.sessions, webtransport: now.webtransport?.sessions, denoPid: now.webtransport?.pid, bridgePid: process.pid };
    },
    heap: async () => {
      await settle();
      return { ...heapAfterGc(), sessionCount: bridge.sessionCount, socketsOpen: bridge.metrics.socketsOpen };
    },
  },
  close: () => bridge.close(),
});
