// The process test/nat-lab/bridge-address-change.test.ts runs inside its namespace: a bridge whose UDP
// sockets are bound to the wildcard (so announced at the namespace's interface addresses, re-read every
// 100 ms), a page agent (IcebridgeService, what the Worker runs) with gatherPolicy 'continual' on it, and a
// Node IceAgent peer bound to PEER_ADDRESS. One JSON line per event on stdout: 'selected' with the page's
// local address each time its selected pair changes, 'received' for each datagram the peer gets (the page
// sends one after each selection), 'candidate' for each page candidate.
import { WebSocket } from 'ws';
import { startBridge } from '../../bridge/server.js';
import { mintRestCredential } from '../../src/net/rest-credentials.js';
import type { WebSocketConstructor } from '../../src/net/bridge-client.js';
import { createIceAgent } from '../../src/node/ice-agent.js';
import { IcebridgeService } from '../../src/worker/service.js';

const PEER_ADDRESS = process.argv[2];
if (!PEER_ADDRESS) throw new Error('usage: bridge-address-page.ts PEER_ADDRESS');
const say = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...fields })}\n`);

const bridge = await startBridge({
  host: '127.0.0.1',
  port: 0,
  secret: 'lab',
  // The peer is on this namespace's own address: the host's addresses are destinations here.
  allowHostAddresses: true,
  udpBindAddress: { IPv4: '0.0.0.0', IPv6: '::' },
  hostAddressIntervalMs: 100,
  logger: () => {},
});
const token = mintRestCredential({ secret: 'lab', user: 'lab', ttlSeconds: 600 });
const url = `${bridge.url}?username=${encodeURIComponent(token.username)}&credential=${encodeURIComponent(token.credential)}`;
const service = new IcebridgeService({ WebSocket: WebSocket as unknown as WebSocketConstructor });
const peer = createIceAgent({ mdns: false, addresses: [PEER_ADDRESS], role: 'controlled' });
let selected: string | undefined;
const page = await service.createAgent({ bridge: url, role: 'controlling', gatherPolicy: 'continual' }, (e) => {
  if (e.type === 'icecandidate' && e.candidate) {
    say({ event: 'candidate', candidate: e.candidate.candidate });
    void peer.addRemoteCandidate(e.candidate);
  }
  if (e.type === 'statechange') say({ event: 'state', state: e.state });
  const address = e.selectedPair?.local.address;
  if (e.type === 'selectedcandidatepairchange' && address !== undefined && address !== selected) {
    selected = address;
    say({ event: 'selected', address });
    service.agentSend(page.id, `from ${address}`);
  }
});
peer.addEventListener('icecandidate', (e) => service.agentAddRemoteCandidate(page.id, e.candidate ?? null));
peer.addEventListener('data', (e) => say({ event: 'received', text: new TextDecoder().decode(e.data) }));
await peer.setRemoteParameters(page.localParameters);
service.agentSetRemoteParameters(page.id, peer.localParameters);
await Promise.all([service.agentGather(page.id), peer.gather()]);
say({ event: 'gathered' });
process.stdin.resume();
process.stdin.on('end', async () => {
  service.close();
  await peer.close();
  await bridge.close();
  process.exit(0);
});
