// The UDP echo of the bridge load test and benchmark, a process of its own (not the generator's or the
// bridge's event loop): one socket with a large receive buffer, answering every datagram to its sender.
// It counts its own kernel drops (/proc/net/udp, as the bridge does: bridge/udp-drops.ts) and its send
// failures, so the test can tell the echo's losses from the bridge's. IPC: 'stats' → EchoStats.
import { UdpDropCounter } from '../../bridge/udp-drops.js';
import { UdpSocket } from '../../src/node/udp-socket.js';

export interface EchoStats {
  port: number;
  received: number;
  kernelDrops: number;
  sendErrors: number;
}

const BUFFER = Number(process.env.ICEBRIDGE_ECHO_BUFFER ?? 4 * 1024 * 1024);
const socket = await UdpSocket.bind({ address: '127.0.0.1', receiveBufferSize: BUFFER, sendBufferSize: BUFFER });
let received = 0;
let kernelDrops = 0;
const drops = new UdpDropCounter((n) => (kernelDrops += n));
drops.watch('IPv4', socket.localAddress.address, socket.localAddress.port);
socket.ondatagram = (bytes, from) => {
  received++;
  socket.send(bytes.slice(), from);
};
const stats = (): EchoStats => {
  drops.refresh();
  return { port: socket.localAddress.port, received, kernelDrops, sendErrors: socket.sendErrors };
};
process.on('message', (m: { id: number; cmd: 'stats' }) => process.send!({ id: m.id, result: stats() }));
process.on('disconnect', () => process.exit(0));
process.send!({ id: 0, result: stats() });
