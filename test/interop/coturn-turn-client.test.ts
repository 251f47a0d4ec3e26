// Interop: icebridge's TURN client against coturn (Debian's `turnserver`), on 127.0.0.1 only. Long-term
// credentials and TURN REST credentials, over UDP and TCP; data to a UDP echo peer through a permission
// (Send/Data indications) and through a channel (ChannelData), both directions, bytes checked.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { hmacSha1, toBase64, utf8Encode } from '../../src/crypto/index.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import { allocateTurn } from '../../src/node/turn-client.js';
import { TurnError } from '../../src/turn/errors.js';
import type { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { startCoturn, type RunningCoturn } from './support/coturn.js';

const HOST = '127.0.0.1';
const SECRET = 'interop-shared-secret';
const WAIT_MS = 5000;

/** Rejects if `promise` does not settle within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/** A UDP echo peer that records what it received. */
async function echoPeer(): Promise<{ socket: Socket; address: TransportAddress; received: Buffer[] }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (msg, rinfo) => {
    received.push(msg);
    socket.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  return { socket, address: { address: HOST, port: socket.address().port }, received };
}

/** The TURN REST scheme (draft-uberti-behave-turn-rest-00 §2.2), computed here independently of src/net/rest-credentials.ts. */
function restCredential(user: string, ttlSeconds: number): { username: string; credential: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${user}`;
  return { username, credential: toBase64(hmacSha1(utf8Encode(SECRET), utf8Encode(username))) };
}

/** Sends `payload` through the relay and waits for its echo from the peer. */
function roundTrip(relay: TurnRelaySocket, peer: TransportAddress, payload: Uint8Array): Promise<{ data: Uint8Array; from: TransportAddress }> {
  return within(
    new Promise((resolve) => {
      relay.ondatagram = (data, from) => {
        relay.ondatagram = null;
        resolve({ data: data.slice(), from });
      };
      relay.send(payload, peer);
    }),
    WAIT_MS,
    'echo through the relay',
  );
}

async function exercise(relay: TurnRelaySocket, peer: Awaited<ReturnType<typeof echoPeer>>, localPort: number | undefined): Promise<void> {
  assert.equal(relay.localAddress.address, HOST, 'coturn relays on --relay-ip');
  assert.ok(relay.localAddress.port > 0);
  assert.equal(relay.mappedAddress?.address, HOST);
  if (localPort !== undefined) assert.equal(relay.mappedAddress?.port, localPort);

  // Through a permission: Send indication out, Data indication back.
  await within(relay.createPermission(peer.address), WAIT_MS, 'CreatePermission');
  const viaIndication = new Uint8Array([0, 1, 2, 3, 250, 251, 252, 253, 254, 255, 0x42]);
  const back1 = await roundTrip(relay, peer.address, viaIndication);
  assert.deepEqual(new Uint8Array(peer.received.at(-1)!), viaIndication, 'the peer got the bytes sent');
  assert.deepEqual(back1.data, new Uint8Array([...Buffer.from('echo:'), ...viaIndication]), 'the client got the echo');
  assert.deepEqual(back1.from, peer.address);
  assert.equal(relay.counters.sentIndications, 1);
  assert.equal(relay.counters.receivedIndications, 1);

  // Through a channel: ChannelData both ways (odd length, so TCP padding is exercised).
  const channel = await within(relay.bindChannel(peer.address), WAIT_MS, 'ChannelBind');
  assert.equal(channel, 0x4000);
  const viaChannel = utf8Encode('channel data, 27 bytes long');
  const back2 = await roundTrip(relay, peer.address, viaChannel);
  assert.deepEqual(new Uint8Array(peer.received.at(-1)!), viaChannel);
  assert.deepEqual(back2.data, new Uint8Array([...Buffer.from('echo:'), ...viaChannel]));
  assert.deepEqual(back2.from, peer.address);
  assert.equal(relay.counters.sentChannelData, 1);
  assert.equal(relay.counters.receivedChannelData, 1, 'coturn answers on the bound channel (§12.7)');

  relay.close();
  assert.equal(await within(relay.closed, WAIT_MS, 'deallocation'), 'deallocated');
}

describe('TURN client against coturn (long-term credentials)', () => {
  let coturn: RunningCoturn;
  let peer: Awaited<ReturnType<typeof echoPeer>>;

  before(async () => {
    coturn = await startCoturn({
      args: ['--lt-cred-mech', '--realm=example.org', '--user=alice:secret', '--allow-loopback-peers', `--relay-ip=${HOST}`, '--stale-nonce=1'],
    });
    peer = await echoPeer();
  });

  after(async () => {
    peer?.socket.close();
    await coturn?.stop();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`allocates over ${transport.toUpperCase()}, relays through a permission and a channel, deallocates`, async () => {
      const relay = await within(
        allocateTurn(`turn:${HOST}:${coturn.port}?transport=${transport}`, { username: 'alice', credential: 'secret', timeoutMs: WAIT_MS }),
        WAIT_MS + 1000,
        'Allocate',
      );
      try {
        assert.equal(relay.client.credentials.realm, 'example.org');
        // coturn 4.6 does not offer PASSWORD-ALGORITHMS: RFC 5389-style MD5 key and MESSAGE-INTEGRITY.
        assert.equal(relay.client.credentials.usesSha256Integrity, false);
        assert.equal(relay.client.credentials.algorithm, 'MD5');
        await exercise(relay, peer, undefined);
      } finally {
        relay.abort();
      }
    });
  }

  it('retries with the new nonce after coturn says 438 Stale Nonce', async () => {
    const relay = await within(allocateTurn(`turn:${HOST}:${coturn.port}`, { username: 'alice', credential: 'secret', timeoutMs: WAIT_MS }), WAIT_MS + 1000, 'Allocate');
    try {
      const before = relay.client.credentials.nonce;
      // --stale-nonce=1: coturn checks nonce age on a coarse once-a-second clock, so wait well past it.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await within(relay.createPermission(peer.address), WAIT_MS, 'CreatePermission after the nonce went stale');
      assert.notEqual(relay.client.credentials.nonce, before, 'a 438 brought a new nonce and the request was retried with it');
      const back = await roundTrip(relay, peer.address, utf8Encode('after 438'));
      assert.equal(Buffer.from(back.data).toString(), 'echo:after 438');
    } finally {
      relay.close();
      await within(relay.closed, WAIT_MS, 'deallocation').catch(() => relay.abort());
    }
  });

  it('rejects wrong credentials with a typed 401', async () => {
    await assert.rejects(
      within(allocateTurn(`turn:${HOST}:${coturn.port}`, { username: 'alice', credential: 'wrong', timeoutMs: WAIT_MS }), WAIT_MS + 1000, 'Allocate'),
      (err: unknown) => {
        assert.ok(err instanceof TurnError, String(err));
        assert.equal(err.code, 401);
        assert.equal(err.operation, 'allocate');
        return true;
      },
    );
  });

  it('surfaces 403 for a peer coturn refuses (a denied peer range)', async () => {
    const relay = await within(allocateTurn(`turn:${HOST}:${coturn.port}`, { username: 'alice', credential: 'secret', timeoutMs: WAIT_MS }), WAIT_MS + 1000, 'Allocate');
    try {
      // coturn refuses 0.0.0.0 as a peer address whatever its options.
      await assert.rejects(within(relay.createPermission('0.0.0.0'), WAIT_MS, 'CreatePermission'), (err: unknown) => {
        assert.ok(err instanceof TurnError, String(err));
        assert.equal(err.operation, 'permission');
        assert.equal(err.kind, 'response');
        assert.equal(err.code, 403);
        return true;
      });
    } finally {
      relay.close();
      await within(relay.closed, WAIT_MS, 'deallocation').catch(() => relay.abort());
    }
  });
});

describe('TURN client against coturn (TURN REST shared secret)', () => {
  let coturn: RunningCoturn;
  let peer: Awaited<ReturnType<typeof echoPeer>>;

  before(async () => {
    coturn = await startCoturn({
      args: ['--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=example.org', '--allow-loopback-peers', `--relay-ip=${HOST}`],
    });
    peer = await echoPeer();
  });

  after(async () => {
    peer?.socket.close();
    await coturn?.stop();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`allocates with a minted credential over ${transport.toUpperCase()} and relays both ways`, async () => {
      const { username, credential } = restCredential('interop-user', 3600);
      const relay = await within(
        allocateTurn(`turn:${HOST}:${coturn.port}?transport=${transport}`, { username, credential, timeoutMs: WAIT_MS }),
        WAIT_MS + 1000,
        'Allocate',
      );
      try {
        await exercise(relay, peer, undefined);
      } finally {
        relay.abort();
      }
    });
  }

  it('is refused with an expired credential', async () => {
    const { username, credential } = restCredential('interop-user', -60);
    await assert.rejects(
      within(allocateTurn(`turn:${HOST}:${coturn.port}`, { username, credential, timeoutMs: WAIT_MS }), WAIT_MS + 1000, 'Allocate'),
      (err: unknown) => err instanceof TurnError && err.code === 401,
    );
  });
});
