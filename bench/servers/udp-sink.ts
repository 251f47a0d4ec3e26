// A UDP sink on 127.0.0.1: counts the datagrams (and bytes) it receives and answers nothing. A large
// receive buffer, so bursts are not lost here; /proc/net/udp's drop counter for its port tells if some were.
import { createSocket } from 'node:dgram';
import { serveCommands } from './commands.js';

const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
let received = 0;
let bytes = 0;
socket.on('message', (msg) => {
  received++;
  bytes += msg.length;
});
socket.on('error', () => {});
socket.bind(0, '127.0.0.1', () => {
  serveCommands({
    port: socket.address().port,
    ready: { recvBufferSize: socket.getRecvBufferSize() },
    commands: { stats: () => ({ received, bytes }) },
    close: () => void socket.close(),
  });
});
