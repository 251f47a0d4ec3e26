// The WebTransport carrier's Node side: finds Deno, rotates the development certificate, spawns
// bridge/webtransport/main.ts with the bridge's configuration, answers its name lookups with the bridge's
// own resolver, turns its JSON lines into the bridge's log and metrics, and restarts it when it dies
// (0.5 s doubling to 30 s; back to 0.5 s after a minute up). No Node HTTP/3 server installs here, so the
// carrier is Deno's (DESIGN.md "Bridge"); without Deno the bridge serves WebSocket only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BridgeMetricsSnapshot } from '../src/bridge/metrics.js';
import { addSnapshot, emptySnapshot } from './cluster-metrics.js';
import type { LookupFunction, SessionLimits } from '../src/bridge/session-types.js';
import { watchHostAddresses, type HostAddressWatcher } from '../src/node/host-addresses.js';
import type { ResolvedBridgeOptions } from './options.js';
import { LookupError } from './resolver.js';
import type { ChildMessage, HostAddresses, ParentMessage, WebTransportChildConfig } from './webtransport/ipc-types.js';
import { DEV_CERT_ROTATE_BEFORE_MS, makeDevelopmentCertificate, type CertificateHash } from './webtransport-certificate.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The Deno sources: beside this file when run from source, in the package's bridge/ folder when run from dist/. */
const SOURCES = [join(HERE, 'webtransport'), join(HERE, '..', 'bridge', 'webtransport')].find((d) => existsSync(join(d, 'main.ts'))) ?? join(HERE, 'webtransport');
const MAIN = join(SOURCES, 'main.ts');
const DENO_CONFIG = join(SOURCES, 'deno.json');

/** Restart back-off: RESTART_MIN_MS doubling to RESTART_MAX_MS, reset once a child stayed up RESTART_RESET_MS. */
export const RESTART_MIN_MS = 500;
export const RESTART_MAX_MS = 30_000;
export const RESTART_RESET_MS = 60_000;
/** How long the first start may take before startBridge gives up on the carrier. */
const START_TIMEOUT_MS = 20_000;

export interface ResolvedWebTransportOptions {
  /** UDP port; 0 picks a free one (kept across restarts). */
  port: number;
  host: string;
  path: string;
  /** PEM files of a production certificate (no hashes then); both or neither. */
  cert: string | undefined;
  key: string | undefined;
  /** The Deno binary, when given; otherwise found (see findDeno). */
  denoPath: string | undefined;
  quicIdleTimeoutMs: number;
  quicKeepAliveMs: number;
  controlStreamTimeoutMs: number;
}

/** The Deno binary: the npm package's (deno, @deno/<platform>), else `deno` on PATH; undefined if none runs. */
export function findDeno(denoPath?: string): string | undefined {
  const candidates: string[] = [];
  if (denoPath !== undefined) candidates.push(denoPath);
  else {
    const require = createRequire(import.meta.url);
    const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
    const platform = `${process.platform}-${process.arch}${process.platform === 'linux' ? '-glibc' : ''}`;
    for (const pkg of [`@deno/${platform}/package.json`, 'deno/package.json']) {
      try {
        candidates.push(join(dirname(require.resolve(pkg)), exe));
      } catch {
        // Not installed.
      }
    }
    candidates.push('deno');
  }
  for (const c of candidates) {
    if (c !== 'deno' && !existsSync(c)) continue;
    const run = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (run.status === 0 && /^deno \d/.test(run.stdout)) return c;
  }
  return undefined;
}

export class WebTransportSupervisor {
  private child: ChildProcess | undefined;
  private port: number;
  private ready = false;
  private stopping = false;
  private backoffMs = RESTART_MIN_MS;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private rotateTimer: ReturnType<typeof setTimeout> | undefined;
  private startedAt = 0;
  private sessions = 0;
  private current = emptySnapshot();
  private gone = emptySnapshot();
  private devCert: ReturnType<typeof makeDevelopmentCertificate> | undefined;
  private production: { cert: string; key: string } | undefined;
  private hostWatch: HostAddressWatcher | undefined;
  private host: HostAddresses;
  private interfaces: string[] = [];
  private sessionWaiters: (() => void)[] = [];

  private constructor(
    private readonly deno: string,
    private readonly o: ResolvedBridgeOptions,
    private readonly wt: ResolvedWebTransportOptions,
    private readonly limits: SessionLimits,
    private readonly lookup: LookupFunction,
  ) {
    this.port = wt.port;
    this.host = { own: [], announce: { IPv4: [], IPv6: [] } };
  }

  /**
   * Starts the carrier and waits for its first `ready`. Undefined (and one log line) when it cannot run here:
   * no Deno, or an Origin rule it cannot enforce. Throws when it is misconfigured (a port taken, a bad certificate).
   */
  static async start(
    o: ResolvedBridgeOptions,
    wt: ResolvedWebTransportOptions,
    limits: SessionLimits,
    lookup: LookupFunction,
  ): Promise<WebTransportSupervisor | undefined> {
    const log = (fields: Record<string, unknown>) => logLine(o, fields);
    if (o.allowOrigins !== undefined || !o.allowMissingOrigin) {
      log({ event: 'webtransport-off', reason: 'the bridge has an Origin rule (allowOrigins / allowMissingOrigin), which Deno cannot check: its upgradeWebTransport() exposes no request headers; WebSocket only' });
      return undefined;
    }
    const deno = findDeno(wt.denoPath);
    if (deno === undefined) {
      log({ event: 'webtransport-off', reason: `deno not found${wt.denoPath ? ` at ${wt.denoPath}` : ''} (npm i deno turns WebTransport on); WebSocket only` });
      return undefined;
    }
    const s = new WebTransportSupervisor(deno, o, wt, limits, lookup);
    if (wt.cert !== undefined && wt.key !== undefined) s.production = { cert: readFileSync(wt.cert, 'utf8'), key: readFileSync(wt.key, 'utf8') };
    else s.devCert = makeDevelopmentCertificate(wt.host);
    s.hostWatch = watchHostAddresses(
      (own) => {
        s.interfaces = own;
        s.host = { own: o.allowHostAddresses ? [] : [...own, ...(o.hostAddresses ?? [])], announce: announced(o.allowLoopback) };
        s.send({ type: 'host-addresses', host: s.host });
      },
      { intervalMs: o.hostAddressIntervalMs },
    );
    try {
      await s.spawnChild(true);
    } catch (err) {
      s.stopping = true;
      s.hostWatch.stop();
      throw err;
    }
    s.scheduleRotation();
    return s;
  }

  /** `https://host:port/path`, without a token. */
  get url(): string {
    const h = this.wt.host === '0.0.0.0' ? '127.0.0.1' : this.wt.host === '::' ? '::1' : this.wt.host;
    return `https://${h.includes(':') ? `[${h}]` : h}:${this.port}${this.wt.path}`;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** The development certificate's hash for serverCertificateHashes; empty with a production certificate. */
  get certificateHashes(): CertificateHash[] {
    return this.devCert ? [{ ...this.devCert.hash }] : [];
  }

  /** The Deno process's id while it runs (tests kill it to see the restart). */
  get pid(): number | undefined {
    return this.ready ? this.child?.pid : undefined;
  }

  get isReady(): boolean {
    return this.ready;
  }

  get sessionCount(): number {
    return this.ready ? this.sessions : 0;
  }

  /** The carrier's counters over every child it ran. */
  /** The operator's hostAddresses changed (`o.hostAddresses` holds the new list): the child announces them. */
  hostAddressesChanged(): void {
    const o = this.o;
    this.host = { own: o.allowHostAddresses ? [] : [...this.interfaces, ...(o.hostAddresses ?? [])], announce: announced(o.allowLoopback) };
    this.send({ type: 'host-addresses', host: this.host, hostAddresses: o.hostAddresses ?? null });
  }

  snapshot(): BridgeMetricsSnapshot {
    // Counters of children gone added to the running one's (a restart must not make a counter go back); gauges are its alone.
    return addSnapshot(addSnapshot(emptySnapshot(), this.gone, false), this.ready ? this.current : emptySnapshot());
  }

  /** Resolves at the next session count the child reports (tests wait on it instead of polling). */
  nextSessionReport(): Promise<void> {
    return new Promise((resolve) => this.sessionWaiters.push(resolve));
  }

  /** Stops the child (its sessions close with 1001) and every timer; resolves when it has exited. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.rotateTimer);
    this.hostWatch?.stop();
    await this.stopChild();
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.send({ type: 'stop' });
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }

  private spawnChild(first: boolean): Promise<void> {
    const pem = this.production ?? this.devCert;
    if (!pem) throw new Error('no certificate');
    const o = this.o;
    const config: WebTransportChildConfig = {
      hostname: this.wt.host,
      port: this.port,
      path: this.wt.path,
      cert: pem.cert,
      key: pem.key,
      secrets: o.secrets,
      allowAnonymous: o.allowAnonymous,
      maxSessions: o.maxSessions,
      limits: this.limits,
      policy: { allowLoopback: o.allowLoopback, allow: o.allow, deny: o.deny, allowHostAddresses: o.allowHostAddresses, allowHostPorts: o.allowHostPorts },
      udpBindAddress: o.udpBindAddress,
      hostAddresses: o.hostAddresses,
      host: this.host,
      tlsCa: o.tlsCa,
      quicIdleTimeoutMs: this.wt.quicIdleTimeoutMs,
      quicKeepAliveMs: this.wt.quicKeepAliveMs,
      controlStreamTimeoutMs: this.wt.controlStreamTimeoutMs,
      metricsIntervalMs: 1000,
    };
    // Least privilege: network only. The certificate comes on stdin, lookups go to this process, the host's
    // addresses come from this process: no --allow-read, --allow-sys or --allow-env.
    const args = ['run', '--quiet', '--no-prompt', '--config', DENO_CONFIG, '--allow-net'];
    if (o.tlsInsecure) args.push('--unsafely-ignore-certificate-errors');
    args.push(MAIN);
    const child = spawn(this.deno, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
    this.child = child;
    this.ready = false;
    this.startedAt = Date.now();
    child.stdin?.on('error', () => {});
    child.stdin?.write(`${JSON.stringify(config)}\n`);
    let fatal: string | undefined;
    let settle: { resolve(): void; reject(err: Error): void } | undefined;
    const started = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const startTimer = setTimeout(() => {
      settle?.reject(new Error(`the WebTransport carrier did not start within ${START_TIMEOUT_MS} ms`));
      child.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let m: ChildMessage;
      try {
        m = JSON.parse(line) as ChildMessage;
      } catch {
        return logLine(o, { event: 'webtransport-output', line });
      }
      switch (m.type) {
        case 'ready':
          this.ready = true;
          this.port = m.port;
          clearTimeout(startTimer);
          logLine(o, { event: 'webtransport-ready', url: this.url, pid: m.pid, certificate: this.devCert ? 'development' : 'files' });
          settle?.resolve();
          settle = undefined;
          return;
        case 'log':
          try {
            o.logger(m.line);
          } catch {
            // A failing logger must not stop the carrier.
          }
          return;
        case 'metrics':
          this.current = m.snapshot;
          this.sessions = m.sessions;
          for (const w of this.sessionWaiters.splice(0)) w();
          return;
        case 'lookup':
          this.lookup(m.name, m.families, m.mdns === true).then(
            (answers) => this.send({ type: 'lookup-answer', id: m.id, answers }),
            (err: unknown) =>
              this.send({
                type: 'lookup-answer',
                id: m.id,
                failure: err instanceof LookupError ? err.failure : 'resolve-failed',
                reason: err instanceof Error ? err.message : String(err),
              }),
          );
          return;
        case 'fatal':
          fatal = m.error;
          return;
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim() !== '') logLine(o, { event: 'webtransport-stderr', pid: child.pid, line });
    });
    child.on('error', (err) => {
      fatal ??= err.message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(startTimer);
      const wasReady = this.ready;
      if (this.child === child) {
        this.ready = false;
        this.gone = addSnapshot(this.gone, this.current, false);
        this.current = emptySnapshot();
        this.sessions = 0;
        for (const w of this.sessionWaiters.splice(0)) w();
      }
      if (settle) {
        settle.reject(new Error(`the WebTransport carrier did not start: ${fatal ?? `deno exited (${signal ?? code})`}`));
        settle = undefined;
        if (first) return;
      }
      if (this.stopping || this.child !== child) return;
      if (Date.now() - this.startedAt >= RESTART_RESET_MS) this.backoffMs = RESTART_MIN_MS;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, RESTART_MAX_MS);
      logLine(o, { event: 'webtransport-exited', pid: child.pid, code, signal, wasReady, error: fatal, restartInMs: delay });
      this.restartTimer = setTimeout(() => {
        if (this.stopping) return;
        this.spawnChild(false).catch((err: unknown) => logLine(o, { event: 'webtransport-restart-failed', error: err instanceof Error ? err.message : String(err) }));
      }, delay);
      this.restartTimer.unref();
    });
    return started;
  }

  /** A development certificate is replaced a day before it expires: a new one, and the child restarted with it. */
  private scheduleRotation(): void {
    if (!this.devCert) return;
    const at = this.devCert.notAfter - DEV_CERT_ROTATE_BEFORE_MS;
    this.rotateTimer = setTimeout(() => void this.rotate(), Math.min(Math.max(0, at - Date.now()), 0x7fffffff));
    this.rotateTimer.unref();
  }

  private async rotate(): Promise<void> {
    if (this.stopping || !this.devCert) return;
    if (this.devCert.notAfter - DEV_CERT_ROTATE_BEFORE_MS > Date.now()) return this.scheduleRotation(); // a long timer woke early
    this.devCert = makeDevelopmentCertificate(this.wt.host);
    logLine(this.o, { event: 'webtransport-certificate-rotated', hash: this.devCert.hash.value });
    const old = this.child;
    this.child = undefined; // its exit is no crash
    if (old) {
      const exited = new Promise<void>((resolve) => old.once('exit', () => resolve()));
      old.stdin?.write(`${JSON.stringify({ type: 'stop' } satisfies ParentMessage)}\n`);
      await exited;
    }
    this.gone = addSnapshot(this.gone, this.current, false);
    this.current = emptySnapshot();
    await this.spawnChild(false).catch((err: unknown) => logLine(this.o, { event: 'webtransport-restart-failed', error: err instanceof Error ? err.message : String(err) }));
    this.scheduleRotation();
  }

  private send(m: ParentMessage): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(`${JSON.stringify(m)}\n`);
  }
}

/** What a socket bound to a wildcard address announces, per family (as bridge/host-addresses.ts hostAddressesFor). */
function announced(allowLoopback: boolean): { IPv4: string[]; IPv6: string[] } {
  const out = { IPv4: [] as string[], IPv6: [] as string[] };
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.internal && !allowLoopback) continue;
      if (i.family === 'IPv6' && /^fe[89ab]/i.test(i.address)) continue;
      out[i.family].push(i.address);
    }
  }
  return out;
}

function logLine(o: ResolvedBridgeOptions, fields: Record<string, unknown>): void {
  try {
    o.logger(JSON.stringify({ time: new Date().toISOString(), ...fields }));
  } catch {
    // A failing logger must not stop the carrier.
  }
}
