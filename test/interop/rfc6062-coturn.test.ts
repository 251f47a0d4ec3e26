// RFC 6062 against coturn (software nobody here wrote): icebridge's TCP allocation client over a TCP control
// connection, Connect to a TCP echo peer on 127.0.0.1, and a peer connecting to the relayed address after a
// CreatePermission. coturn offers TCP relays by default (its --no-tcp-relay is not given).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { openTurnTcpAllocation } from '../../src/node/turn-tcp-client.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { TurnError } from '../../src/turn/errors.js';
import { assertCoturnInstalled, startCoturn, type RunningCoturn } from './support/coturn.js';

const HOST = '127.0.0.1';
let coturn: RunningCoturn;
let echo: Server;
let echoAddress: TransportAddress;
const echoSockets = new Set<Socket>();

before(async () => {
  assertCoturnInstalled();
  coturn = await startCoturn({
    args: ['--lt-cred-mech', '--realm=example.org', '--user=alice:secret', '--allow-loopback-peers', `--relay-ip=${HOST}`],
  });
  echo = createServer((socket) => {
    echoSockets.add(socket);
    socket.on('close', () => echoSockets.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  echo.listen(0, HOST);
  await once(echo, 'listening');
  echoAddress = { address: HOST, port: (echo.address() as { port: number }).port };
});

after(async () => {
  for (const s of echoSockets) s.destroy();
  echo?.close();
  await coturn?.stop();
});

function allocation() {
  return openTurnTcpAllocation({ server: { address: HOST, port: coturn.port }, username: 'alice', credential: 'secret', transport: 'tcp' });
}

async function read(socket: Socket, length: number, withinMs = 5_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${total} of ${length} bytes in ${withinMs} ms\n${coturn.output().slice(-2000)}`)), withinMs);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total < length) return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
  });
}

test('coturn: Connect to a TCP echo peer, bytes echoed through the relay', async () => {
  const tcp = await allocation();
  try {
    assert.equal(tcp.relayedAddress.address, HOST);
    const stream = await tcp.connect(echoAddress);
    const payload = Buffer.alloc(100_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
    stream.write(payload);
    const back = await read(stream, payload.length);
    assert.ok(back.subarray(0, payload.length).equals(payload));
    stream.destroy();
  } finally {
    tcp.close();
  }
});

test('coturn: a peer connecting to the relayed address after CreatePermission is accepted and echoed', async () => {
  const tcp = await allocation();
  try {
    await tcp.createPermission(HOST);
    tcp.onconnection = (stream) => stream.pipe(stream); // the client echoes what the peer sends
    const peer = connect({ host: tcp.relayedAddress.address, port: tcp.relayedAddress.port });
    peer.on('error', () => {});
    await once(peer, 'connect');
    peer.write('ping through coturn');
    assert.equal((await read(peer, 19)).toString(), 'ping through coturn');
    peer.destroy();
  } finally {
    tcp.close();
  }
});

test('coturn: Connect to a closed port is 447', async () => {
  const tcp = await allocation();
  try {
    const spare = createServer();
    spare.listen(0, HOST);
    await once(spare, 'listening');
    const port = (spare.address() as { port: number }).port;
    spare.close();
    await once(spare, 'close');
    await assert.rejects(tcp.connect({ address: HOST, port }), (err: unknown) => err instanceof TurnError && err.code === 447);
  } finally {
    tcp.close();
  }
});

// Over the passive relayed candidate (b's active one connects to the relayed address) and over the active one
// (a's Connect: coturn connects from the relayed address to b's passive candidate). Each side hears only of
// the candidates that make that one path possible.
for (const path of ['passive', 'active'] as const) {
  test(`coturn: ICE over a ${path} relayed TCP candidate — a relay-only agent and a host-TCP peer connect through a coturn TCP allocation`, { timeout: 30_000 }, async () => {
    const url = `turn:${HOST}:${coturn.port}?transport=tcp`;
    const a = createIceAgent({ mdns: false, addresses: [HOST], role: 'controlling', candidateProtocols: ['tcp'], iceTransportPolicy: 'relay', iceServers: [{ urls: url, username: 'alice', credential: 'secret' }] });
    const b = createIceAgent({ mdns: false, addresses: [HOST], role: 'controlled', candidateProtocols: ['tcp'] });
    const relayed: string[] = [];
    // passive: a hears only of b's active candidate; active: b hears only of a's active relayed one.
    const heard = (from: typeof a, candidate: string) => (path === 'passive' ? from === a || / tcptype active/.test(candidate) : from === b || / tcptype active/.test(candidate));
    for (const [from, to] of [[a, b], [b, a]] as const) {
      void to.setRemoteParameters(from.localParameters);
      from.addEventListener('icecandidate', (e) => {
        if (from === a && e.candidate) relayed.push(e.candidate.candidate);
        if (e.candidate && !heard(from, e.candidate.candidate)) return;
        void to.addRemoteCandidate(e.candidate);
      });
    }
    try {
      await Promise.all([a.gather(), b.gather()]);
      assert.equal(relayed.length, 2, relayed.join(' | '));
      const passive = relayed.find((c) => / tcptype passive/.test(c))!;
      assert.match(passive, / tcp \d+ 127\.0\.0\.1 \d+ typ relay raddr \S+ rport \d+ tcptype passive/);
      assert.ok(relayed.some((c) => / tcp \d+ 127\.0\.0\.1 9 typ relay raddr \S+ rport \d+ tcptype active/.test(c)), relayed.join(' | '));
      const deadline = Date.now() + 15_000;
      while (!(a.state === 'completed' && b.state === 'completed')) {
        if (Date.now() > deadline) throw new Error(`not connected: a ${a.state}, b ${b.state}\n${coturn.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const selected = a.getSelectedCandidatePair()!;
      assert.deepEqual([selected.local.type, selected.local.tcpType], ['relay', path]);
      if (path === 'active') {
        // coturn connects from the relayed transport address itself (RFC 6062 §5.2): the check's source is a's
        // passive candidate's address and port, and still a's active candidate (peer-reflexive) to b — the
        // case test/ice/remote-candidates.test.ts pins down when b knows that passive candidate too.
        const atB = b.getSelectedCandidatePair()!;
        assert.deepEqual([atB.remote.type, atB.remote.tcpType], ['prflx', 'active']);
        assert.equal(`${atB.remote.address} ${atB.remote.port}`, / tcp \d+ (\S+ \d+) typ relay/.exec(passive)![1], 'from the relayed transport address');
      }
      const got = new Promise<string>((resolve) => b.addEventListener('data', (e) => resolve(new TextDecoder().decode(e.data)), { once: true }));
      assert.ok(a.send('through coturn over tcp'));
      assert.equal(await got, 'through coturn over tcp');
      const back = new Promise<string>((resolve) => a.addEventListener('data', (e) => resolve(new TextDecoder().decode(e.data)), { once: true }));
      assert.ok(b.send('and back'));
      assert.equal(await back, 'and back');
    } finally {
      await a.close();
      await b.close();
    }
  });
}
