// icebridge's RFC 5780 server over real UDP on loopback, 127.0.0.1 + 127.0.0.2 (the kernel answers all of
// 127/8 on lo): icebridge's client classifies "no NAT"; coturn's turnutils_natdiscovery agrees; the TURN
// server in RFC 5780 mode; `icebridge nat-type` as a user runs it. Nothing leaves the loopback interface.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { discoverNatBehavior } from '../../src/node/nat-discovery.js';
import { startStunServer, type RunningStunServer } from '../../src/node/stun-server.js';
import { startTurnServer } from '../../src/node/turn-server.js';
import { stunBinding } from '../../src/node/stun-binding.js';
import { allocateTurn } from '../../src/node/turn-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TIMEOUT = { timeout: 60_000 };

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('timeout', ['30', command, ...args], { encoding: 'utf8', timeout: 35_000, cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('RFC 5780 server on 127.0.0.1 + 127.0.0.2', TIMEOUT, () => {
  let server: RunningStunServer;
  before(async () => {
    server = await startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0 });
  });
  after(async () => {
    await server?.close();
  });

  it('listens on both addresses × both ports', () => {
    const [a, b, c, d] = server.addresses;
    assert.deepEqual([a.address, b.address, c.address, d.address], ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2']);
    assert.equal(a.port, b.port);
    assert.equal(c.port, d.port);
    assert.notEqual(a.port, c.port);
  });

  it('icebridge\'s client: no NAT, endpoint-independent both ways ("open internet"), ICE direct', async () => {
    const primary = server.addresses[0];
    const r = await discoverNatBehavior(primary, { timeoutMs: 1500, rtoMs: 100 });
    assert.equal(r.natted, false, JSON.stringify(r.details));
    assert.equal(r.mapping, 'endpoint-independent');
    assert.equal(r.filtering, 'endpoint-independent');
    assert.equal(r.classic, 'open internet');
    assert.equal(r.ice, 'direct');
    assert.deepEqual(r.otherAddress, server.addresses[3]);
    assert.equal(r.details.tests[1].from?.address, '127.0.0.2', 'the change-IP-and-port answer came from the other address');
    assert.equal(r.details.tests[1].from?.port, server.addresses[3].port);
    assert.ok(server.engine.rfc5780!.counters.changed >= 1);
  });

  it('bound to 127.0.0.1 specifically, the client says the same', async () => {
    const r = await discoverNatBehavior(`stun:127.0.0.1:${server.addresses[0].port}`, { timeoutMs: 1500, rtoMs: 100, localAddress: '127.0.0.1' });
    assert.equal(r.classic, 'open internet');
  });

  it('a plain Binding request gets OTHER-ADDRESS and RESPONSE-ORIGIN', async () => {
    const r = await stunBinding(server.addresses[2], { timeoutMs: 3000, rtoMs: 100 });
    assert.deepEqual(r.responseOrigin, server.addresses[2]);
    assert.deepEqual(r.otherAddress, server.addresses[1]);
  });

  it('coturn\'s turnutils_natdiscovery classifies through icebridge\'s server: endpoint-independent mapping and filtering', async () => {
    const port = String(server.addresses[0].port);
    const r = await run('turnutils_natdiscovery', ['-m', '-f', '-p', port, '127.0.0.1']);
    const out = r.stdout + r.stderr;
    assert.match(out, /NAT with Endpoint Independent Mapping!/, out);
    assert.match(out, /NAT with Endpoint Independent Filtering!/, out);
    assert.match(out, /Other addr: : 127\.0\.0\.2:/, out);
  });

  it('`icebridge nat-type --server … --json` prints the result; text mode names the type', async () => {
    const server5780 = `stun:127.0.0.1:${server.addresses[0].port}`;
    const json = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'nat-type', '--server', server5780, '--json', '--timeout-ms', '1500']);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as { classic: string; mapping: string; filtering: string; otherAddress: { address: string } };
    assert.equal(result.classic, 'open internet');
    assert.equal(result.otherAddress.address, '127.0.0.2');
    const text = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'nat-type', server5780, '--timeout-ms', '1500']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /NAT type: open internet \(no NAT\)/);
    assert.match(text.stdout, /filtering II \(change IP and port\)/);
  });
});

describe('RFC 5780 errors and the TURN server in RFC 5780 mode', TIMEOUT, () => {
  it('`icebridge nat-type` against a server without RFC 5780: exit 1, NO_RFC5780', async () => {
    const plain = await startStunServer({ hosts: ['127.0.0.1'], port: 0 });
    try {
      const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'nat-type', '--server', `127.0.0.1:${plain.addresses[0].port}`, '--json', '--timeout-ms', '1500']);
      assert.equal(r.code, 1);
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'NO_RFC5780');
      assert.match(r.stderr, /does not support RFC 5780/);
    } finally {
      await plain.close();
    }
  });

  it('refuses an alternate address without one specific primary, or equal to it', async () => {
    await assert.rejects(startStunServer({ hosts: ['0.0.0.0'], altAddress: '127.0.0.2', port: 0 }), RangeError);
    await assert.rejects(startStunServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.1', port: 0 }), RangeError);
    await assert.rejects(startTurnServer({ hosts: ['0.0.0.0'], altAddress: '127.0.0.2', port: 0 }), RangeError);
  });

  it('the TURN server listens on the 2 × 2 sockets, answers discovery and still relays', async () => {
    const turn = await startTurnServer({ hosts: ['127.0.0.1'], altAddress: '127.0.0.2', port: 0, users: { u: 'p' }, allowLoopback: true });
    try {
      assert.equal(turn.addresses.length, 4);
      const r = await discoverNatBehavior(turn.addresses[0], { timeoutMs: 1500, rtoMs: 100 });
      assert.equal(r.classic, 'open internet');
      assert.deepEqual(r.otherAddress, turn.addresses[3]);
      // An allocation through the alternate address and port: TURN is served on all four sockets.
      const relay = await allocateTurn(`turn:127.0.0.2:${turn.addresses[3].port}`, { username: 'u', credential: 'p' });
      try {
        assert.equal(turn.engine.allocationCount, 1);
        assert.equal(relay.localAddress.address, '127.0.0.1', 'relayed from the primary address');
      } finally {
        relay.close();
      }
    } finally {
      await turn.close();
    }
  });
});
