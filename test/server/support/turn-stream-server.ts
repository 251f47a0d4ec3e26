// A TURN server with TCP and TLS listeners in a process of its own, for tests that count its file
// descriptors (/proc/self/fd): `node --import tsx turn-stream-server.ts '<options JSON>'`. It prints one JSON
// line `{ ready, udp, tcp, tls }`, then answers each line on stdin ("stats") with one JSON line, and exits
// when stdin ends.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startTurnServer, type NodeTurnServerOptions } from '../../../src/node/turn-server.js';

const options = JSON.parse(process.argv[2] ?? '{}') as NodeTurnServerOptions;
const server = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, tcpPort: 0, allowLoopback: true, ...options });
process.stdout.write(`${JSON.stringify({ ready: true, udp: server.addresses[0].port, tcp: server.tcpAddresses[0]?.port, tls: server.tlsAddresses[0]?.port })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  const stats = {
    fds: readdirSync('/proc/self/fd').length,
    allocations: server.engine.allocationCount,
    connections: server.streams?.openConnections() ?? 0,
    counters: server.streams?.counters,
    // Which kinds, for a failure message (a leaked unbound socket is an "other-socket").
    kinds: socketKinds(),
  };
  process.stdout.write(`${JSON.stringify(stats)}\n`);
});
lines.on('close', () => void server.close().then(() => process.exit(0)));

/** The process's file descriptors by kind. */
function socketKinds(): Record<string, number> {
  const byInode = new Map<string, string>();
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    for (const line of readFileSync(`/proc/self/net/${proto}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // st and inode: "tcp:0A" is a listening TCP socket, "udp:07" a bound UDP one; unbound ones are in no table
      if (f.length > 9) byInode.set(f[9], `${proto}:${f[3]}`);
    }
  }
  const out: Record<string, number> = {};
  for (const fd of readdirSync('/proc/self/fd')) {
    let link = '?';
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // closed meanwhile (the directory listing's own fd)
    }
    const m = /socket:\[(\d+)\]/.exec(link);
    const kind = m ? (byInode.get(m[1]) ?? 'other-socket') : 'not-a-socket';
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}
