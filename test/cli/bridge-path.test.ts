// The page's whole network path driven from a shell: `icebridge stun`, `turn` and `nat-type` with `--bridge`,
// as separate processes. The bridge resolves the names (a test zone, never the DNS), sends the UDP and opens
// the TCP/TLS streams; icebridge's STUN/TURN server, coturn (TCP, TLS) and a UDP echo peer are on 127.0.0.1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningBridge } from '../../bridge/server.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';
import { closedUdpPort, startEchoServer, startTestBridge, tokenUrl } from '../bridge/helpers.js';
import { startCoturn, type RunningCoturn } from '../interop/support/coturn.js';
import { finish, type CliResult } from '../support/cli-process.js';
import { selfSignedCertificate, zoneResolver } from '../support/test-certificate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: several CLI processes start at once, each compiling TypeScript on a possibly busy machine. */
const RUN_TIMEOUT_MS = 45_000;

/** The bridge's test zone; metadata.test is the cloud metadata address, which the bridge's policy refuses. */
const TEST_ZONE: Record<string, string> = {
  'stun.test': '127.0.0.1',
  'turn.test': '127.0.0.1',
  'coturn.test': '127.0.0.1',
  'echo.test': '127.0.0.1',
  'metadata.test': '169.254.169.254',
};

const testZone = zoneResolver(TEST_ZONE);


/** Runs `icebridge …` to completion, with how long it took (process start included). */
async function icebridge(args: string[]): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ICEBRIDGE_SECRET: '' },
  });
  const result = await finish(child, RUN_TIMEOUT_MS);
  return { ...result, ms: Date.now() - started };
}

describe('icebridge stun, turn and nat-type --bridge: names, UDP, TCP and TLS all through the bridge', { concurrency: true, timeout: 120_000 }, () => {
  let bridge: RunningBridge;
  let turn: RunningTurnServer;
  let rfc5780: RunningStunServer;
  let coturn: RunningCoturn;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let certDir: string;
  let url: () => string;

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'icebridge-cli-cert-'));
    const tls = selfSignedCertificate(certDir, 'coturn.test');
    // icebridge's server answers Binding and TURN over UDP; coturn serves TCP on its port and TLS on tlsPort.
    turn = await startTurnServer({ hosts: ['127.0.0.1'], port: 0, realm: 'r', users: { u: 'p' }, allowLoopback: true });
    rfc5780 = await startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0 });
    coturn = await startCoturn({
      args: ['--lt-cred-mech', '--realm=r', '--user=u:p', '--allow-loopback-peers', '--relay-ip=127.0.0.1', '--no-tcp-relay'],
      tls,
    });
    echo = await startEchoServer();
    bridge = await startTestBridge({ resolve: testZone, tlsCa: readFileSync(tls.cert, 'utf8') });
    url = () => tokenUrl(bridge);
  });

  after(async () => {
    await bridge?.close();
    await turn?.close();
    await rfc5780?.close();
    await coturn?.stop();
    await echo?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('stun by name over UDP prints the bridge socket as the server saw it', async () => {
    const port = turn.addresses[0].port;
    const r = await icebridge(['stun', `stun.test:${port}`, '--bridge', url(), '--json', '--timeout-ms', '5000']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout) as { mapped: string; local: string; server: string };
    assert.match(json.mapped, /^127\.0\.0\.1:\d+$/);
    assert.equal(json.local, json.mapped, 'the bridge socket is on loopback: no NAT between it and the server');
    assert.equal(json.server, `127.0.0.1:${port}`, 'stun.test, resolved on the bridge');
  });

  it('stun over TLS (stuns:) and TCP (stun: --tcp) runs on a bridge stream', async () => {
    for (const server of [[`stuns:coturn.test:${coturn.tlsPort}`], [`stun:coturn.test:${coturn.port}`, '--tcp']]) {
      const r = await icebridge(['stun', ...server, '--bridge', url(), '--json', '--timeout-ms', '5000']);
      assert.equal(r.code, 0, `${server.join(' ')}: ${r.stdout}${r.stderr}`);
      const json = JSON.parse(r.stdout) as { mapped: string; server: string };
      assert.match(json.mapped, /^127\.0\.0\.1:\d+$/, server.join(' '));
      assert.match(json.server, /^127\.0\.0\.1:\d+$/, server.join(' '));
    }
  });

  it('stun to a destination the bridge refuses exits 1 at once with the policy named', async () => {
    // No --timeout-ms: without the refusal this would wait out the RFC 8489 schedule (39.5 s).
    // The bound is on the time past a process start measured just before (tsx compiling on a cold, busy
    // machine can take seconds of its own), against 39.5 s of retransmissions without the refusal.
    const start = await icebridge(['stun', '--help']);
    const r = await icebridge(['stun', '169.254.169.254:3478', '--bridge', url()]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /destination-denied: destination 169\.254\.169\.254 port 3478 is not allowed/);
    assert.ok(r.ms - start.ms < 5000, `exited after ${r.ms} ms, a process start taking ${start.ms} ms`);
    const json = await icebridge(['stun', '169.254.169.254:3478', '--bridge', url(), '--json']);
    assert.equal(json.code, 1);
    const out = JSON.parse(json.stdout) as { error: { code: string; message: string } };
    // The bridge refuses the connected socket's bind (the BridgeError's code), before any datagram.
    assert.equal(out.error.code, 'destination-denied');
    assert.match(out.error.message, /^destination-denied: /);
    // By name: the bridge refuses the lookup's only answer.
    const named = await icebridge(['stun', 'stun:metadata.test:3478', '--bridge', url()]);
    assert.equal(named.code, 1);
    assert.match(named.stderr, /icebridge stun: destination-denied: every address of metadata\.test is refused/);
    assert.ok(named.ms - start.ms < 5000, `exited after ${named.ms} ms, a process start taking ${start.ms} ms`);
  });

  it('stun to a UDP port where nothing listens exits 1 at once: the bridge socket is connected, so the ICMP refusal comes back', async () => {
    const port = await closedUdpPort();
    const start = await icebridge(['stun', '--help']);
    const r = await icebridge(['stun', `127.0.0.1:${port}`, '--bridge', url(), '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'UNREACHABLE');
    assert.ok(r.ms - start.ms < 5000, `exited after ${r.ms} ms, a process start taking ${start.ms} ms (39.5 s of retransmissions without the refusal)`);
  });

  it('turn allocates by name over UDP, TCP and TLS through the bridge and the echo comes back', async () => {
    const servers = [`turn:turn.test:${turn.addresses[0].port}`, `turn:coturn.test:${coturn.port}?transport=tcp`, `turns:coturn.test:${coturn.tlsPort}`];
    const runs = await Promise.all(
      servers.map((server) =>
        icebridge(['turn', server, '--bridge', url(), '--username', 'u', '--credential', 'p', '--peer', `echo.test:${echo.address.port}`, '--json', '--timeout-ms', '8000']),
      ),
    );
    for (const [i, r] of runs.entries()) {
      assert.equal(r.code, 0, `${servers[i]}: stdout ${r.stdout}\nstderr ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { relayed: string; mapped: string; peer: string; echoed: boolean; channel: number };
      assert.equal(out.echoed, true, servers[i]);
      assert.match(out.relayed, /^127\.0\.0\.1:\d+$/);
      assert.match(out.mapped, /^127\.0\.0\.1:\d+$/);
      assert.equal(out.peer, `127.0.0.1:${echo.address.port}`, 'echo.test, resolved on the bridge');
      assert.ok(out.channel >= 0x4000);
    }
  });

  it('turn says why the bridge refused: a certificate not for the name, a denied server', async () => {
    const peer = `127.0.0.1:${echo.address.port}`;
    const tls = await icebridge(['turn', `turns:127.0.0.1:${coturn.tlsPort}`, '--bridge', url(), '--username=u', '--credential=p', `--peer=${peer}`]);
    assert.equal(tls.code, 1, tls.stdout + tls.stderr);
    assert.match(tls.stderr, /icebridge turn: tls-failed: /);
    const denied = await icebridge(['turn', 'turn:metadata.test:3478?transport=tcp', '--bridge', url(), '--username=u', '--credential=p', `--peer=${peer}`]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /icebridge turn: destination-denied: every address of metadata\.test is refused/);
  });

  it('nat-type --bridge classifies the bridge host from its sockets (by name)', async () => {
    const r = await icebridge(['nat-type', '--server', `stun:stun.test:${rfc5780.addresses[0].port}`, '--bridge', url(), '--json', '--timeout-ms', '1500', '--rto-ms', '100']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { natted: boolean; mapping: string; filtering: string; classic: string; server: { address: string } };
    assert.equal(out.natted, false, r.stdout);
    assert.deepEqual([out.mapping, out.filtering, out.classic], ['endpoint-independent', 'endpoint-independent', 'open internet']);
    assert.equal(out.server.address, '127.0.0.1');
  });

  it('refuses options the bridge path cannot honour with exit 2', async () => {
    const [stun, turnRun, nat] = await Promise.all([
      icebridge(['stun', 'stuns:coturn.test', '--bridge', url(), '--insecure']),
      icebridge(['turn', 'turns:coturn.test', '--bridge', url(), '--insecure', '--username=u', '--credential=p', '--peer=127.0.0.1:9']),
      icebridge(['nat-type', 'stun:stun.test', '--bridge', url(), '--lifetime']),
    ]);
    assert.equal(stun.code, 2, stun.stderr);
    assert.match(stun.stderr, /--insecure does not apply with --bridge/);
    assert.equal(turnRun.code, 2, turnRun.stderr);
    assert.match(turnRun.stderr, /--insecure does not apply with --bridge/);
    assert.equal(nat.code, 2, nat.stderr);
    assert.match(nat.stderr, /--bridge does not go with --lifetime/);
  });

  it('documents --bridge in each command', async () => {
    for (const command of ['stun', 'turn', 'nat-type']) {
      const r = await icebridge([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--bridge URL/, command);
    }
  });
});
