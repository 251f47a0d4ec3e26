// Benchmark (not a test): time from an agent receiving a peer's `<uuid>.local` candidate to its first
// connectivity check towards the resolved address, median of 20, in network namespaces on one bridge (root).
// The peer is `icebridge peer --mdns-host-candidates on`; each run is a fresh agent with its own mDNS sockets
// (opened on demand, as a Node agent does), so a run includes opening them and one mDNS round trip.
//   node --import tsx bench/mdns-first-check.ts
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IceAgent } from '../src/ice/ice-agent.js';
import type { DatagramSocket } from '../src/net/datagram-socket.js';
import { lazyNodeMdns } from '../src/node/mdns-sockets.js';
import { UdpSocket } from '../src/node/udp-socket.js';
import { buildLabCli } from '../test/nat-lab/lab-processes.js';
import { MdnsSegment, segmentUnavailable } from '../test/nat-lab/mdns-segment.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 20;

/** In the querier's namespace: RUNS fresh agents, each timing candidate → first check. Prints JSON. */
async function child(address: string, candidateLine: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let firstCheck: () => void = () => {};
    const checked = new Promise<number>((resolve) => (firstCheck = () => resolve(performance.now())));
    const sockets = async (): Promise<DatagramSocket[]> => {
      const s = await UdpSocket.bind({ address });
      const send = s.send.bind(s);
      s.send = (bytes, to) => {
        if (bytes[0] === 0 && bytes[1] === 1) firstCheck(); // a Binding request: the check
        send(bytes, to);
      };
      return [s];
    };
    const agent = new IceAgent({ sockets, role: 'controlling', mdns: lazyNodeMdns(() => [{ address, family: 'IPv4' }]) });
    agent.setRemoteParameters({ usernameFragment: 'benc', password: 'benchbenchbenchbenchbench' });
    await agent.gather();
    const t0 = performance.now();
    agent.addRemoteCandidate(candidateLine);
    const t1 = await Promise.race([checked, new Promise<number>((r) => setTimeout(() => r(NaN), 6_000))]);
    times.push(t1 - t0);
    agent.close();
  }
  process.stdout.write(`${JSON.stringify(times)}\n`);
}

async function main(): Promise<void> {
  const why = segmentUnavailable();
  if (why) {
    console.log(`mdns-first-check: not run — ${why}`);
    return;
  }
  await buildLabCli();
  const segment = new MdnsSegment(2, `mb${process.pid % 100_000}`);
  try {
    const [q, r] = segment.peers;
    const cli = fileURLToPath(new URL('../test-artifacts/nat-lab-build/cli.js', import.meta.url));
    const responder = segment.spawnIn(r.ns, [process.execPath, cli, 'peer', '--role', 'controlled', '--address', r.address, '--mdns-host-candidates', 'on', '--timeout-ms', '120000'], ROOT);
    const line = await new Promise<string>((resolve) => createInterface({ input: responder.stdout! }).on('line', (l) => l.includes(' typ host') && resolve(l)));
    const querier = segment.spawnIn(q.ns, [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), 'child', q.address, line], ROOT);
    let out = '';
    querier.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
    querier.stderr!.pipe(process.stderr);
    await new Promise((resolve) => querier.once('close', resolve));
    const times = (JSON.parse(out.trim()) as (number | null)[]).map((t) => (t === null ? NaN : t));
    const sorted = [...times].sort((a, b) => a - b);
    const median = (sorted[9] + sorted[10]) / 2;
    console.log(`mdns-first-check: .local candidate → first check, ${RUNS} runs: median ${median.toFixed(2)} ms, min ${sorted[0].toFixed(2)} ms, max ${sorted[RUNS - 1].toFixed(2)} ms`);
    console.log(`  runs (ms): ${times.map((t) => t.toFixed(1)).join(' ')}`);
  } finally {
    segment.destroy();
  }
}

// Run directly (as root: `node --import tsx bench/mdns-first-check.ts`), not when bench/run.ts imports every file here.
const direct = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (direct && process.argv[2] === 'child') await child(process.argv[3], process.argv[4]);
else if (direct) await main();
