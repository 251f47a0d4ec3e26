// The Node TURN server's TCP and TLS listeners (src/node/turn-stream-listener.ts), on 127.0.0.1 only: an
// allocation over each, relayed both ways to a UDP peer, that dies with its connection (RFC 8656 §3.1), and
// every limit: connections in total and per IP, idle connections, framing errors, the largest message, the
// TLS handshake timeout, and the bounded write queue.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StreamSocket } from '../../src/node/stream-socket.js';
import { startTurnServer, type NodeTurnServerOptions, type RunningTurnServer } from '../../src/node/turn-server.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { StreamFramer } from '../../src/net/stream-framer.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';
import { StunMethod } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';
import { selfSignedCertificate } from '../support/test-certificate.js';

const HOST = '127.0.0.1';
const USERS = { u: 'p' };
const dir = mkdtempSync(join(tmpdir(), 'icebridge-turn-stream-'));
const pem = selfSignedCertificate(dir, 'turn.test');
const tlsMaterial = { cert: readFileSync(pem.cert, 'utf8'), key: readFileSync(pem.key, 'utf8') };
const servers: RunningTurnServer[] = [];
const cleanups: (() => void)[] = [];

after(async () => {
  for (const c of cleanups) c();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function server(options: NodeTurnServerOptions = {}): Promise<RunningTurnServer> {
  const s = await startTurnServer({ hosts: [HOST], port: 0, realm: 'r', users: USERS, allowLoopback: true, tcpPort: 0, tlsPort: 0, ...tlsMaterial, ...options });
  servers.push(s);
  return s;
}

/** Resolves when `check` holds, polled every 10 ms; rejects after `ms` (a generous bound, never a performance claim). */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function udpPeer(): Promise<UdpSocket> {
  const peer = createSocket('udp4');
  await new Promise<void>((resolve) => peer.bind(0, HOST, resolve));
  cleanups.push(() => peer.close());
  return peer;
}

async function allocateOver(s: RunningTurnServer, transport: 'tcp' | 'tls'): Promise<TurnRelaySocket> {
  const at = transport === 'tcp' ? s.tcpAddresses[0] : s.tlsAddresses[0];
  const base = await StreamSocket.connect({ host: at.address, port: at.port, tls: transport === 'tls' ? { rejectUnauthorized: false } : undefined });
  return TurnRelaySocket.allocate(base, { server: at, username: 'u', credential: 'p', transport, closeBase: true, timeoutMs: 10_000 });
}

/** A raw TCP connection to `port`, resolved once connected; `closed` settles when the server closes it. */
async function rawConnection(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: HOST, port });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  cleanups.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  return { socket, closed };
}

describe('TURN server over TCP and TLS', { timeout: 60_000 }, () => {
  let s: RunningTurnServer;
  before(async () => {
    s = await server();
  });

  it('reports its TCP and TLS listening addresses next to the UDP one', () => {
    assert.equal(s.tcpAddresses.length, 1);
    assert.equal(s.tlsAddresses.length, 1);
    assert.equal(s.tcpAddresses[0].address, HOST);
    assert.notEqual(s.tcpAddresses[0].port, s.tlsAddresses[0].port);
    assert.ok(s.streams);
  });

  for (const transport of ['tcp', 'tls'] as const) {
    it(`allocates over ${transport}, relays ChannelData both ways, and the allocation dies with the connection`, async () => {
      const peer = await udpPeer();
      const peerAddress = { address: HOST, port: peer.address().port };
      const relay = await allocateOver(s, transport);
      assert.equal(s.engine.allocationCount, 1);
      assert.equal(s.streams!.openConnections(transport), 1);
      await relay.bindChannel(peerAddress);
      const atPeer = new Promise<{ bytes: Buffer; port: number }>((resolve) => peer.once('message', (bytes, rinfo) => resolve({ bytes, port: rinfo.port })));
      // 5 bytes: the ChannelData is padded on the stream (RFC 8656 §12.5), the payload is not.
      relay.send(new Uint8Array([1, 2, 3, 4, 5]), peerAddress);
      const got = await atPeer;
      assert.deepEqual([...got.bytes], [1, 2, 3, 4, 5]);
      const back = new Promise<Uint8Array>((resolve) => (relay.ondatagram = (bytes) => resolve(bytes)));
      peer.send(Buffer.from('echo!!'), got.port, HOST);
      assert.equal(Buffer.from(await back).toString(), 'echo!!');
      relay.abort(); // closes the connection without a deallocating Refresh
      await until(() => s.engine.allocationCount === 0, 'the allocation to go with its connection');
      await until(() => s.streams!.openConnections() === 0, 'the connection to be gone');
    });
  }

  it('closes a connection whose bytes are neither STUN nor ChannelData', async () => {
    const before = s.streams!.counters.framingErrors;
    const a = await rawConnection(s.tcpAddresses[0].port);
    a.socket.write(Buffer.from([0x99, 0, 0, 4, 1, 2, 3, 4]));
    await a.closed;
    const b = await rawConnection(s.tcpAddresses[0].port);
    // A "ChannelData" past 0x7FFF (first byte 0x80): RFC 7983 leaves it to other protocols.
    b.socket.write(Buffer.from([0x80, 0x00, 0x00, 0x04, 1, 2, 3, 4]));
    await b.closed;
    assert.equal(s.streams!.counters.framingErrors, before + 2);
  });
});

describe('TURN stream listener limits', { timeout: 60_000 }, () => {
  it('refuses connections past maxConnectionsPerIp and maxConnections at once, and counts them', async () => {
    const s = await server({ tlsPort: undefined, streamLimits: { maxConnectionsPerIp: 2, maxConnections: 3 } });
    const port = s.tcpAddresses[0].port;
    const kept = [await rawConnection(port), await rawConnection(port)];
    await until(() => s.streams!.openConnections('tcp') === 2, 'two connections open');
    const third = await rawConnection(port);
    await third.closed;
    assert.equal(s.streams!.counters.refused.maxConnectionsPerIp, 1);
    assert.equal(s.streams!.counters.accepted.tcp, 2);
    // Closing one frees a place.
    kept[0].socket.destroy();
    await until(() => s.streams!.openConnections() === 1, 'one connection left');
    const again = await rawConnection(port);
    await until(() => s.streams!.openConnections() === 2, 'the new one accepted');
    assert.equal(s.streams!.counters.accepted.tcp, 3);
    again.socket.destroy();
    kept[1].socket.destroy();
    await until(() => s.streams!.openConnections() === 0, 'all closed');

    const t = await server({ tlsPort: undefined, streamLimits: { maxConnections: 1 } });
    const one = await rawConnection(t.tcpAddresses[0].port);
    await until(() => t.streams!.openConnections() === 1, 'one open');
    const two = await rawConnection(t.tcpAddresses[0].port);
    await two.closed;
    assert.equal(t.streams!.counters.refused.maxConnections, 1);
    one.socket.destroy();
  });

  it('closes a connection without an allocation after idleTimeoutMs, and keeps one that holds an allocation', async () => {
    const s = await server({ tlsPort: undefined, streamLimits: { idleTimeoutMs: 300 } });
    const idle = await rawConnection(s.tcpAddresses[0].port);
    const relay = await allocateOver(s, 'tcp');
    await idle.closed;
    assert.equal(s.streams!.counters.idleClosed, 1);
    await new Promise((resolve) => setTimeout(resolve, 900)); // three idle periods
    assert.equal(s.engine.allocationCount, 1);
    assert.equal(s.streams!.openConnections('tcp'), 1);
    relay.close();
    await relay.closed;
    await until(() => s.streams!.openConnections() === 0, 'the connection, now without an allocation, to be closed as idle');
  });

  it('closes a connection whose message is longer than maxMessageBytes', async () => {
    const s = await server({ tlsPort: undefined, streamLimits: { maxMessageBytes: 200 } });
    const c = await rawConnection(s.tcpAddresses[0].port);
    const header = Buffer.alloc(20);
    header.writeUInt16BE(0x0001, 0);
    header.writeUInt16BE(400, 2); // 420 bytes in all
    header.writeUInt32BE(0x2112a442, 4);
    c.socket.write(header);
    await c.closed;
    assert.equal(s.streams!.counters.framingErrors, 1);
  });

  it('closes a TLS connection whose handshake does not finish within tlsHandshakeTimeoutMs', async () => {
    const s = await server({ tcpPort: undefined, streamLimits: { tlsHandshakeTimeoutMs: 300 } });
    const silent = await rawConnection(s.tlsAddresses[0].port);
    await silent.closed;
    assert.equal(s.streams!.counters.tlsHandshakeTimedOut, 1);
    const garbage = await rawConnection(s.tlsAddresses[0].port);
    garbage.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await garbage.closed;
    assert.equal(s.streams!.counters.tlsHandshakeFailed, 1);
    assert.equal(s.streams!.openConnections(), 0);
  });

  it('drops whole messages to a client that does not read, past maxWriteQueueBytes, and counts them', async () => {
    const s = await server({ tlsPort: undefined, bytesPerSecond: Infinity, streamLimits: { maxWriteQueueBytes: 16 * 1024 } });
    const peer = await udpPeer();
    const client = await rawTurnClient(s.tcpAddresses[0].port);
    const relayed = await client.allocate();
    await client.permit({ address: HOST, port: peer.address().port });
    // The client stops reading: the kernel's buffers fill, then the server's queue, then it drops whole messages.
    client.socket.pause();
    const payload = Buffer.alloc(1200, 7);
    for (let round = 0; round < 200 && s.streams!.droppedSends === 0; round++) {
      for (let i = 0; i < 200; i++) peer.send(payload, relayed.port, HOST);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(s.streams!.droppedSends > 0, `nothing dropped; relayed to the client: ${s.engine.counters.relayed.packetsToClients}`);
    // What was queued is whole messages: once the client reads again, every frame parses.
    const framer = new StreamFramer({ channelNumbers: 'rfc5766' });
    let frames = 0;
    client.socket.removeAllListeners('data');
    client.socket.on('data', (chunk: Buffer) => (frames += framer.push(new Uint8Array(chunk)).length));
    client.socket.resume();
    await until(() => frames > 0 && framer.pending === 0, 'the queued messages to arrive whole');
    client.socket.destroy();
    await until(() => s.engine.allocationCount === 0, 'the allocation to go with its connection');
  });
});

/** A minimal TURN client over one raw TCP connection (the project's codec, no client engine), which can stop reading. */
async function rawTurnClient(port: number) {
  const { socket } = await rawConnection(port);
  const framer = new StreamFramer({ channelNumbers: 'rfc5766' });
  const waiting = new Map<string, (m: StunMessage) => void>();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of framer.push(new Uint8Array(chunk))) {
      if (frame[0] >= 4) continue;
      const m = decodeStunMessage(frame);
      const id = Buffer.from(m.transactionId).toString('hex');
      waiting.get(id)?.(m);
      waiting.delete(id);
    }
  });
  const request = (method: number, attributes: StunAttributeEntry[], key?: Uint8Array) => {
    const message = createStunMessage({ method, class: 'request', attributes });
    const answer = new Promise<StunMessage>((resolve) => waiting.set(Buffer.from(message.transactionId).toString('hex'), resolve));
    socket.write(encodeStunMessage(message, key ? { integrity: { key } } : undefined));
    return answer;
  };
  const key = longTermKey('u', 'r', 'p');
  let credentials: StunAttributeEntry[] = [];
  return {
    socket,
    async allocate() {
      const challenge = await request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17]]);
      credentials = [['USERNAME', 'u'], ['REALM', 'r'], ['NONCE', challenge.get('NONCE')!]];
      const ok = await request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17], ...credentials], key);
      assert.equal(ok.class, 'success', JSON.stringify(ok.get('ERROR-CODE')));
      return ok.get('XOR-RELAYED-ADDRESS')!;
    },
    async permit(peer: { address: string; port: number }) {
      const ok = await request(StunMethod.CreatePermission, [['XOR-PEER-ADDRESS', peer], ...credentials], key);
      assert.equal(ok.class, 'success', JSON.stringify(ok.get('ERROR-CODE')));
    },
  };
}
