// `icebridge turn` as a user runs it — a separate process — against coturn and a UDP echo peer, all on
// 127.0.0.1: it allocates, binds a channel, and exits 0 with `echoed: true` when the echo comes back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCoturn, type RunningCoturn } from '../interop/support/coturn.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST = '127.0.0.1';
/** Generous: the CLI compiles TypeScript at start on a possibly busy machine. */
const RUN_TIMEOUT_MS = 30_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `icebridge …` to completion; kills it (and fails) after RUN_TIMEOUT_MS. */
function icebridge(args: string[]): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`icebridge ${args.join(' ')} still running after ${RUN_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('icebridge turn', () => {
  let coturn: RunningCoturn;
  let echo: Socket;
  let echoPort: number;
  let silent: Socket;
  let silentPort: number;

  before(async () => {
    coturn = await startCoturn({
      args: ['--lt-cred-mech', '--realm=example.org', '--user=alice:secret', '--allow-loopback-peers', `--relay-ip=${HOST}`],
    });
    echo = createSocket('udp4');
    echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => echo.bind(0, HOST, resolve));
    echoPort = echo.address().port;
    silent = createSocket('udp4'); // receives, never answers
    await new Promise<void>((resolve) => silent.bind(0, HOST, resolve));
    silentPort = silent.address().port;
  });

  after(async () => {
    echo?.close();
    silent?.close();
    await coturn?.stop();
  });

  it('exits 0 with JSON echoed: true when the peer echoes through the relay', async () => {
    for (const transport of ['udp', 'tcp']) {
      const r = await icebridge([
        'turn',
        `turn:${HOST}:${coturn.port}?transport=${transport}`,
        '--username',
        'alice',
        '--credential',
        'secret',
        '--peer',
        `${HOST}:${echoPort}`,
        '--json',
        '--timeout-ms',
        '8000',
      ]);
      assert.equal(r.code, 0, `${transport}: stdout ${r.stdout}\nstderr ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { relayed: string; mapped: string; peer: string; echoed: boolean; rttMs: number; channel: number };
      assert.equal(out.echoed, true);
      assert.match(out.relayed, /^127\.0\.0\.1:\d+$/);
      assert.match(out.mapped, /^127\.0\.0\.1:\d+$/);
      assert.equal(out.peer, `${HOST}:${echoPort}`);
      assert.equal(typeof out.rttMs, 'number');
      assert.equal(out.channel, 0x4000);
    }
  });

  it('exits 1 with echoed: false when the peer stays silent', async () => {
    const r = await icebridge([
      'turn',
      `turn:${HOST}:${coturn.port}`,
      '--username=alice',
      '--credential=secret',
      `--peer=${HOST}:${silentPort}`,
      '--json',
      '--timeout-ms=1500',
    ]);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { echoed: boolean; rttMs: number | null };
    assert.equal(out.echoed, false);
    assert.equal(out.rttMs, null);
  });

  it('exits 1 with a typed error for wrong credentials, and 2 for a usage error', async () => {
    const wrong = await icebridge(['turn', `turn:${HOST}:${coturn.port}`, '--username=alice', '--credential=nope', `--peer=${HOST}:${echoPort}`, '--json']);
    assert.equal(wrong.code, 1);
    assert.equal((JSON.parse(wrong.stdout) as { error: { code: number } }).error.code, 401);
    assert.match(wrong.stderr, /401/);
    const usage = await icebridge(['turn', `turn:${HOST}:${coturn.port}`]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--peer/);
  });
});

describe('icebridge turn against a server that relays IPv6 only (coturn on ::1)', () => {
  let coturn: RunningCoturn;
  let echo: Socket;
  let echoPort: number;

  before(async () => {
    coturn = await startCoturn({
      host: '::1',
      args: ['--lt-cred-mech', '--realm=example.org', '--user=alice:secret', '--allow-loopback-peers', '--relay-ip=::1'],
    });
    echo = createSocket('udp6');
    echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => echo.bind(0, '::1', resolve));
    echoPort = echo.address().port;
  });

  after(async () => {
    echo?.close();
    await coturn?.stop();
  });

  it('an IPv6 --peer asks for an IPv6 relay and the echo comes back through it, over UDP and TCP', async () => {
    for (const transport of ['udp', 'tcp']) {
      const r = await icebridge([
        'turn',
        `turn:[::1]:${coturn.port}?transport=${transport}`,
        '--username=alice',
        '--credential=secret',
        `--peer=[::1]:${echoPort}`,
        '--json',
        '--timeout-ms=8000',
      ]);
      assert.equal(r.code, 0, `${transport}: stdout ${r.stdout}\nstderr ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { relayed: string; mapped: string; peer: string; echoed: boolean; channel: number };
      assert.equal(out.echoed, true);
      assert.match(out.relayed, /^\[::1\]:\d+$/);
      assert.match(out.mapped, /^\[::1\]:\d+$/);
      assert.equal(out.peer, `[::1]:${echoPort}`);
      assert.equal(out.channel, 0x4000);
    }
  });

  it('an IPv4 --peer on that server: the 440 is followed by an IPv6 relay, then the IPv4 peer is refused with a typed 443', async () => {
    const r = await icebridge(['turn', `turn:[::1]:${coturn.port}`, '--username=alice', '--credential=secret', '--peer=127.0.0.1:9', '--json', '--timeout-ms=8000']);
    assert.equal(r.code, 1, r.stdout);
    const out = JSON.parse(r.stdout) as { error: { code: number | string; message: string } };
    // The IPv4 Allocate gets 440, the IPv6 fallback is granted, and the IPv4 peer is then refused (443).
    assert.equal(out.error.code, 443, r.stdout);
    assert.match(out.error.message, /not of a relayed address's family/);
    assert.doesNotMatch(r.stdout + r.stderr, /\\u0000|\u0000/);
  });
});
