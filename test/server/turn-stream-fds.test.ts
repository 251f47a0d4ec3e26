// 1 000 TURN allocations over stream connections (500 TCP + 500 TLS, each with its Allocate done) against a
// TURN server in a child process, then every connection closed: the allocations go with their connections
// (RFC 8656 §3.1) and the server's file descriptors (/proc/<pid>/fd, counted by the server itself) come back
// to where they were before. Half the clients deallocate first (Refresh LIFETIME 0), half just drop the
// connection. On 127.0.0.1 only.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StreamSocket } from '../../src/node/stream-socket.js';
import { TurnRelaySocket } from '../../src/turn/relay-socket.js';
import { selfSignedCertificate } from '../support/test-certificate.js';

const HOST = '127.0.0.1';
const PER_TRANSPORT = 500;
const BATCH = 50;
const SCRIPT = fileURLToPath(new URL('./support/turn-stream-server.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'icebridge-turn-fds-'));
let child: ChildProcess | undefined;

after(() => {
  child?.stdin?.end();
  if (child && child.exitCode === null) setTimeout(() => child?.kill('SIGKILL'), 3000).unref();
  rmSync(dir, { recursive: true, force: true });
});

interface Stats {
  fds: number;
  allocations: number;
  connections: number;
}

function startServer(options: Record<string, unknown>): Promise<{ udp: number; tcp: number; tls: number; stats: () => Promise<Stats> }> {
  child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = (ms: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the server within ${ms} ms`)), ms);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  return next(30_000).then((line) => {
    const ready = JSON.parse(line) as { udp: number; tcp: number; tls: number };
    return {
      ...ready,
      stats: async () => {
        const answer = next(10_000);
        child!.stdin!.write('stats\n');
        return JSON.parse(await answer) as Stats;
      },
    };
  });
}

async function allocate(port: number, transport: 'tcp' | 'tls'): Promise<TurnRelaySocket> {
  const base = await StreamSocket.connect({ host: HOST, port, tls: transport === 'tls' ? { rejectUnauthorized: false } : undefined });
  return TurnRelaySocket.allocate(base, { server: { address: HOST, port }, username: 'u', credential: 'p', transport, closeBase: true, timeoutMs: 20_000 });
}

async function allocateMany(count: number, port: number, transport: 'tcp' | 'tls'): Promise<TurnRelaySocket[]> {
  const relays: TurnRelaySocket[] = [];
  for (let i = 0; i < count; i += BATCH) relays.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, () => allocate(port, transport)))));
  return relays;
}

async function closeAll(relays: TurnRelaySocket[]): Promise<void> {
  // Half deallocate (Refresh LIFETIME 0, then the connection closes), half drop the connection at once.
  const polite = relays.filter((_, i) => i % 2 === 0);
  for (const r of relays.filter((_, i) => i % 2 === 1)) r.abort();
  for (let i = 0; i < polite.length; i += BATCH) {
    const batch = polite.slice(i, i + BATCH);
    for (const r of batch) r.close();
    await Promise.all(batch.map((r) => r.closed));
  }
}

async function until(stats: () => Promise<Stats>, check: (s: Stats) => boolean, what: string, ms = 20_000): Promise<Stats> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await stats();
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}; last ${JSON.stringify(s)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('TURN server file descriptors over TCP and TLS', { timeout: 180_000 }, () => {
  it(`holds ${2 * PER_TRANSPORT} stream allocations, and is back to its baseline of fds once they are closed`, async () => {
    const pem = selfSignedCertificate(dir, 'turn.test');
    const server = await startServer({
      tlsPort: 0,
      cert: readFileSync(pem.cert, 'utf8'),
      key: readFileSync(pem.key, 'utf8'),
      realm: 'r',
      users: { u: 'p' },
      maxAllocations: 4 * PER_TRANSPORT,
      maxAllocationsPerUser: 4 * PER_TRANSPORT,
      streamLimits: { maxConnections: 4 * PER_TRANSPORT, maxConnectionsPerIp: 4 * PER_TRANSPORT },
    });
    // Warm-up: first-use costs (TLS, the relay port search) are not part of the baseline.
    await closeAll([...(await allocateMany(5, server.tcp, 'tcp')), ...(await allocateMany(5, server.tls, 'tls'))]);
    const baseline = await until(server.stats, (s) => s.allocations === 0 && s.connections === 0, 'the warm-up allocations to go');

    const tcp = await allocateMany(PER_TRANSPORT, server.tcp, 'tcp');
    const tls = await allocateMany(PER_TRANSPORT, server.tls, 'tls');
    const held = await server.stats();
    assert.equal(held.allocations, 2 * PER_TRANSPORT);
    assert.equal(held.connections, 2 * PER_TRANSPORT);
    // One connection and one relay socket per allocation, at least.
    assert.ok(held.fds >= baseline.fds + 4 * PER_TRANSPORT, `fds ${held.fds}, baseline ${baseline.fds}`);

    await closeAll([...tcp, ...tls]);
    const done = await until(server.stats, (s) => s.allocations === 0 && s.connections === 0 && s.fds <= baseline.fds, `allocations, connections and fds back to the baseline ${JSON.stringify(baseline)}`);
    assert.equal(done.allocations, 0);
    assert.equal(done.connections, 0);
    assert.equal(done.fds, baseline.fds);
  });
});
