// The `icebridge` command as a user runs it: a separate process (`node --import tsx src/cli.ts …`), its
// stdout, stderr and exit code. Servers listen on 127.0.0.1 only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { finish as finishProcess, type CliResult } from '../support/cli-process.js';
import { toHex } from '../../src/crypto/index.js';
import { SAMPLE_IPV4_RESPONSE } from '../stun/vectors.js';

type Result = CliResult;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: several of these start at once, each compiling TypeScript on a possibly busy machine. */
const RUN_TIMEOUT_MS = 30_000;

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess, ms = RUN_TIMEOUT_MS): Promise<Result> {
  return finishProcess(child, ms);
}

function icebridge(args: string[], stdin?: string): Promise<Result> {
  const child = start(args);
  const done = finish(child);
  child.stdin!.end(stdin ?? '');
  return done;
}

/** Resolves with the first stdout line matching `pattern`, within `ms`. */
function waitForLine(child: ChildProcess, pattern: RegExp, ms = RUN_TIMEOUT_MS): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited (${code}) before printing ${pattern}; printed: ${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no line matching ${pattern} within ${ms} ms; printed: ${seen}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A UDP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function unusedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind({ address: '127.0.0.1', port: 0 }, resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const VECTOR_HEX = toHex(SAMPLE_IPV4_RESPONSE.bytes);

// Each run costs about a second of CPU to start (tsx compiles on the fly): a few at a time, not all at once.
describe('icebridge CLI', { concurrency: 3, timeout: 90_000 }, () => {
  it('--help lists decode, stun and serve and exits 0', async () => {
    const r = await icebridge(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const command of ['decode', 'stun', 'serve']) assert.match(r.stdout, new RegExp(`^\\s+${command}\\s`, 'm'), `${command} in:\n${r.stdout}`);
  });

  it('decode <RFC 5769 §2.2 response> prints Binding success with XOR-MAPPED-ADDRESS 192.0.2.1:32853', async () => {
    const r = await icebridge(['decode', VECTOR_HEX]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { method: string; class: string; transactionId: string; attributes: { type: string; name: string; value: unknown }[] };
    assert.equal(json.method, 'Binding');
    assert.equal(json.class, 'success');
    assert.equal(json.transactionId, SAMPLE_IPV4_RESPONSE.transactionId);
    const xor = json.attributes.find((a) => a.name === 'XOR-MAPPED-ADDRESS');
    assert.deepEqual(xor, { type: '0x0020', name: 'XOR-MAPPED-ADDRESS', value: '192.0.2.1:32853' });
    assert.deepEqual(
      json.attributes.map((a) => a.name),
      ['SOFTWARE', 'XOR-MAPPED-ADDRESS', 'MESSAGE-INTEGRITY', 'FINGERPRINT'],
    );
    assert.equal(json.attributes[0].value, 'test vector');
    assert.equal(json.attributes[3].value, '0xc07d4c96');
  });

  it('decode of malformed hex prints {"error":{code,offset,reason}} and exits 2', async () => {
    const r = await icebridge(['decode', '0101zz']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout) as { error: { code: string; offset: number; reason: string } };
    assert.deepEqual(Object.keys(json), ['error']);
    assert.deepEqual(Object.keys(json.error).sort(), ['code', 'offset', 'reason']);
    assert.equal(json.error.code, 'BAD_HEX');
    assert.equal(typeof json.error.offset, 'number');
    assert.match(json.error.reason, /hex digit/);
  });

  it('decode of a truncated message prints the parse error (LENGTH_MISMATCH at 2) and exits 2', async () => {
    const r = await icebridge(['decode', VECTOR_HEX.slice(0, 2 * 40)]);
    assert.equal(r.code, 2, r.stderr);
    const json = JSON.parse(r.stdout) as { error: { code: string; offset: number; reason: string } };
    assert.equal(json.error.code, 'LENGTH_MISMATCH');
    assert.equal(json.error.offset, 2);
    assert.match(json.error.reason, /40 bytes/);
  });

  it('decode - reads the hex from stdin (with newlines and spaces, as pasted)', async () => {
    const pasted = `${VECTOR_HEX.replace(/(.{8})/g, '$1 ').replace(/(.{36})/g, '$1\n')}\n`;
    const r = await icebridge(['decode', '-'], pasted);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const json = JSON.parse(r.stdout) as { attributes: { name: string; value: unknown }[] };
    assert.equal(json.attributes.find((a) => a.name === 'XOR-MAPPED-ADDRESS')?.value, '192.0.2.1:32853');
  });

  it('serve prints its listening line; stun --json against it prints mapped/local/rttMs; SIGINT stops serve with exit 0', async () => {
    const serve = start(['serve', '--port', '0', '--stun-port', '0', '--host', '127.0.0.1']);
    const served = finish(serve);
    served.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    try {
      const [, portText] = await waitForLine(serve, /STUN server listening on udp 127\.0\.0\.1:(\d+)/);
      const port = Number(portText);
      assert.ok(port > 0 && port < 65536);

      const r = await icebridge(['stun', `127.0.0.1:${port}`, '--json', '--timeout-ms', '15000', '--rto-ms', '100']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const json = JSON.parse(r.stdout) as { mapped: string; local: string; server: string; rttMs: number; software?: string };
      assert.match(json.mapped, /^127\.0\.0\.1:\d+$/);
      const mappedPort = Number(json.mapped.split(':')[1]);
      assert.equal(json.local.split(':').at(-1), String(mappedPort), 'no NAT on loopback: local port = mapped port');
      assert.equal(json.server, `127.0.0.1:${port}`);
      assert.equal(typeof json.rttMs, 'number');
      assert.ok(json.rttMs >= 0 && json.rttMs < 15_000);
      assert.equal(json.software, 'icebridge');

      assert.equal(serve.kill('SIGINT'), true);
      const done = await served;
      assert.equal(done.code, 0, `serve exit: ${done.code} ${done.signal}\n${done.stderr}`);
      assert.equal(done.signal, null);
      assert.match(done.stdout, /stopped; answered 1 Binding requests/);
      assert.equal(processGone(serve.pid!), true, 'the serve process is gone');
    } finally {
      if (serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
      await served.catch(() => undefined);
    }
  });

  it('stun to a port where nothing listens exits 1 at once, saying so (ICMP port unreachable, no retransmissions)', async () => {
    const port = await unusedUdpPort();
    const started = Date.now();
    const r = await icebridge(['stun', `127.0.0.1:${port}`]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`icebridge stun: port-unreachable: nothing listens at 127\\.0\\.0\\.1:${port}`));
    // Its own start included (tsx); the retransmissions alone would take 39.5 s.
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
  });

  it('stun to a server that drops the request, with --timeout-ms 500, exits 1 saying it got no answer', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind({ address: '127.0.0.1', port: 0 }, resolve));
    try {
      const r = await icebridge(['stun', `127.0.0.1:${silent.address().port}`, '--timeout-ms', '500']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`icebridge stun: no answer from 127\\.0\\.0\\.1:${silent.address().port}`));
    } finally {
      silent.close();
    }
  });

  it('an unknown command exits 2 and says so', async () => {
    const r = await icebridge(['frobnicate']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });
});
