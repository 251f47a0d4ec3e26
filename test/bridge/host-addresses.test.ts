// The bridge host's own addresses are no destination (its other services must stay out of a page's reach):
// proved on real sockets in a network namespace this test makes, whose one non-loopback address
// (198.51.100.1, RFC 5737 TEST-NET-2, on a veth pair inside the namespace) is the bridge host's. Listeners
// on that address count what arrives. Root only (namespaces): a non-root run skips it and says why, as the
// NAT lab does; CI runs as root. The policy rule itself is unit-tested in policy.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const NS = `ibh${process.pid % 100_000}`;
const HOST_ADDRESS = '198.51.100.1';
const isRoot = process.getuid?.() === 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function probe(mode: string): { udpVerdict: string; tcpVerdict: string; udpReceived: number; tcpConnections: number } {
  const out = execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', 'test/bridge/fixtures/host-address-probe.ts', HOST_ADDRESS, mode], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

describe('the bridge host\'s own addresses (network namespace)', { skip: isRoot ? false : 'needs root to make a network namespace: run as root (CI does)' }, () => {
  before(() => {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('-n', NS, 'addr', 'add', `${HOST_ADDRESS}/24`, 'dev', 'v0');
    ip('-n', NS, 'link', 'set', 'v0', 'up');
    ip('-n', NS, 'link', 'set', 'v1', 'up');
  });
  after(() => {
    try {
      ip('netns', 'delete', NS);
    } catch {
      // already gone
    }
  });

  it('refuses UDP and TCP to them by default, and nothing arrives', () => {
    const r = probe('default');
    assert.equal(r.udpVerdict, 'destination-denied');
    assert.equal(r.tcpVerdict, 'destination-denied');
    assert.equal(r.udpReceived, 0);
    assert.equal(r.tcpConnections, 0);
  });

  it('allowHostPorts opens exactly the port named (UDP here; TCP on another port stays refused)', () => {
    const r = probe('allow-host-port');
    assert.equal(r.udpVerdict, 'none');
    assert.ok(r.udpReceived >= 1, `received ${r.udpReceived}`);
    assert.equal(r.tcpVerdict, 'destination-denied');
    assert.equal(r.tcpConnections, 0);
  });

  it('allowHostAddresses lifts the rule: the same datagrams and connection arrive', () => {
    const r = probe('allow-host-addresses');
    assert.equal(r.udpVerdict, 'none');
    assert.equal(r.tcpVerdict, 'connected');
    assert.ok(r.udpReceived >= 1);
    assert.equal(r.tcpConnections, 1);
  });
});
