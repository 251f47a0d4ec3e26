// predictDirect() — what discovery results mean for a pair of ICE agents — against the real thing on the
// simulated network: two IceAgents (no TURN) for every pair of placements (no NAT, or a NAT of each RFC 4787
// mapping × filtering); the prediction must match whether they connect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NAT_BEHAVIORS } from '../../src/sim/index.js';
import { predictDirect, type NatProfile } from '../../src/nat/index.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { SimWorld, type Placement } from '../ice/sim-world.js';

const placements: { name: string; placement: Placement; profile: NatProfile }[] = [
  { name: 'none', placement: 'public', profile: { natted: false, mapping: 'endpoint-independent', filtering: 'endpoint-independent' } },
];
for (const mapping of NAT_BEHAVIORS) {
  for (const filtering of NAT_BEHAVIORS) {
    placements.push({ name: `${abbr(mapping)}M/${abbr(filtering)}F`, placement: { mapping, filtering }, profile: { natted: true, mapping, filtering } });
  }
}
function abbr(b: string): string {
  return b === 'endpoint-independent' ? 'EI' : b === 'address-dependent' ? 'AD' : 'APD';
}

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';
const settled = (x: IceAgent) => connected(x) || x.state === 'failed';

async function direct(pa: Placement, pb: Placement): Promise<boolean> {
  const world = new SimWorld({ turn: false, seed: 5 });
  const a = world.agent(world.host(pa, 0), { role: 'controlling' });
  const b = world.agent(world.host(pb, 1), { role: 'controlled' });
  world.connect(a, b);
  void a.gather();
  void b.gather();
  await world.run(() => (connected(a) && connected(b)) || (settled(a) && settled(b)), 180_000);
  const ok = connected(a) && connected(b);
  a.close();
  b.close();
  return ok;
}

describe('predictDirect against ICE on the simulated network', () => {
  it('matches every pair of placements (10 × 10)', async () => {
    const wrong: string[] = [];
    for (const A of placements) {
      for (const B of placements) {
        const actual = await direct(A.placement, B.placement);
        const predicted = predictDirect(A.profile, B.profile);
        if (actual !== predicted) wrong.push(`${A.name} × ${B.name}: predicted ${predicted ? 'direct' : 'relay'}, ICE ${actual ? 'connected' : 'failed'}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
