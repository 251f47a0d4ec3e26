// icebridge's Node TURN server (TurnServer engine + runTurnServer + UdpSocket) on 127.0.0.1, a free port,
// relaying on 127.0.0.1, user u:p in realm r, loopback peers allowed. Further options as JSON in argv[2]
// (maxAllocationsPerUser, bytesPerSecond, …; "Infinity" in a number's place means Infinity).
// With "tcpPort"/"tlsPort" it listens on TCP/TLS too ("certFile"/"keyFile": PEM paths for TLS) and
// announces those ports in its ready line (tcpPort, tlsPort).
// Commands: stats (engine counters, allocations), heap (heapUsed + external after a full gc).
import { readFileSync } from 'node:fs';
import { startTurnServer, type NodeTurnServerOptions } from '../../src/node/turn-server.js';
import { heapAfterGc, settle } from '../lib/heap.js';
import { serveCommands } from './commands.js';

const { certFile, keyFile, ...extra } = JSON.parse(process.argv[2] ?? '{}', (_key, value: unknown) => (value === 'Infinity' ? Infinity : value)) as NodeTurnServerOptions & {
  certFile?: string;
  keyFile?: string;
};
let allocations = 0;
const server = await startTurnServer({
  ...extra,
  ...(certFile && keyFile ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } : {}),
  port: 0,
  hosts: ['127.0.0.1'],
  relayAddress: '127.0.0.1',
  users: { u: 'p' },
  realm: 'r',
  allowLoopback: true,
  onEvent: (event) => {
    if (event.type === 'allocated') allocations++;
    else if (event.type === 'deallocated') allocations--;
  },
});

serveCommands({
  port: server.addresses[0].port,
  ready: { tcpPort: server.tcpAddresses[0]?.port, tlsPort: server.tlsAddresses[0]?.port },
  commands: {
    stats: () => ({ allocations, counters: server.engine.counters }),
    heap: async () => {
      await settle();
      return { ...heapAfterGc(), allocations };
    },
  },
  close: () => server.close(),
});
