// icebridge's WebSocket-to-UDP bridge in a process of its own (so it never shares an event loop with the
// client under test), on 127.0.0.1, a free port, its UDP sockets bound to 127.0.0.1 only. Options come as
// JSON in argv[2] (secret, packetsPerSecond, maxSessions, …). Commands: stats (the bridge's metrics),
// heap (heapUsed + external after a full gc).
import { startBridge, type BridgeOptions } from '../../bridge/index.js';
import { heapAfterGc, settle } from '../lib/heap.js';
import { serveCommands } from './commands.js';

const options = JSON.parse(process.argv[2] ?? '{}') as BridgeOptions;
let logLines = 0;
const bridge = await startBridge({
  ...options,
  port: 0,
  host: '127.0.0.1',
  udpBindAddress: { IPv4: '127.0.0.1', IPv6: '::1' },
  allowLoopback: true,
  metricsPath: false,
  // One JSON line per session open and close would be written to a pipe nobody reads: count them instead.
  logger: () => void logLines++,
});

serveCommands({
  port: bridge.port,
  ready: { url: bridge.url },
  commands: {
    stats: () => ({ ...bridge.metrics.snapshot(), sessionCount: bridge.sessionCount, logLines }),
    heap: async () => {
      await settle();
      return { ...heapAfterGc(), sessionCount: bridge.sessionCount, socketsOpen: bridge.metrics.socketsOpen };
    },
  },
  close: () => bridge.close(),
});
