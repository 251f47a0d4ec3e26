// Starts Debian's coturn (`turnserver`) on loopback on a free port, for interop tests: STUN now, TURN later
// (pass e.g. ['--lt-cred-mech', '--realm=icebridge.test', '--user=u:p', '--allow-loopback-peers',
// '--relay-ip=127.0.0.1'] or ['--use-auth-secret', '--static-auth-secret=…']).
//
// Readiness is probed with a hand-built STUN request (not icebridge's codec, which is what is under test):
// any answer carrying our transaction ID means coturn is serving. A missing `turnserver` is a failure with
// the install command, never a skip. The process is killed when the test process exits, and also when it
// dies without running exit handlers (setpriv --pdeathsig, where available).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface CoturnOptions {
  /** Extra turnserver arguments, appended after the defaults. */
  args?: string[];
  /** Loopback address to listen on: '127.0.0.1' (default) or '::1'. Never anything else. */
  host?: '127.0.0.1' | '::1';
  /** Give up waiting for coturn to answer after this long, all attempts together. Default 15 000 ms. */
  readyTimeoutMs?: number;
  /**
   * Serve TURN over TLS too (`turns:`), on a free TCP port of its own (RunningCoturn.tlsPort), with this
   * certificate and key (PEM file paths). Default: no TLS (`--no-tls`).
   */
  tls?: { cert: string; key: string };
}

export interface RunningCoturn {
  readonly host: '127.0.0.1' | '::1';
  /** The UDP and TCP listening port. */
  readonly port: number;
  /** The TLS listening port, when started with `tls`. */
  readonly tlsPort?: number;
  readonly pid: number;
  /** Everything coturn printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after a bound; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

export const COTURN_INSTALL_HINT = 'coturn is required for the interop tests: install it with `apt-get install -y coturn`';

const running = new Set<ChildProcess>();
const scratchDirs = new Set<string>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  });
  // A signal with no handler ends the process without 'exit' handlers: kill coturn, then die of the signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const child of running) child.kill('SIGKILL');
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

let turnserverChecked = false;

/** Throws (never skips) when turnserver is not installed. */
export function assertCoturnInstalled(): void {
  if (turnserverChecked) return;
  const probe = spawnSync('turnserver', ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `turnserver not found. ${COTURN_INSTALL_HINT}` : `cannot run turnserver: ${probe.error.message}. ${COTURN_INSTALL_HINT}`);
  }
  turnserverChecked = true;
}

let pdeathsig: boolean | undefined;

function hasSetprivPdeathsig(): boolean {
  if (pdeathsig === undefined) {
    const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { timeout: 5000 });
    pdeathsig = !probe.error && probe.status === 0;
  }
  return pdeathsig;
}

/** A port free for both UDP and TCP on `host` (kernel-chosen for TCP, then checked for UDP). */
export async function freeUdpTcpPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port: 0, exclusive: true }, () => resolve((tcp.address() as { port: number }).port));
    });
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const udpOk = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind({ address: host, port, exclusive: true }, () => resolve(true));
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => {
      try {
        udp.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
    if (udpOk) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${host} after 20 attempts`);
}

/** A 20-byte STUN request (Binding, or Allocate where coturn runs with --no-stun) and its transaction ID. */
function probeRequest(method: number): { bytes: Buffer; transactionId: Buffer } {
  const transactionId = randomBytes(12);
  const bytes = Buffer.alloc(20);
  bytes.writeUInt16BE(method, 0); // request class: both class bits clear
  bytes.writeUInt16BE(0, 2);
  bytes.writeUInt32BE(0x2112a442, 4);
  transactionId.copy(bytes, 8);
  return { bytes, transactionId };
}

function answersProbe(message: Buffer, transactionId: Buffer): boolean {
  return message.length >= 20 && (message[0] & 0xc0) === 0 && message.readUInt32BE(4) === 0x2112a442 && message.subarray(8, 20).equals(transactionId);
}

/** One STUN probe over UDP; true when coturn answered within `ms`. */
function probeUdp(host: string, port: number, method: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const { bytes, transactionId } = probeRequest(method);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('error', () => finish(false));
    socket.on('message', (message) => {
      if (answersProbe(message, transactionId)) finish(true);
    });
    socket.send(bytes, port, host, (err) => {
      if (err) finish(false);
    });
  });
}

/** One STUN probe over TCP (RFC 8489 §6.2.2 framing: the message as is). */
function probeTcp(host: string, port: number, method: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const { bytes, transactionId } = probeRequest(method);
    const socket = connectTcp({ host, port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 20 && answersProbe(received.subarray(0, 20 + received.readUInt16BE(2)), transactionId)) finish(true);
    });
  });
}

/** One STUN probe over TLS (any certificate: this checks readiness, not coturn's certificate). */
function probeTls(host: string, port: number, method: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const { bytes, transactionId } = probeRequest(method);
    const socket = connectTls({ host, port, rejectUnauthorized: false });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('error', () => finish(false));
    socket.on('secureConnect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 20 && answersProbe(received.subarray(0, 20 + received.readUInt16BE(2)), transactionId)) finish(true);
    });
  });
}

/**
 * Starts `turnserver -n --no-tls --no-dtls --listening-ip=<host> --listening-port=<free> --no-cli
 * --log-file=stdout …args` and resolves once it answers a STUN request on every transport it listens on
 * (with `tls`: `--tls-listening-port=<free> --cert=… --pkey=…` instead of `--no-tls`).
 */
export async function startCoturn(options: CoturnOptions = {}): Promise<RunningCoturn> {
  assertCoturnInstalled();
  installExitHooks();
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error(`coturn may only listen on loopback, not ${String(host)}`);
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + readyTimeoutMs;
  let lastError: Error | undefined;
  // The free port can be taken between our check and coturn's bind (and coturn binds with SO_REUSEPORT,
  // so it would not notice): a start that does not become ready is retried on another port, within the bound.
  for (let attempt = 1; attempt <= 3 && Date.now() < deadline; attempt++) {
    try {
      // Half the bound per attempt (coturn is normally ready in well under a second), so a retry has time.
      return await startOnce(host, options.args ?? [], Math.min(deadline, Date.now() + readyTimeoutMs / 2), options.tls);
    } catch (err) {
      lastError = err as Error;
      if ((err as { fatal?: boolean }).fatal) throw err;
    }
  }
  throw lastError ?? new Error(`coturn did not start within ${readyTimeoutMs} ms`);
}

async function startOnce(host: '127.0.0.1' | '::1', extraArgs: string[], deadline: number, tls?: { cert: string; key: string }): Promise<RunningCoturn> {
  const port = await freeUdpTcpPort(host);
  let tlsPort: number | undefined;
  while (tls && (tlsPort === undefined || tlsPort === port)) tlsPort = await freeUdpTcpPort(host);
  // Own pid file and user database, so parallel test files never share /var/run/turnserver.pid or the
  // system's /var/lib/turn/turndb.
  const dir = mkdtempSync(join(tmpdir(), 'icebridge-coturn-'));
  scratchDirs.add(dir);
  const args = [
    '-n',
    ...(tls ? [`--tls-listening-port=${tlsPort}`, `--cert=${tls.cert}`, `--pkey=${tls.key}`] : ['--no-tls']),
    '--no-dtls',
    `--listening-ip=${host}`,
    `--listening-port=${port}`,
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--userdb=${join(dir, 'turndb')}`,
    ...extraArgs,
  ];
  const command = hasSetprivPdeathsig() ? 'setpriv' : 'turnserver';
  const commandArgs = command === 'setpriv' ? ['--pdeathsig', 'KILL', 'turnserver', ...args] : args;
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (output += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (output += t));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      running.delete(child);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!exited && !spawnError) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
        const giveUp = new Promise<void>((resolve) => setTimeout(resolve, 6000).unref());
        await Promise.race([exitPromise, giveUp]);
        clearTimeout(killTimer);
        if (!exited && !spawnError) throw new Error(`turnserver pid ${child.pid} did not exit after SIGTERM and SIGKILL`);
      }
      rmSync(dir, { recursive: true, force: true });
      scratchDirs.delete(dir);
    })());

  const describe = () => `turnserver ${args.join(' ')}\n--- its output ---\n${output.slice(-4000)}`;
  const udp = !extraArgs.includes('--no-udp');
  const tcp = !extraArgs.includes('--no-tcp');
  const method = extraArgs.includes('--no-stun') ? 0x003 : 0x001; // Allocate gets a 401 or 400 answer
  let udpReady = !udp;
  let tcpReady = !tcp;
  let tlsReady = tlsPort === undefined || !tcp;
  while (!(udpReady && tcpReady && tlsReady)) {
    if (spawnError) {
      await stop();
      const code = (spawnError as NodeJS.ErrnoException).code;
      throw Object.assign(new Error(code === 'ENOENT' ? `turnserver not found. ${COTURN_INSTALL_HINT}` : `cannot start turnserver: ${spawnError.message}`), { fatal: true });
    }
    if (exited) {
      await stop();
      throw Object.assign(new Error(`turnserver exited early (code ${exited.code}, signal ${exited.signal})\n${describe()}`), { fatal: true });
    }
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(`turnserver did not answer STUN on ${host}:${port} (${udpReady ? '' : 'udp '}${tcpReady ? '' : 'tcp '}${tlsReady ? '' : `tls on ${tlsPort}`}) in time\n${describe()}`);
    }
    if (!udpReady) udpReady = await probeUdp(host, port, method, 200);
    if (!tcpReady) tcpReady = await probeTcp(host, port, method, 200);
    if (!tlsReady) tlsReady = await probeTls(host, tlsPort!, method, 500);
    if (!(udpReady && tcpReady && tlsReady)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Things coturn refuses (bad options, privileged operations as root) it says on stdout and may carry on.
  const refusal = /^.*(CONFIG ERROR|Cannot bind|\bERROR:).*$/m.exec(output);
  if (refusal) {
    await stop();
    throw Object.assign(new Error(`turnserver complained: ${refusal[0]}\n${describe()}`), { fatal: true });
  }
  return { host, port, ...(tlsPort === undefined ? {} : { tlsPort }), pid: child.pid!, output: () => output, stop };
}
