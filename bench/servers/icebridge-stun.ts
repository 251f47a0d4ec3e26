// icebridge's Node STUN server (StunServer engine + EngineDriver + UdpSocket) on 127.0.0.1, a free port.
import { startStunServer } from '../../src/node/stun-server.js';
import { serveControl } from './control.js';

const server = await startStunServer({ port: 0, hosts: ['127.0.0.1'] });
serveControl({
  port: server.addresses[0].port,
  stats: () => ({ ...server.engine.counters }),
  close: () => server.close(),
});
