// The Node ceiling: a node:dgram socket that sends every datagram straight back, parsing nothing.
import { createSocket } from 'node:dgram';
import { serveControl } from './control.js';

const socket = createSocket('udp4');
let echoed = 0;
socket.on('message', (msg, rinfo) => {
  echoed++;
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.on('error', () => {});
socket.bind(0, '127.0.0.1', () => {
  serveControl({ port: socket.address().port, stats: () => ({ echoed }), close: () => void socket.close() });
});
