// `icebridge serve` runs the TURN server, which answers STUN Binding on the same port: started as a user
// would, on 127.0.0.1 only, talked to over real UDP, stopped with SIGINT.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { selfSignedCertificate } from '../support/test-certificate.js';
import { StreamSocket } from '../../src/node/stream-socket.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { watch } from '../support/cli-process.js';
import { StunMethod } from '../../src/stun/constants.js';
import { decodeStunMessage } from '../../src/stun/decode.js';
import { encodeStunMessage } from '../../src/stun/encode.js';
import { longTermKey, verifyMessageIntegrity } from '../../src/stun/integrity.js';
import { createStunMessage, type StunMessage } from '../../src/stun/message.js';
import type { StunAttributeEntry } from '../../src/stun/attribute-values.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WAIT_MS = 20_000;
const children: ChildProcess[] = [];
const sockets: Socket[] = [];

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const socket of sockets) socket.close();
});

/** `promise`, or a rejection after `ms` — with the timer cleared either way, so nothing lingers. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function serve(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const { exited, line, output } = watch(child, WAIT_MS);
  return { child, exited, line, output };
}

/** A UDP client on 127.0.0.1 (one 5-tuple) that sends a request and waits, bounded, for its response. */
async function udpClient(port: number) {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const request = (method: number, attributes: StunAttributeEntry[], key?: Uint8Array) => {
    const message = createStunMessage({ method, class: 'request', attributes });
    return new Promise<StunMessage>((resolve, reject) => {
      const onMessage = (bytes: Buffer) => {
        const m = decodeStunMessage(new Uint8Array(bytes));
        if (!Buffer.from(m.transactionId).equals(Buffer.from(message.transactionId))) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(m);
      };
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        reject(new Error('no response within 5 s'));
      }, 5000);
      socket.on('message', onMessage);
      socket.send(encodeStunMessage(message, key ? { integrity: { key } } : undefined), port, '127.0.0.1');
    });
  };
  return { request };
}

describe('icebridge serve (TURN)', { timeout: 60_000 }, () => {
  it('starts, answers STUN Binding and TURN Allocate on one port, stops on SIGINT with exit 0', async () => {
    const s = serve(['--stun-port', '0', '--port', '0', '--host', '127.0.0.1', '--user', 'u:p', '--realm', 'r', '--allow-loopback']);
    const [, portText] = await s.line(/STUN server listening on udp 127\.0\.0\.1:(\d+)/);
    await s.line(/TURN server listening on udp 127\.0\.0\.1:\d+, realm "r", 1 user, relaying from 127\.0\.0\.1/);
    const port = Number(portText);

    const client = await udpClient(port);
    const binding = await client.request(StunMethod.Binding, []);
    assert.equal(binding.class, 'success');
    assert.equal(binding.get('XOR-MAPPED-ADDRESS')?.address, '127.0.0.1');

    const challenge = await client.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17]]);
    assert.equal(challenge.get('ERROR-CODE')?.code, 401);
    assert.equal(challenge.get('REALM'), 'r');
    const key = longTermKey('u', 'r', 'p');
    const credentials: StunAttributeEntry[] = [['USERNAME', 'u'], ['REALM', 'r'], ['NONCE', challenge.get('NONCE')!]];
    const allocated = await client.request(StunMethod.Allocate, [['REQUESTED-TRANSPORT', 17], ...credentials], key);
    assert.equal(allocated.class, 'success', JSON.stringify(allocated.get('ERROR-CODE')));
    assert.equal(verifyMessageIntegrity(allocated, key), true);
    assert.equal(allocated.get('XOR-RELAYED-ADDRESS')?.address, '127.0.0.1');
    const port2 = allocated.get('XOR-RELAYED-ADDRESS')!.port;
    assert.ok(port2 >= 49152 && port2 <= 65535, `relay port ${port2} in the dynamic range`);
    const deleted = await client.request(StunMethod.Refresh, [['LIFETIME', 0], ...credentials], key);
    assert.equal(deleted.class, 'success');

    assert.equal(s.child.kill('SIGINT'), true);
    const done = await within(s.exited, WAIT_MS, 'serve to stop');
    assert.equal(done.code, 0, s.output().stderr);
    assert.match(s.output().stdout, /stopped; answered 1 Binding requests, created 1 TURN allocations/);
  });

  it('says TURN is disabled without credentials, and refuses bad flags with exit 2', async () => {
    // Without the bridge and the pages nothing needs a secret, so none is generated for TURN either.
    const s = serve(['--stun-port', '0', '--port', '0', '--host', '127.0.0.1', '--no-bridge', '--no-pages']);
    await s.line(/TURN disabled: no --user or --secret given/);
    s.child.kill('SIGINT');
    assert.equal((await within(s.exited, WAIT_MS, 'serve to stop')).code, 0);
    const bad = [
      ['--user', 'nocolon'],
      ['--deny', 'not-a-cidr'],
      ['--stun-port', '1', '--turn-port', '2'],
      ['--max-bps', '0'],
      ['--tls-port', '0'],
      ['--cert', 'cert.pem', '--key', 'key.pem'],
      ['--tcp-port', '70000'],
      ['--tls-port', '0', '--cert', '/nonexistent/cert.pem', '--key', '/nonexistent/key.pem'],
    ];
    await Promise.all(
      bad.map(async (flags) => {
        const b = serve(['--stun-port', '0', '--port', '0', '--host', '127.0.0.1', ...flags]);
        const result = await within(b.exited, WAIT_MS, `serve ${flags.join(' ')} to exit`);
        assert.equal(result.code, 2, `${flags.join(' ')}: ${b.output().stderr}`);
      }),
    );
  });

  it('serves TURN over TCP and TLS with --tcp-port and --tls-port, and offers them in /config.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icebridge-serve-tls-'));
    try {
      const pem = selfSignedCertificate(dir, 'turn.test');
      const s = serve(['--stun-port', '0', '--port', '0', '--host', '127.0.0.1', '--secret', 'sekrit', '--no-bridge', '--no-pages', '--no-signal', '--no-webtransport', '--allow-loopback', '--tcp-port', '0', '--tls-port', '0', '--cert', pem.cert, '--key', pem.key]);
      const [, udpText] = await s.line(/STUN server listening on udp 127\.0\.0\.1:(\d+)/);
      const [, tcpText] = await s.line(/TURN over TCP listening on 127\.0\.0\.1:(\d+)/);
      const [, tlsText] = await s.line(/TURN over TLS listening on 127\.0\.0\.1:(\d+)/);
      const [, httpText] = await s.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
      const config = (await (await fetch(`http://127.0.0.1:${httpText}/config.json`)).json()) as { iceServers: { urls: string; username?: string; credential?: string }[] };
      assert.deepEqual(
        config.iceServers.map((e) => e.urls),
        [`stun:127.0.0.1:${udpText}`, `turn:127.0.0.1:${udpText}`, `turn:127.0.0.1:${tcpText}?transport=tcp`, `turns:127.0.0.1:${tlsText}`],
      );
      for (const entry of config.iceServers.slice(2)) {
        assert.ok(entry.username && entry.credential, `${entry.urls} comes with credentials`);
        const tls = entry.urls.startsWith('turns:');
        const port = Number(tls ? tlsText : tcpText);
        const base = await StreamSocket.connect({ host: '127.0.0.1', port, tls: tls ? { rejectUnauthorized: false } : undefined });
        const relay = await TurnRelaySocket.allocate(base, {
          server: { address: '127.0.0.1', port },
          username: entry.username!,
          credential: entry.credential!,
          transport: tls ? 'tls' : 'tcp',
          closeBase: true,
          timeoutMs: 10_000,
        });
        assert.equal(relay.localAddress.address, '127.0.0.1');
        relay.close();
        await relay.closed;
      }
      const metrics = await (await fetch(`http://127.0.0.1:${httpText}/metrics`)).text();
      assert.match(metrics, /^icebridge_turn_connections_accepted_total\{transport="tcp"\} 1$/m);
      assert.match(metrics, /^icebridge_turn_connections_accepted_total\{transport="tls"\} 1$/m);
      s.child.kill('SIGINT');
      const done = await within(s.exited, WAIT_MS, 'serve to stop');
      assert.equal(done.code, 0, s.output().stderr);
      assert.match(s.output().stdout, /created 2 TURN allocations/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
