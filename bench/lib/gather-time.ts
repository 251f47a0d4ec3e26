// Time from `new IceAgent(...)` to its first server-reflexive candidate (and to gathering complete), for a
// Node agent in this process: the same steps, event for event, as `measureGather` in page-agent.ts's page.
import { IceAgent, type IceAgentEvent, type NodeIceAgentOptions } from '../../src/node.js';

export interface GatherTiming {
  /** ms from just before `new IceAgent` to the first icecandidate of type srflx; null if none came. */
  srflxMs: number | null;
  /** ms to the first candidate of any type (the host candidate). */
  firstCandidateMs: number | null;
  /** ms to gatheringstatechange → complete. */
  completeMs: number | null;
  candidates: string[];
  /** icecandidateerror events, "<code> <text>". */
  errors: string[];
}

export async function measureNodeGather(args: { stunUrl: string; timeoutMs: number; options: Omit<NodeIceAgentOptions, 'iceServers'> }): Promise<GatherTiming> {
  const t0 = performance.now();
  const agent = new IceAgent({ ...args.options, iceServers: [{ urls: args.stunUrl }] });
  const r: GatherTiming = { srflxMs: null, firstCandidateMs: null, completeMs: null, candidates: [], errors: [] };
  const complete = new Promise<void>((resolve) => {
    agent.addEventListener('icecandidate', (event) => {
      const e = event as IceAgentEvent;
      if (!e.candidate) return;
      const now = performance.now() - t0;
      r.firstCandidateMs ??= now;
      if (r.srflxMs === null && / typ srflx/.test(e.candidate.candidate)) r.srflxMs = now;
      r.candidates.push(e.candidate.candidate);
    });
    agent.addEventListener('icecandidateerror', (event) => {
      const e = (event as IceAgentEvent).error;
      if (e) r.errors.push(`${e.errorCode} ${e.errorText}`);
    });
    agent.addEventListener('gatheringstatechange', () => {
      if (agent.gatheringState === 'complete') {
        r.completeMs = performance.now() - t0;
        resolve();
      }
    });
  });
  const gathering = agent.gather().catch((e: unknown) => void r.errors.push(`gather: ${e instanceof Error ? e.message : String(e)}`));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([complete, gathering, new Promise((resolve) => (timer = setTimeout(resolve, args.timeoutMs)))]);
  clearTimeout(timer);
  agent.close();
  return r;
}
