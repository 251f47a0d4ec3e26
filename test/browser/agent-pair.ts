// Two page agents wired to each other as a signalling channel would (the browser tests' shared helpers).
import type { WorkerIceAgent, WorkerIceAgentEvent } from '../../src/worker.js';
import { nextEvent } from './env.js';

/** Trickles each agent's candidates and parameters to the other, as a signalling channel would. */
export async function signal(a: WorkerIceAgent, b: WorkerIceAgent): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    from.addEventListener('icecandidate', (e) => void to.addRemoteCandidate((e as WorkerIceAgentEvent).candidate ?? null));
    await to.setRemoteParameters(from.localParameters);
  }
}

/** Resolves once the agent is connected (or completed). */
export function connected(agent: WorkerIceAgent): Promise<unknown> {
  const ok = (s: string) => s === 'connected' || s === 'completed';
  if (ok(agent.state)) return Promise.resolve();
  return nextEvent(agent, 'statechange', () => ok(agent.state));
}
