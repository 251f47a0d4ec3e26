// STUN interop with coturn, both ways: icebridge's client against coturn's server (UDP and TCP), and
// coturn's client (turnutils_stunclient) against icebridge's server. IPv4 loopback, and IPv6 ::1 where the
// machine has it. Nothing leaves the loopback interface.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { stunBinding } from '../../src/node/stun-binding.js';
import { stunBinding as stunBindingOver } from '../../src/stun/binding.js';
import { StreamSocket } from '../../src/node/stream-socket.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { startCoturn, type RunningCoturn } from './support/coturn.js';

/** Runs a command under `timeout 20`; resolves with its exit code and output (never rejects on exit code). */
function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('timeout', ['20', command, ...args], { encoding: 'utf8', timeout: 25_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether `lo` carries ::1 and a UDP socket can bind it; the reason when not. */
async function ipv6Loopback(): Promise<{ ok: true } | { ok: false; why: string }> {
  let listing = '';
  try {
    listing = execFileSync('ip', ['-6', 'addr', 'show', 'lo'], { encoding: 'utf8', timeout: 5000 });
  } catch (err) {
    return { ok: false, why: `\`ip -6 addr show lo\` failed: ${(err as Error).message}` };
  }
  if (!/inet6 ::1\/128/.test(listing)) return { ok: false, why: `lo has no ::1:\n${listing}` };
  const bindError = await new Promise<Error | undefined>((resolve) => {
    const s = createSocket({ type: 'udp6', ipv6Only: true });
    s.once('error', (err) => resolve(err));
    s.bind({ address: '::1', port: 0 }, () => s.close(() => resolve(undefined)));
  });
  return bindError ? { ok: false, why: `binding [::1]:0 fails: ${bindError.message}` } : { ok: true };
}

const TIMEOUT = { timeout: 20_000 };

describe('icebridge client → coturn server (127.0.0.1)', TIMEOUT, () => {
  let coturn: RunningCoturn;
  before(async () => {
    coturn = await startCoturn();
  });
  after(async () => {
    await coturn?.stop();
  });

  it('UDP: the mapped address is 127.0.0.1 and the local socket port', async () => {
    const r = await stunBinding(`127.0.0.1:${coturn.port}`, { timeoutMs: 5000, rtoMs: 100 });
    assert.equal(r.mapped.address, '127.0.0.1');
    assert.equal(r.mapped.port, r.local.port, 'no NAT on loopback: the server sees our own port');
    assert.ok(r.local.port > 0);
    assert.deepEqual(r.server, { address: '127.0.0.1', port: coturn.port });
    assert.ok(r.rttMs >= 0 && r.rttMs < 5000, `rtt ${r.rttMs}`);
    assert.match(r.software ?? '', /Coturn/i, 'coturn names itself in SOFTWARE');
  });

  it('UDP: a stun: URI works the same', async () => {
    const r = await stunBinding(`stun:127.0.0.1:${coturn.port}`, { timeoutMs: 5000, rtoMs: 100 });
    assert.equal(r.mapped.address, '127.0.0.1');
    assert.equal(r.mapped.port, r.local.port);
  });

  it('TCP (same port): over a StreamSocket with reliable: true, the mapped address is the connection\'s local end', async () => {
    const socket = await StreamSocket.connect({ host: '127.0.0.1', port: coturn.port, connectTimeoutMs: 5000 });
    try {
      const r = await stunBindingOver({ address: '127.0.0.1', port: coturn.port }, { socket, reliable: true, timeoutMs: 5000 });
      assert.deepEqual(r.mapped, { address: '127.0.0.1', port: socket.localAddress.port });
      assert.deepEqual(r.local, socket.localAddress);
    } finally {
      socket.close();
    }
  });

  it('two Bindings one after the other on one TCP connection both succeed', async () => {
    // Sequential on purpose: stunBinding takes over socket.ondatagram, so two at once on one socket
    // would steal each other's responses (reported, see the commit message).
    const socket = await StreamSocket.connect({ host: '127.0.0.1', port: coturn.port, connectTimeoutMs: 5000 });
    try {
      const server = { address: '127.0.0.1', port: coturn.port };
      const a = await stunBindingOver(server, { socket, reliable: true, timeoutMs: 5000 });
      const b = await stunBindingOver(server, { socket, reliable: true, timeoutMs: 5000 });
      assert.equal(a.mapped.port, socket.localAddress.port);
      assert.equal(b.mapped.port, socket.localAddress.port);
    } finally {
      socket.close();
    }
  });
});

describe('coturn client (turnutils_stunclient) → icebridge server (127.0.0.1)', TIMEOUT, () => {
  let server: RunningStunServer;
  before(async () => {
    server = await startStunServer({ port: 0, hosts: ['127.0.0.1'] });
  });
  after(async () => {
    await server?.close();
  });

  it('exits 0 and prints the reflexive address 127.0.0.1:<port>', async () => {
    const port = server.addresses[0].port;
    const r = await run('turnutils_stunclient', ['-p', String(port), '127.0.0.1']);
    const output = r.stdout + r.stderr;
    assert.equal(r.code, 0, `turnutils_stunclient exited ${r.code}:\n${output}`);
    const m = /UDP reflexive addr: 127\.0\.0\.1:(\d+)/.exec(output);
    assert.ok(m, `no reflexive address in:\n${output}`);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < 65536);
    assert.ok(server.engine.counters.answered >= 1, 'the icebridge engine counted the answer');
    assert.equal(server.engine.counters.badRequests, 0);
    assert.equal(server.engine.counters.unknownAttributes, 0, 'coturn sends nothing icebridge does not know');
  });
});

describe('IPv6 loopback (::1)', TIMEOUT, async () => {
  const v6 = await ipv6Loopback();
  if (!v6.ok) {
    // Stated, not skipped: the report shows that this machine cannot run the ::1 half and why.
    it('is unavailable on this machine, so the ::1 interop cannot run', () => {
      assert.equal(v6.ok, false, v6.why);
      console.log(`# IPv6 loopback unavailable: ${v6.why}`);
    });
    return;
  }

  it('icebridge client → coturn on [::1]: UDP maps to ::1 and the local port', async () => {
    const coturn = await startCoturn({ host: '::1' });
    try {
      const r = await stunBinding(`[::1]:${coturn.port}`, { timeoutMs: 5000, rtoMs: 100 });
      assert.equal(r.mapped.address, '::1');
      assert.equal(r.mapped.port, r.local.port);
      const socket = await StreamSocket.connect({ host: '::1', port: coturn.port, connectTimeoutMs: 5000 });
      try {
        const t = await stunBindingOver({ address: '::1', port: coturn.port }, { socket, reliable: true, timeoutMs: 5000 });
        assert.deepEqual(t.mapped, { address: '::1', port: socket.localAddress.port });
      } finally {
        socket.close();
      }
    } finally {
      await coturn.stop();
    }
  });

  it('turnutils_stunclient → icebridge on [::1]: exit 0, reflexive ::1:<port>', async () => {
    const server = await startStunServer({ port: 0, hosts: ['::1'] });
    try {
      const r = await run('turnutils_stunclient', ['-p', String(server.addresses[0].port), '::1']);
      const output = r.stdout + r.stderr;
      assert.equal(r.code, 0, `turnutils_stunclient exited ${r.code}:\n${output}`);
      assert.match(output, /UDP reflexive addr: ::1:\d+/, output);
    } finally {
      await server.close();
    }
  });
});
