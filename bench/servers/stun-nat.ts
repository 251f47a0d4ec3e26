// icebridge's STUN server (startStunServer) behind a minimal endpoint-independent-mapping UDP NAT, on
// 127.0.0.1, in a process of its own. On loopback a client's server-reflexive address equals its host base,
// and RFC 8445 §5.1.3 drops such a candidate as redundant: the NAT gives every client source (address:port)
// a mapping socket of its own (127.0.0.1:<another port>), so the STUN server sees — and reports — an address
// that is not the client's base, and a srflx candidate appears, as behind a real NAT. Clients send to the
// NAT's port (the ready line's `port`); replies come back from it. Mappings idle for 30 s are closed.
// Commands: stats (mappings open and made, datagrams each way).
import { createSocket, type Socket } from 'node:dgram';
import { startStunServer } from '../../src/node/stun-server.js';
import { serveCommands } from './commands.js';

const HOST = '127.0.0.1';
const IDLE_MS = 30_000;

const stun = await startStunServer({ hosts: [HOST], port: 0 });
const server = stun.addresses[0];

interface Mapping {
  socket: Socket;
  lastUsed: number;
}
const mappings = new Map<string, Mapping>();
let made = 0;
let outbound = 0;
let inbound = 0;

const outside = createSocket('udp4');
outside.on('error', () => {});
outside.on('message', (msg, rinfo) => {
  const key = `${rinfo.address}:${rinfo.port}`;
  let m = mappings.get(key);
  if (m === undefined) {
    const socket = createSocket('udp4');
    const mapping: Mapping = { socket, lastUsed: Date.now() };
    socket.on('error', () => {});
    // What the server answers goes back to the client from the NAT's own port.
    socket.on('message', (reply) => {
      inbound++;
      mapping.lastUsed = Date.now();
      outside.send(reply, rinfo.port, rinfo.address);
    });
    // Bound to 127.0.0.1 at once (an implicit bind would be to 0.0.0.0); node:dgram queues sends until bound.
    socket.bind(0, HOST);
    m = mapping;
    mappings.set(key, m);
    made++;
  }
  m.lastUsed = Date.now();
  outbound++;
  m.socket.send(msg, server.port, server.address);
});

const sweeper = setInterval(() => {
  const now = Date.now();
  for (const [key, m] of mappings) {
    if (now - m.lastUsed > IDLE_MS) {
      m.socket.close();
      mappings.delete(key);
    }
  }
}, 5_000);
sweeper.unref();

outside.bind(0, HOST, () => {
  serveCommands({
    port: outside.address().port,
    ready: { host: HOST, stunServer: `${server.address}:${server.port}` },
    commands: { stats: () => ({ mappingsOpen: mappings.size, mappingsMade: made, outbound, inbound }) },
    close: async () => {
      clearInterval(sweeper);
      for (const m of mappings.values()) m.socket.close();
      outside.close();
      await stun.close();
    },
  });
});
