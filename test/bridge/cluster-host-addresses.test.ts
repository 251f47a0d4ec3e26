// RunningBridgeCluster.setHostAddresses (what `startIcebridgeServer({ workers })` hands out as bridgeWorkers):
// every worker's sessions hear of the new host addresses of their wildcard-bound sockets, and a worker that
// replaces a dead one starts with the list set last, not the one the cluster started with.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBridgeCluster, type RunningBridgeCluster } from '../../bridge/cluster.js';
import type { BridgeConnection, BridgeSocket } from '../../src/net/bridge-client.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import { connectBridge } from '../../src/node/bridge-client.js';
import { fetchBridgeMetrics, within } from './helpers.js';

const SECRET = 'cluster-host-secret';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tokenUrl(url: string): string {
  const { username, credential } = mintRestCredential({ secret: SECRET, user: 'c', ttlSeconds: 600 });
  return `${url}?username=${encodeURIComponent(username)}&credential=${encodeURIComponent(credential)}`;
}

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!done()) await sleep(10);
    })(),
    ms,
    what,
  );
}

describe('setHostAddresses on a bridge cluster', () => {
  let cluster: RunningBridgeCluster;
  const connections: BridgeConnection[] = [];

  before(async () => {
    cluster = await startBridgeCluster({
      workers: 2,
      exec: new URL('./fixtures/cluster-worker.ts', import.meta.url).pathname,
      args: [],
      execArgv: ['--import', 'tsx'],
      logger: () => {},
      bridge: {
        port: 0,
        host: '127.0.0.1',
        secret: SECRET,
        allowLoopback: true,
        udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' },
        hostAddresses: ['127.0.0.2'],
      },
    });
  });
  after(async () => {
    for (const c of connections) c.close();
    await cluster?.close();
  });

  it("reaches every worker's sessions, and a replacement worker starts with the list set last", { timeout: 60_000 }, async () => {
    const sockets: BridgeSocket[] = [];
    const seen = new Map<BridgeSocket, (readonly string[])[]>();
    for (let i = 0; i < 6; i++) {
      const c = await connectBridge(tokenUrl(cluster.url));
      connections.push(c);
      const s = await c.bind({ family: 'IPv4' });
      assert.deepEqual(s.hostAddresses, ['127.0.0.2']);
      seen.set(s, []);
      s.onhostaddresseschange = (list) => seen.get(s)!.push(list);
      sockets.push(s);
    }
    const metricsUrl = `http://${new URL(cluster.url).host}/metrics`;
    const workers = (await fetchBridgeMetrics(metricsUrl)).workers();
    assert.equal(workers.size, 2);
    for (const [slot, [, open]] of workers) assert.ok(open > 0, `worker ${slot} has sessions`);

    assert.throws(() => cluster.setHostAddresses(['not an address']), TypeError);
    cluster.setHostAddresses(['127.0.0.4', '::1']);
    await until(() => sockets.every((s) => seen.get(s)!.length === 1), 5000, 'every session in both workers to hear of the change');
    for (const s of sockets) assert.deepEqual(s.hostAddresses, ['127.0.0.4']);

    // A worker killed now is replaced by one that announces 127.0.0.4, not the starting 127.0.0.2.
    const [victim] = cluster.workers;
    const replaced = cluster.nextRestart();
    process.kill(victim!.pid, 'SIGKILL');
    const replacement = await within(replaced, 30_000, 'a replacement worker');
    assert.equal(replacement.slot, victim!.slot);
    // Round-robin accept: a few new sessions land on the replacement too.
    const onReplacement: BridgeSocket[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await connectBridge(tokenUrl(cluster.url));
      connections.push(c);
      onReplacement.push(await c.bind({ family: 'IPv4' }));
    }
    const spread = (await fetchBridgeMetrics(metricsUrl)).workers();
    assert.ok((spread.get(String(replacement.slot))?.[1] ?? 0) > 0, 'the replacement took sessions');
    for (const s of onReplacement) assert.deepEqual(s.hostAddresses, ['127.0.0.4']);

    // undefined: the host's interfaces again (0.0.0.0 is announced at this host's IPv4 addresses).
    cluster.setHostAddresses(undefined);
    await until(() => onReplacement.every((s) => !s.hostAddresses.includes('127.0.0.4')), 5000, 'the interfaces announced again');
  });
});
