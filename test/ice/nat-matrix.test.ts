// The full NAT matrix on the simulated network (RFC 4787 mapping × filtering, and no NAT), two IceAgents
// with a STUN and TURN server on the public side. For every pair of placements: run without TURN to learn
// whether a direct path exists, then with TURN — a relay must be chosen exactly when no direct path works.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NAT_BEHAVIORS } from '../../src/sim/index.js';
import type { IceAgent } from '../../src/ice/ice-agent.js';
import { SimWorld, type Placement } from './sim-world.js';

const placements: { name: string; placement: Placement }[] = [{ name: 'none', placement: 'public' }];
for (const mapping of NAT_BEHAVIORS) {
  for (const filtering of NAT_BEHAVIORS) {
    placements.push({ name: `${abbr(mapping)}M/${abbr(filtering)}F`, placement: { mapping, filtering } });
  }
}
function abbr(b: string): string {
  return b === 'endpoint-independent' ? 'EI' : b === 'address-dependent' ? 'AD' : 'APD';
}

const connected = (x: IceAgent) => x.state === 'connected' || x.state === 'completed';
const settled = (x: IceAgent) => connected(x) || x.state === 'failed';

async function attempt(pa: Placement, pb: Placement, turn: boolean) {
  const world = new SimWorld({ turn, seed: 11 });
  const a = world.agent(world.host(pa, 0), { role: 'controlling' });
  const b = world.agent(world.host(pb, 1), { role: 'controlled' });
  world.connect(a, b);
  void a.gather();
  void b.gather();
  await world.run(() => (connected(a) && connected(b)) || (settled(a) && settled(b)), 180_000);
  const ok = connected(a) && connected(b);
  const types = ok ? [a.getSelectedCandidatePair()!.local.type, a.getSelectedCandidatePair()!.remote.type] : [];
  let echoed = false;
  if (ok) {
    const got: string[] = [];
    b.addEventListener('data', (e) => got.push(new TextDecoder().decode((e as unknown as { data: Uint8Array }).data)));
    a.send('ping');
    await world.run(() => got.length > 0, 5_000);
    echoed = got[0] === 'ping';
  }
  a.close();
  b.close();
  return { ok, types, echoed };
}

describe('NAT matrix (simulated, virtual time)', () => {
  const table: string[] = [];
  for (const A of placements) {
    it(`A behind ${A.name}`, async () => {
      for (const B of placements) {
        const direct = await attempt(A.placement, B.placement, false);
        const withTurn = await attempt(A.placement, B.placement, true);
        const label = `${A.name} × ${B.name}`;
        assert.ok(withTurn.ok, `${label}: with a TURN server every combination connects`);
        assert.ok(withTurn.echoed, `${label}: data crosses the selected pair`);
        const relayed = withTurn.types.includes('relay');
        assert.equal(relayed, !direct.ok, `${label}: direct ${direct.ok ? 'works' : 'fails'}, selected ${withTurn.types.join('/')}`);
        table.push(`${label}: ${withTurn.types.join('-')}`);
      }
    });
  }

  it('the textbook cases: cone pairs direct; symmetric × port-restricted and symmetric × symmetric relayed', async () => {
    const EIM_APDF: Placement = { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' };
    const EIM_EIF: Placement = { mapping: 'endpoint-independent', filtering: 'endpoint-independent' };
    const EIM_ADF: Placement = { mapping: 'endpoint-independent', filtering: 'address-dependent' };
    const SYM: Placement = { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' };
    for (const [pa, pb] of [[EIM_EIF, EIM_EIF], [EIM_ADF, EIM_APDF], [EIM_APDF, EIM_APDF], ['public', EIM_APDF]] as const) {
      const r = await attempt(pa, pb, true);
      assert.ok(r.ok && !r.types.includes('relay'), `cone pair ${JSON.stringify([pa, pb])} goes direct (${r.types})`);
    }
    for (const [pa, pb] of [[SYM, EIM_APDF], [EIM_APDF, SYM], [SYM, SYM]] as const) {
      const r = await attempt(pa, pb, true);
      assert.ok(r.ok && r.types.includes('relay'), `${JSON.stringify([pa, pb])} needs the relay (${r.types})`);
    }
  });
});
