// The Node TURN server (startTurnServer) on real UDP sockets, loopback only: EVEN-PORT R=1 binds an even
// port and the one above it, RESERVATION-TOKEN claims the second; a dual allocation relays from 127.0.0.1
// and ::1 to a peer of each family, and one family can be deleted alone.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';
import { StunMethod, TRANSPORT_UDP } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const WAIT_MS = 3000;

async function udp(type: 'udp4' | 'udp6', address: string, port = 0): Promise<Socket> {
  const socket = createSocket(type);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

function localOf(socket: Socket): TransportAddress {
  const a = socket.address();
  return { address: a.address, port: a.port };
}

/** Datagrams a socket receives, with a wait for the next one that matches. */
function inbox(socket: Socket) {
  const got: { bytes: Uint8Array; from: TransportAddress }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (msg, rinfo) => {
    got.push({ bytes: new Uint8Array(msg), from: { address: rinfo.address, port: rinfo.port } });
    for (const w of waiters.splice(0)) w();
  });
  const next = async (match: (m: { bytes: Uint8Array; from: TransportAddress }) => boolean): Promise<{ bytes: Uint8Array; from: TransportAddress }> => {
    const deadline = Date.now() + WAIT_MS;
    for (let seen = 0; ; ) {
      for (; seen < got.length; seen++) if (match(got[seen])) return got.splice(seen, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('nothing matching arrived in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { got, next };
}

/** A scripted long-term-credential TURN client on a real UDP socket. */
class UdpTurnClient {
  private realm: string | undefined;
  private nonce: string | undefined;
  readonly box;

  constructor(
    readonly socket: Socket,
    private readonly server: TransportAddress,
    private readonly username = 'alice',
    private readonly password = 'secret',
  ) {
    this.box = inbox(socket);
  }

  async request(method: number, attributes: StunAttributeEntry[]): Promise<StunMessage> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const entries = [...attributes];
      let key: Uint8Array | undefined;
      if (this.realm !== undefined && this.nonce !== undefined) {
        entries.push(['USERNAME', this.username], ['REALM', this.realm], ['NONCE', this.nonce]);
        key = longTermKey(this.username, this.realm, this.password, 'MD5');
      }
      const message = createStunMessage({ method, class: 'request', attributes: entries });
      this.socket.send(encodeStunMessage(message, { integrity: key === undefined ? undefined : { key }, fingerprint: true }), this.server.port, this.server.address);
      const id = message.transactionId;
      const reply = await this.box.next((m) => m.bytes[0] < 4 && m.bytes.subarray(8, 20).every((b, i) => b === id[i]));
      const response = decodeStunMessage(reply.bytes);
      const code = response.get('ERROR-CODE')?.code;
      if ((code === 401 && key === undefined) || code === 438) {
        this.realm = response.get('REALM');
        this.nonce = response.get('NONCE');
        continue;
      }
      return response;
    }
    throw new Error('no answer past the challenge');
  }

  allocate(extra: StunAttributeEntry[] = []): Promise<StunMessage> {
    return this.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', TRANSPORT_UDP], ...extra]);
  }

  send(peer: TransportAddress, data: Uint8Array): void {
    const message = createStunMessage({ method: StunMethod.Send, class: 'indication', attributes: [['XOR-PEER-ADDRESS', peer], ['DATA', data]] });
    this.socket.send(encodeStunMessage(message), this.server.port, this.server.address);
  }

  async data(): Promise<{ peer: TransportAddress; data: string }> {
    const m = await this.box.next((r) => r.bytes[0] < 4 && decodeStunMessage(r.bytes).method === StunMethod.Data);
    const message = decodeStunMessage(m.bytes);
    return { peer: message.get('XOR-PEER-ADDRESS')!, data: str(message.get('DATA')!) };
  }
}

/** Whether a UDP port is free (the relay socket on it closed): it can be bound. */
async function portIsFree(type: 'udp4' | 'udp6', address: string, port: number): Promise<boolean> {
  try {
    const probe = await udp(type, address, port);
    probe.close();
    return true;
  } catch {
    return false;
  }
}

describe('Node TURN server on real UDP: port reservations and dual allocations', () => {
  const servers: RunningTurnServer[] = [];
  const sockets: Socket[] = [];
  const start = async (hosts: string[]) => {
    // Loopback peers are the server's own addresses: allowed here, since nothing else is reachable in tests.
    const server = await startTurnServer({ hosts, port: 0, realm: 'example.org', users: { alice: 'secret', bob: 'hunter2' }, allowLoopback: true, allowHostAddresses: true });
    servers.push(server);
    return server;
  };
  const open = async (type: 'udp4' | 'udp6', address: string) => {
    const socket = await udp(type, address);
    sockets.push(socket);
    return socket;
  };
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('EVEN-PORT R=1: an even relay port, N+1 reserved under a token, claimed by another client', async () => {
    const server = await start(['127.0.0.1']);
    const listen = server.addresses[0];
    const a = new UdpTurnClient(await open('udp4', '127.0.0.1'), listen);
    const first = await a.allocate([['EVEN-PORT', { reservePort: true }]]);
    assert.equal(first.class, 'success', JSON.stringify(first.get('ERROR-CODE')));
    const relayed = first.get('XOR-RELAYED-ADDRESS')!;
    const token = first.get('RESERVATION-TOKEN')!;
    assert.equal(relayed.port % 2, 0);
    assert.equal(token.length, 8);
    assert.equal(await portIsFree('udp4', '127.0.0.1', relayed.port + 1), false, 'N+1 is bound while reserved');

    const b = new UdpTurnClient(await open('udp4', '127.0.0.1'), listen, 'bob', 'hunter2');
    const second = await b.allocate([['RESERVATION-TOKEN', token]]);
    assert.equal(second.class, 'success', JSON.stringify(second.get('ERROR-CODE')));
    assert.deepEqual(second.get('XOR-RELAYED-ADDRESS'), { address: relayed.address, port: relayed.port + 1 });
    // The claimed socket relays: Send → peer, peer → Data indication.
    const peer = await open('udp4', '127.0.0.1');
    const peerBox = inbox(peer);
    assert.equal((await b.request(StunMethod.CreatePermission, [['XOR-PEER-ADDRESS', localOf(peer)]])).class, 'success');
    b.send(localOf(peer), text('rtcp'));
    const atPeer = await peerBox.next(() => true);
    assert.equal(str(atPeer.bytes), 'rtcp');
    assert.deepEqual(atPeer.from, { address: relayed.address, port: relayed.port + 1 });
    peer.send(text('back'), relayed.port + 1, relayed.address);
    assert.deepEqual(await b.data(), { peer: localOf(peer), data: 'back' });

    const again = await new UdpTurnClient(await open('udp4', '127.0.0.1'), listen).allocate([['RESERVATION-TOKEN', token]]);
    assert.equal(again.get('ERROR-CODE')?.code, 508);
  });

  it('dual allocation: relays from 127.0.0.1 and ::1, then deletes the IPv6 half alone', async () => {
    const server = await start(['127.0.0.1', '::1']);
    const listen = server.addresses.find((a) => a.address === '127.0.0.1')!;
    const c = new UdpTurnClient(await open('udp4', '127.0.0.1'), listen);
    const r = await c.allocate([['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']]);
    assert.equal(r.class, 'success', JSON.stringify(r.get('ERROR-CODE')));
    const [relay4, relay6] = r.getAll('XOR-RELAYED-ADDRESS');
    assert.equal(relay4.address, '127.0.0.1');
    assert.equal(relay6.address, '::1');
    assert.equal(r.get('ADDRESS-ERROR-CODE'), undefined);

    const peer4 = await open('udp4', '127.0.0.1');
    const peer6 = await open('udp6', '::1');
    const box4 = inbox(peer4);
    const box6 = inbox(peer6);
    assert.equal((await c.request(StunMethod.CreatePermission, [['XOR-PEER-ADDRESS', localOf(peer4)], ['XOR-PEER-ADDRESS', localOf(peer6)]])).class, 'success');
    c.send(localOf(peer4), text('four'));
    c.send(localOf(peer6), text('six'));
    const at4 = await box4.next(() => true);
    const at6 = await box6.next(() => true);
    assert.deepEqual([str(at4.bytes), at4.from], ['four', relay4]);
    assert.deepEqual([str(at6.bytes), at6.from], ['six', relay6]);
    peer6.send(text('from six'), relay6.port, relay6.address);
    assert.deepEqual(await c.data(), { peer: localOf(peer6), data: 'from six' });
    peer4.send(text('from four'), relay4.port, relay4.address);
    assert.deepEqual(await c.data(), { peer: localOf(peer4), data: 'from four' });

    const refreshed = await c.request(StunMethod.Refresh, [['REQUESTED-ADDRESS-FAMILY', 'IPv4'], ['LIFETIME', 1200]]);
    assert.equal(refreshed.get('LIFETIME'), 1200);
    const deleted = await c.request(StunMethod.Refresh, [['REQUESTED-ADDRESS-FAMILY', 'IPv6'], ['LIFETIME', 0]]);
    assert.equal(deleted.get('LIFETIME'), 0);
    assert.equal(server.engine.allocationCount, 1);
    assert.deepEqual(server.engine.allocationInfo()[0].relays.map((h) => h.relayed), [relay4]);
    assert.equal(await portIsFree('udp6', '::1', relay6.port), true, 'the IPv6 relay socket is closed');
    assert.equal(await portIsFree('udp4', '127.0.0.1', relay4.port), false);
    c.send(localOf(peer4), text('still'));
    assert.equal(str((await box4.next(() => true)).bytes), 'still');
  });

  it('an IPv4-only server grants IPv4 with ADDRESS-ERROR-CODE 440 for IPv6', async () => {
    const server = await start(['127.0.0.1']);
    const c = new UdpTurnClient(await open('udp4', '127.0.0.1'), server.addresses[0]);
    const r = await c.allocate([['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']]);
    assert.equal(r.class, 'success');
    assert.equal(r.getAll('XOR-RELAYED-ADDRESS').length, 1);
    assert.deepEqual(r.get('ADDRESS-ERROR-CODE'), { family: 'IPv6', code: 440, reason: 'Address Family not Supported: IPv6' });
  });
});
