// Interop: icebridge's TURN client asking for relayed address families (RFC 8656 §7.1), against coturn and
// against icebridge's own server (src/node/turn-server.ts), on loopback only:
// - a server on ::1 that relays IPv6 only: REQUESTED-ADDRESS-FAMILY IPv6 over UDP, TCP and TLS, data to an
//   IPv6 echo peer through a permission and a channel; without a family, the 440 and the IPv6 fallback;
// - a server relaying both families: a dual allocation (ADDITIONAL-ADDRESS-FAMILY), data to an IPv4 and an
//   IPv6 peer through the one allocation. coturn 4.6.1 ignores RFC 8656's 0x8000 and grants a dual allocation
//   only for the turnbis-draft code point 0x8032, which the client also sends (draftDualStackAttribute).
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { allocateTurn, type AllocateTurnOptions } from '../../src/node/turn-client.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
import { TurnError } from '../../src/turn/errors.js';
import type { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { selfSignedCertificate } from '../support/test-certificate.js';
import { startCoturn, type RunningCoturn } from './support/coturn.js';

const WAIT_MS = 5000;
const REALM = 'example.org';

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

interface EchoPeer {
  socket: Socket;
  address: TransportAddress;
}

async function echoPeer(host: '127.0.0.1' | '::1'): Promise<EchoPeer> {
  const socket = createSocket(host === '::1' ? 'udp6' : 'udp4');
  socket.on('message', (msg, rinfo) => socket.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { socket, address: { address: host, port: socket.address().port } };
}

/** Sends `text` to `peer` through the relay and resolves with what came back and from where. */
function roundTrip(relay: TurnRelaySocket, peer: TransportAddress, text: string): Promise<string> {
  return within(
    new Promise((resolve) => {
      relay.ondatagram = (data, from) => {
        if (from.address !== peer.address || from.port !== peer.port) return;
        relay.ondatagram = null;
        resolve(Buffer.from(data).toString());
      };
      relay.send(Buffer.from(text), peer);
    }),
    WAIT_MS,
    `echo from ${peer.address} through the relay`,
  );
}

/** Permission, Send/Data indications, then a channel and ChannelData, both ways, to one peer. */
async function exercise(relay: TurnRelaySocket, peer: TransportAddress): Promise<void> {
  await within(relay.createPermission(peer), WAIT_MS, `CreatePermission ${peer.address}`);
  assert.equal(await roundTrip(relay, peer, `indication to ${peer.address}`), `echo:indication to ${peer.address}`);
  const channel = await within(relay.bindChannel(peer), WAIT_MS, `ChannelBind ${peer.address}`);
  assert.ok(channel >= 0x4000 && channel <= 0x4fff, `channel 0x${channel.toString(16)}`);
  assert.equal(await roundTrip(relay, peer, `channel to ${peer.address}`), `echo:channel to ${peer.address}`);
}

async function closed(relay: TurnRelaySocket): Promise<void> {
  relay.close();
  assert.equal(await within(relay.closed, WAIT_MS, 'deallocation'), 'deallocated');
}

/** One server under test: where to reach it over each transport, and how to stop it. */
interface Server {
  uri(transport: 'udp' | 'tcp' | 'tls'): string;
  stop(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'icebridge-families-'));
const pem = selfSignedCertificate(dir, 'turn.test');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);

async function coturnServer(host: '127.0.0.1' | '::1', relayIps: string[]): Promise<Server> {
  const coturn: RunningCoturn = await startCoturn({
    host,
    tls: pem,
    args: ['--lt-cred-mech', `--realm=${REALM}`, '--user=alice:secret', '--allow-loopback-peers', ...relayIps.map((ip) => `--relay-ip=${ip}`)],
  });
  return {
    uri: (t) => (t === 'tls' ? `turns:${bracket(host)}:${coturn.tlsPort}` : `turn:${bracket(host)}:${coturn.port}?transport=${t}`),
    stop: () => coturn.stop(),
  };
}

async function icebridgeServer(host: '127.0.0.1' | '::1', relayIps: string[]): Promise<Server> {
  const server: RunningTurnServer = await startTurnServer({
    hosts: [host],
    port: 0,
    tcpPort: 0,
    tlsPort: 0,
    cert: readFileSync(pem.cert, 'utf8'),
    key: readFileSync(pem.key, 'utf8'),
    relayAddress: relayIps,
    realm: REALM,
    users: { alice: 'secret' },
    allowLoopback: true,
  });
  return {
    uri: (t) =>
      t === 'tls'
        ? `turns:${bracket(host)}:${server.tlsAddresses[0].port}`
        : `turn:${bracket(host)}:${(t === 'tcp' ? server.tcpAddresses : server.addresses)[0].port}?transport=${t}`,
    stop: () => server.close(),
  };
}

const SERVERS = [
  { name: 'coturn', start: coturnServer },
  { name: 'icebridge', start: icebridgeServer },
] as const;

const credentials: AllocateTurnOptions = { username: 'alice', credential: 'secret', timeoutMs: WAIT_MS, tls: { rejectUnauthorized: false } };

for (const { name, start } of SERVERS) {
  describe(`TURN client families against ${name}: a server on ::1 relaying IPv6 only`, () => {
    let server: Server;
    let peer6: EchoPeer;

    before(async () => {
      server = await start('::1', ['::1']);
      peer6 = await echoPeer('::1');
    });

    after(async () => {
      peer6?.socket.close();
      await server?.stop();
    });

    for (const transport of ['udp', 'tcp', 'tls'] as const) {
      it(`asks for an IPv6 relay over ${transport.toUpperCase()} and relays to an IPv6 peer`, async () => {
        const relay = await within(allocateTurn(server.uri(transport), { ...credentials, family: 'IPv6' }), WAIT_MS + 1000, 'Allocate');
        try {
          assert.equal(relay.localAddress.address, '::1');
          assert.deepEqual(relay.relayedAddresses, [relay.localAddress]);
          assert.equal(relay.mappedAddress?.address, '::1');
          await exercise(relay, peer6.address);
          await closed(relay);
        } finally {
          relay.abort();
        }
      });
    }

    it('without a family: the default (IPv4) gets 440, the IPv6 fallback is granted', async () => {
      const relay = await within(allocateTurn(server.uri('udp'), credentials), WAIT_MS + 1000, 'Allocate');
      try {
        assert.equal(relay.localAddress.address, '::1');
        await exercise(relay, peer6.address);
        await closed(relay);
      } finally {
        relay.abort();
      }
    });

    it('with familyFallback off the 440 is the answer, its reason without NUL padding', async () => {
      await assert.rejects(within(allocateTurn(server.uri('udp'), { ...credentials, familyFallback: false }), WAIT_MS + 1000, 'Allocate'), (err: unknown) => {
        assert.ok(err instanceof TurnError, String(err));
        assert.deepEqual([err.code, err.kind, err.operation], [440, 'response', 'allocate']);
        assert.ok(err.reason.length > 0);
        assert.doesNotMatch(err.reason, /\u0000/);
        assert.doesNotMatch(err.message, /\u0000/);
        return true;
      });
    });
  });

  describe(`TURN client families against ${name}: a dual allocation (relays on 127.0.0.1 and ::1)`, () => {
    let server: Server;
    let peer4: EchoPeer;
    let peer6: EchoPeer;

    before(async () => {
      server = await start('127.0.0.1', ['127.0.0.1', '::1']);
      peer4 = await echoPeer('127.0.0.1');
      peer6 = await echoPeer('::1');
    });

    after(async () => {
      peer4?.socket.close();
      peer6?.socket.close();
      await server?.stop();
    });

    for (const transport of ['udp', 'tcp'] as const) {
      it(`gets an IPv4 and an IPv6 relayed address in one allocation over ${transport.toUpperCase()} and relays to a peer of each family`, async () => {
        const relay = await within(allocateTurn(server.uri(transport), { ...credentials, dualStack: true }), WAIT_MS + 1000, 'Allocate');
        try {
          assert.equal(relay.addressError, undefined, JSON.stringify(relay.addressError));
          assert.deepEqual(relay.relayedAddresses.map((a) => a.address), ['127.0.0.1', '::1']);
          assert.equal(relay.localAddress.address, '127.0.0.1');
          await exercise(relay, peer4.address);
          await exercise(relay, peer6.address);
          await closed(relay);
        } finally {
          relay.abort();
        }
      });
    }

    it('asked for IPv6 only (REQUESTED-ADDRESS-FAMILY) from an IPv4 client: IPv4-to-IPv6 relaying', async () => {
      const relay = await within(allocateTurn(server.uri('udp'), { ...credentials, family: 'IPv6' }), WAIT_MS + 1000, 'Allocate');
      try {
        assert.equal(relay.localAddress.address, '::1');
        assert.equal(relay.mappedAddress?.address, '127.0.0.1');
        await exercise(relay, peer6.address);
        await closed(relay);
      } finally {
        relay.abort();
      }
    });
  });
}
