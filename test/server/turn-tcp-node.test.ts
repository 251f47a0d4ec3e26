// RFC 6062 end to end on loopback: icebridge's Node TURN server (TCP listener, TCP relays) and icebridge's
// TCP allocation client, with real TCP peers on 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
import { openTurnTcpAllocation } from '../../src/node/turn-tcp-client.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { TurnError } from '../../src/turn/errors.js';

let turn: RunningTurnServer;
let echo: Server;
let echoAddress: TransportAddress;
const echoSockets = new Set<Socket>();

before(async () => {
  turn = await startTurnServer({
    hosts: ['127.0.0.1'],
    port: 0,
    tcpPort: 0,
    relayAddress: '127.0.0.1',
    users: { alice: 'secret' },
    realm: 'icebridge.test',
    allowLoopback: true,
    tcpBindTimeoutMs: 400,
  });
  echo = createServer((socket) => {
    echoSockets.add(socket);
    socket.on('close', () => echoSockets.delete(socket));
    socket.pipe(socket);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const a = echo.address();
  assert.ok(a !== null && typeof a === 'object');
  echoAddress = { address: '127.0.0.1', port: a.port };
});

after(async () => {
  for (const s of echoSockets) s.destroy();
  echo.close();
  await turn.close();
});

function server(): TransportAddress {
  const [address] = turn.tcpAddresses;
  assert.ok(address, 'the TURN server listens on TCP');
  return address;
}

function allocation() {
  return openTurnTcpAllocation({ server: server(), username: 'alice', credential: 'secret' });
}

/** Reads from `socket` until `length` bytes came (or it ended). */
async function read(socket: Socket, length: number, withinMs = 5_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${total} of ${length} bytes in ${withinMs} ms`)), withinMs);
    const done = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) done();
    };
    socket.on('data', onData);
    socket.once('end', done);
  });
}

function closed(socket: Socket, withinMs = 5_000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${withinMs} ms`)), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('Connect to a TCP echo peer: bytes go through the relay and back (RFC 6062 §4.3, §5.2, §5.4)', async () => {
  const tcp = await allocation();
  try {
    assert.equal(tcp.relayedAddress.address, '127.0.0.1');
    const stream = await tcp.connect(echoAddress);
    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    stream.write(payload);
    const back = await read(stream, payload.length);
    assert.equal(back.length, payload.length);
    assert.ok(back.equals(payload), 'the bytes come back unchanged');
    assert.equal(turn.engine.tcp.counters.bound >= 1, true);
    stream.destroy();
  } finally {
    tcp.close();
  }
});

test('a peer connecting to the relayed address after a CreatePermission is accepted (§4.4, §5.3)', async () => {
  const tcp = await allocation();
  try {
    await tcp.createPermission('127.0.0.1');
    const accepted = new Promise<{ stream: Socket; peer: TransportAddress }>((resolve) => {
      tcp.onconnection = (stream, peer) => resolve({ stream, peer });
    });
    const peer = connect({ host: tcp.relayedAddress.address, port: tcp.relayedAddress.port });
    await once(peer, 'connect');
    peer.write('hello from the peer'); // sent before the client bound: buffered by the server (§5.3)
    const { stream, peer: from } = await accepted;
    assert.equal(from.address, '127.0.0.1');
    assert.equal(from.port, peer.localPort);
    assert.equal((await read(stream, 19)).toString(), 'hello from the peer');
    stream.write('and back');
    assert.equal((await read(peer, 8)).toString(), 'and back');
    // §5.5: the client closes its data connection, the peer's closes too.
    stream.end();
    await closed(peer);
  } finally {
    tcp.close();
  }
});

test('Connect to a denied peer is 403; to a closed port 447 at once', async () => {
  const tcp = await allocation();
  try {
    await assert.rejects(tcp.connect({ address: '169.254.169.254', port: 80 }), (err: unknown) => err instanceof TurnError && err.code === 403);
    const spare = createServer();
    spare.listen(0, '127.0.0.1');
    await once(spare, 'listening');
    const port = (spare.address() as { port: number }).port;
    spare.close();
    await once(spare, 'close');
    const started = Date.now();
    await assert.rejects(tcp.connect({ address: '127.0.0.1', port }), (err: unknown) => err instanceof TurnError && err.code === 447);
    assert.ok(Date.now() - started < 10_000, 'refused at once, not after the 30 s connect timeout');
  } finally {
    tcp.close();
  }
});

test('without a ConnectionBind the peer connection is closed after tcpBindTimeoutMs', async () => {
  const tcp = await allocation();
  try {
    await tcp.createPermission('127.0.0.1');
    // No onconnection handler: the client never binds.
    const peer = connect({ host: tcp.relayedAddress.address, port: tcp.relayedAddress.port });
    peer.on('error', () => {});
    await once(peer, 'connect');
    await closed(peer, 10_000);
  } finally {
    tcp.close();
  }
});

test('without a permission a peer connecting to the relayed address is closed at once', async () => {
  const tcp = await allocation();
  try {
    const peer = connect({ host: tcp.relayedAddress.address, port: tcp.relayedAddress.port });
    peer.on('error', () => {});
    await closed(peer, 5_000);
  } finally {
    tcp.close();
  }
});

test('closing the allocation closes its peer connections and its listener (§5.5)', async () => {
  const tcp = await allocation();
  const stream = await tcp.connect(echoAddress);
  stream.write('x');
  await read(stream, 1);
  const relayed = tcp.relayedAddress;
  tcp.close();
  await closed(stream, 5_000);
  // The listener is gone: a new connection to the relayed port is refused.
  const probe = connect({ host: relayed.address, port: relayed.port });
  const outcome = await new Promise<string>((resolve) => {
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    probe.once('connect', () => resolve('connected'));
  });
  probe.destroy();
  assert.equal(outcome, 'ECONNREFUSED');
});
