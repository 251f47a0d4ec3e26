// The npm `stun` package's server: on each Binding request, a success response with XOR-MAPPED-ADDRESS and
// SOFTWARE (what icebridge's server sends to a request without FINGERPRINT).
import { createSocket } from 'node:dgram';
import { stun } from '../lib/npm-stun.js';
import { serveControl } from './control.js';

const socket = createSocket('udp4');
const server = stun.createServer({ type: 'udp4', socket });
let answered = 0;
// stun.constants.STUN_EVENT_BINDING_REQUEST is 'bindingRequest'.
server.on('bindingRequest', (request: { transactionId: Buffer }, rinfo: { address: string; port: number }) => {
  const response = stun.createMessage(stun.constants.STUN_BINDING_RESPONSE, request.transactionId);
  response.addXorAddress(rinfo.address, rinfo.port);
  response.addSoftware('icebridge');
  server.send(response, rinfo.port, rinfo.address);
  answered++;
});
// The package emits 'error' for undecodable datagrams and error responses; a server must not die of them.
server.on('error', () => {});
socket.bind(0, '127.0.0.1', () => {
  serveControl({
    port: socket.address().port,
    stats: () => ({ answered }),
    close: () => {
      server.close();
      socket.close();
    },
  });
});
