// The Node ceiling for a TURN relay's data path: a node:dgram socket that takes ChannelData from clients and
// sends the payload on to the peer from a second socket (as a relay socket would), with no TURN logic —
// no allocations, permissions, channels or quotas; nothing parsed beyond the 4-byte header. The peer makes
// itself known with a datagram "peer" sent to the listening socket (bench/load/turn-load.ts does, in its
// raw mode); the last one to do so gets everything.
import { createSocket } from 'node:dgram';
import { serveCommands } from './commands.js';

const listen = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
const relay = createSocket('udp4');
let peer: { port: number; address: string } | undefined;
let relayed = 0;
listen.on('message', (msg, rinfo) => {
  // "peer" first: its 'p' (0x70) has the ChannelData bit pattern 01 in its top bits.
  if (msg.length === 4 && msg.toString('latin1') === 'peer') {
    peer = { port: rinfo.port, address: rinfo.address };
  } else if (msg.length >= 4 && (msg[0] & 0xc0) === 0x40) {
    if (peer === undefined) return;
    const length = msg.readUInt16BE(2);
    if (length > msg.length - 4) return;
    relayed++;
    relay.send(msg.subarray(4, 4 + length), peer.port, peer.address);
  }
});
listen.on('error', () => {});
relay.on('error', () => {});
relay.bind(0, '127.0.0.1', () => {
  listen.bind(0, '127.0.0.1', () => {
    serveCommands({
      port: listen.address().port,
      commands: { stats: () => ({ relayed }) },
      close: () => {
        listen.close();
        relay.close();
      },
    });
  });
});
