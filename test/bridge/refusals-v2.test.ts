// The destination policy on real sockets: every IPv6 form that embeds a refused IPv4 address is refused by
// the bridge as that address, the refusal names the destination (so a v2 client fails what waits for it at
// once), and listening sockets on every address those forms could reach prove that nothing left. A bridge
// that allows loopback shows the listeners do hear what is let through. Loopback only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { RunningBridge } from '../../bridge/server.js';
import { BridgeError, type BridgeConnection } from '../../src/net/bridge-client.js';
import type { DestinationUnreachableError } from '../../src/net/datagram-socket.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { formatIp, parseIp } from '../../src/net/ip.js';

/** The text the codec gives back for an address. */
const canonical = (address: string) => formatIp(parseIp(address));
import { closeUdp, startTestBridge, tokenUrl, within } from './helpers.js';

/** IPv4 127.0.0.1 written in every IPv6 form that embeds an IPv4 address. */
const LOOPBACK_FORMS = [
  '::ffff:127.0.0.1', // IPv4-mapped (RFC 4291 §2.5.5.2)
  '::127.0.0.1', // IPv4-compatible (RFC 4291 §2.5.5.1)
  '::ffff:0:127.0.0.1', // SIIT (RFC 6052 §2.1 / RFC 7915)
  '64:ff9b::7f00:1', // NAT64 well-known prefix (RFC 6052 §2.1)
  '2002:7f00:1::1', // 6to4 (RFC 3056 §2)
  '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1 (RFC 4380 §4: the address XOR ffffffff)
];
/** Refused by default, whatever the loopback setting. */
const ALWAYS_DENIED = ['169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '::169.254.169.254', '::ffff:0:a9fe:a9fe', '240.0.0.1', '192.0.0.8', '224.0.0.1'];

interface Listener {
  port: number;
  received: number;
  close(): Promise<void>;
}

/** UDP listeners on 127.0.0.1 and ::1 (and, for IPv4-mapped traffic, the dual-stack wildcard): one port. */
async function listen(): Promise<Listener> {
  const v4 = await UdpSocket.bind({ address: '127.0.0.1' });
  const port = v4.localAddress.port;
  const v6 = await UdpSocket.bind({ address: '::1', port, family: 'IPv6' });
  const state: Listener = { port, received: 0, close: async () => void (await Promise.all([closeUdp(v4), closeUdp(v6)])) };
  for (const s of [v4, v6]) s.ondatagram = () => void state.received++;
  return state;
}

describe('bridge destination policy on real sockets', () => {
  let strict: RunningBridge;
  let udp: Listener;
  let tcp: Server;
  let tcpConnections = 0;
  let connection: BridgeConnection;

  before(async () => {
    strict = await startTestBridge({ allowLoopback: false, errorFramesPerSecond: 1000 });
    udp = await listen();
    tcp = createServer((s) => {
      tcpConnections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => tcp.listen(udp.port, '127.0.0.1', () => resolve()));
    connection = await connectBridge(tokenUrl(strict));
  });
  after(async () => {
    connection?.close();
    await strict?.close();
    await udp?.close();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  });

  it('refuses every embedding of loopback and of the refused ranges, naming each destination, and nothing arrives', async () => {
    const v4 = await connection.bind({ family: 'IPv4' });
    const v6 = await connection.bind({ family: 'IPv6' });
    const refused = new Map<string, DestinationUnreachableError>();
    for (const s of [v4, v6]) s.onunreachable = (e) => void refused.set(e.destination.address, e);
    const targets = [...LOOPBACK_FORMS, ...ALWAYS_DENIED, '127.0.0.1', '::1'];
    const sentBefore = strict.metrics.datagramsOut;
    const t0 = performance.now();
    for (const address of targets) (address.includes(':') ? v6 : v4).send(Uint8Array.of(1), { address, port: udp.port });
    await within(
      (async () => {
        while (refused.size < targets.length) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      `a refusal for each of ${targets.length} destinations (got ${[...refused.keys()].join(', ')})`,
    );
    assert.ok(performance.now() - t0 < 5000);
    for (const address of targets) {
      const e = refused.get(canonical(address));
      assert.ok(e && e.code === 'destination-denied' && e.destination.port === udp.port, `${address}: ${e?.message}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(strict.metrics.datagramsOut, sentBefore, 'the bridge sent none of them');
    assert.equal(udp.received, 0, 'no listener heard anything');
  });

  it('refuses TCP streams to the same destinations, and the listening TCP socket sees no connection', async () => {
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '169.254.169.254']) {
      await assert.rejects(
        connection.connect({ address, port: udp.port }),
        (e: unknown) => e instanceof BridgeError && e.code === 'destination-denied',
        address,
      );
    }
    assert.equal(tcpConnections, 0);
  });

  it('a bridge that allows loopback lets 127.0.0.1 through, so the listeners above do hear what goes', async () => {
    const open = await startTestBridge();
    const c = await connectBridge(tokenUrl(open));
    try {
      const s = await c.bind();
      s.send(Uint8Array.of(1), { address: '127.0.0.1', port: udp.port });
      await within(
        (async () => {
          while (udp.received === 0) await new Promise((r) => setTimeout(r, 10));
        })(),
        3000,
        'the datagram at the listener',
      );
      // The embeddings of 169.254.169.254 stay refused even there.
      const refused = new Promise<string>((resolve) => (s.onunreachable = (e) => resolve(e.destination.address)));
      s.send(Uint8Array.of(1), { address: '::ffff:169.254.169.254', port: 80 });
      assert.equal(await within(refused, 3000, 'the refusal'), canonical('::ffff:169.254.169.254'));
    } finally {
      c.close();
      await open.close();
    }
  });
});
