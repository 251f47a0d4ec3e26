// One side of the namespace failover benchmark (bench/ice-failover.ts), run inside a network namespace: a
// Node agent with continual gathering (interfaces polled every 100 ms) on the namespace's 10.77.0.0/24
// addresses, its signalling as JSON lines on stdout/stdin, a datagram to the peer every 20 ms, and a
// {"selected"} line with the wall-clock time at every selected-pair change. Ends when stdin ends.
//   node --import tsx bench/servers/failover-peer.ts controlling|controlled
import { createInterface } from 'node:readline';
import { createIceAgent } from '../../src/node/ice-agent.js';

const role = process.argv[2] === 'controlled' ? 'controlled' : 'controlling';
const agent = createIceAgent({
  role,
  gatherPolicy: 'continual',
  networkPollIntervalMs: 100,
  addressFilter: (a) => a.startsWith('10.77.'),
  mdns: false,
});
const say = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);
say({ params: agent.localParameters });
agent.addEventListener('icecandidate', (e) => e.candidate && say({ candidate: e.candidate }));
agent.addEventListener('statechange', () => say({ state: agent.state, at: Date.now() }));
agent.addEventListener('selectedcandidatepairchange', () => {
  const pair = agent.getSelectedCandidatePair();
  say({ selected: { local: pair?.local.address, remote: pair?.remote.address }, at: Date.now() });
});
const ping = setInterval(() => agent.getSelectedCandidatePair() && agent.send(new Uint8Array([1])), 20);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const m = JSON.parse(line) as { params?: Parameters<typeof agent.setRemoteParameters>[0]; candidate?: Parameters<typeof agent.addRemoteCandidate>[0] };
  if (m.params) void agent.setRemoteParameters(m.params);
  if (m.candidate) void agent.addRemoteCandidate(m.candidate).catch(() => {});
});
// Debugging aid: the pairs, once a second (the benchmark shows them when a switch does not happen).
const report = setInterval(() => {
  void agent.getStats().then((pairs) => say({ pairs: pairs.map((p) => `${p.local.address}>${p.remote.address}:${p.state}${p.nominated ? '*' : ''}`), state: agent.state, at: Date.now() }));
}, 1000);
lines.on('close', () => {
  clearInterval(report);
  clearInterval(ping);
  void agent.close().then(() => process.exit(0));
});
void agent.gather();
