// Two icebridge ICE agents (controlling and controlled) in this one process, for bench/ice-connect.ts: the
// driver sends {"cmd": name, ...} lines on stdin, this answers {"type": name, ...} (or {"type":"error"}) on
// stdout, one command at a time; it exits when stdin closes or on SIGTERM/SIGINT.
//
//   connect {count, iceServers?, iceTransportPolicy?, taMs?, timeoutMs}: `count` connections one after the
//     other. Each: both agents gather fully (awaited), then at t0 each gets the other's parameters and every
//     candidate plus end-of-candidates, and t1 is when both agents' state is 'connected' or 'completed'.
//   heap {pairs, concurrency, timeoutMs}: V8 heap + external per agent of `pairs` idle connected pairs.
//
// Agents gather on 127.0.0.1 only (addresses: ['127.0.0.1']); TURN servers are whatever the driver passes
// (loopback ones).
import { createInterface } from 'node:readline';
import { IceAgent, type IceAgentOptions } from '../../src/ice/ice-agent.js';
import type { IceServerConfig, IceTransportPolicy } from '../../src/ice/gatherer.js';
import { UdpSocket } from '../../src/node/udp-socket.js';
import { gc } from '../lib/gc.js';

const HOST = '127.0.0.1';

interface AgentConfig {
  role: 'controlling' | 'controlled';
  iceServers?: IceServerConfig[];
  iceTransportPolicy?: IceTransportPolicy;
  taMs?: number;
}

type CreateIceAgent = (options: Omit<IceAgentOptions, 'sockets'> & { addresses: string[] }) => IceAgent;

// createIceAgent (src/node/ice-agent.ts) when the checkout has it; otherwise the same agent built by hand:
// one UdpSocket on 127.0.0.1. The specifier is a variable so the type check does not require the file.
const nodeAgentModule = '../../src/node/ice-agent.js';
const imported = (await import(nodeAgentModule).catch(() => undefined)) as { createIceAgent?: CreateIceAgent } | undefined;
const factory: 'createIceAgent' | 'IceAgent + UdpSocket' = typeof imported?.createIceAgent === 'function' ? 'createIceAgent' : 'IceAgent + UdpSocket';

function makeAgent(config: AgentConfig): IceAgent {
  const common = {
    role: config.role,
    iceServers: config.iceServers,
    iceTransportPolicy: config.iceTransportPolicy,
    ...(config.taMs === undefined ? {} : { taMs: config.taMs }),
  };
  if (imported?.createIceAgent) return imported.createIceAgent({ ...common, addresses: [HOST] });
  return new IceAgent({ ...common, sockets: async () => [await UdpSocket.bind({ address: HOST })] });
}

const isUp = (a: IceAgent) => a.state === 'connected' || a.state === 'completed';

/** Resolves with performance.now() when the agent is connected; rejects when it fails or closes. */
function whenUp(agent: IceAgent): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (isUp(agent)) {
        agent.removeEventListener('statechange', check);
        resolve(performance.now());
      } else if (agent.state === 'failed' || agent.state === 'closed') {
        agent.removeEventListener('statechange', check);
        reject(new Error(`${agent.role} agent ${agent.state}`));
      }
    };
    agent.addEventListener('statechange', check);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Hands each agent the other's parameters and candidates (the "signalling"); the agent does it at once. */
async function exchange(a: IceAgent, b: IceAgent): Promise<void> {
  for (const [to, from] of [
    [a, b],
    [b, a],
  ] as const) {
    await to.setRemoteParameters(from.localParameters);
    for (const c of from.localCandidates) await to.addRemoteCandidate(from.toInit(c));
    await to.addRemoteCandidate(null);
  }
}

async function checksSent(agent: IceAgent): Promise<number> {
  return (await agent.getStats()).reduce((n, p) => n + p.requestsSent - p.consentRequestsSent, 0);
}

interface ConnectSample {
  /** t0 -> both agents up, ms. */
  totalMs: number;
  controllingMs: number;
  controlledMs: number;
  /** Gathering of both agents (before t0), ms. */
  gatherMs: number;
  /** CPU time (user + system, all threads) of this process from t0 to t1, ms. */
  cpuMs: number;
  /** Connectivity checks (not consent) each side had sent by t1. */
  checksControlling: number;
  checksControlled: number;
  /** RTT of the selected pair's checks as the controlling agent measured them, ms. */
  rttMs: number | null;
  selected: string;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function connectOnce(config: Omit<AgentConfig, 'role'>, timeoutMs: number): Promise<ConnectSample> {
  const a = makeAgent({ ...config, role: 'controlling' });
  const b = makeAgent({ ...config, role: 'controlled' });
  try {
    const g0 = performance.now();
    await withTimeout(Promise.all([a.gather(), b.gather()]), timeoutMs, 'gathering');
    const gatherMs = performance.now() - g0;
    if (a.localCandidates.length === 0 || b.localCandidates.length === 0) throw new Error('an agent gathered no candidates');
    for (const c of [...a.localCandidates, ...b.localCandidates]) {
      if (c.address !== HOST) throw new Error(`a ${c.type} candidate on ${c.address}, expected only ${HOST}`);
    }
    const upA = whenUp(a);
    const upB = whenUp(b);
    const cpu0 = cpuNow();
    const t0 = performance.now();
    await exchange(a, b);
    const [ta, tb] = await withTimeout(Promise.all([upA, upB]), timeoutMs, 'connecting');
    const cpuMs = cpuNow() - cpu0;
    const selected = a.getSelectedCandidatePair();
    const rtt = (await a.getStats()).find((p) => p.selected)?.currentRoundTripTime;
    return {
      totalMs: Math.max(ta, tb) - t0,
      controllingMs: ta - t0,
      controlledMs: tb - t0,
      gatherMs,
      cpuMs,
      checksControlling: await checksSent(a),
      checksControlled: await checksSent(b),
      rttMs: rtt === undefined ? null : rtt * 1000,
      selected: selected ? `${selected.local.type}->${selected.remote.type}` : '?',
    };
  } finally {
    a.close();
    b.close();
  }
}

async function connect(args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const count = Number(args.count ?? 1);
  const timeoutMs = Number(args.timeoutMs ?? 10_000);
  const config: Omit<AgentConfig, 'role'> = {
    iceServers: args.iceServers as IceServerConfig[] | undefined,
    iceTransportPolicy: args.iceTransportPolicy as IceTransportPolicy | undefined,
    taMs: args.taMs === undefined ? undefined : Number(args.taMs),
  };
  const samples: ConnectSample[] = [];
  const failures: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      samples.push(await connectOnce(config, timeoutMs));
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
    // Let the closed sockets (and a relay's deallocation) go before the next connection.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { samples, failures };
}

function heapNow(): { heapUsed: number; external: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, rss: m.rss };
}

async function settle(ms = 200): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await new Promise((resolve) => setImmediate(resolve));
}

/** Connects `pairs` pairs (`concurrency` at a time) and keeps them; returns them all. */
async function holdPairs(pairs: number, concurrency: number, timeoutMs: number): Promise<IceAgent[]> {
  const agents: IceAgent[] = [];
  let next = 0;
  const worker = async () => {
    while (next < pairs) {
      next++;
      const a = makeAgent({ role: 'controlling' });
      const b = makeAgent({ role: 'controlled' });
      agents.push(a, b);
      await withTimeout(Promise.all([a.gather(), b.gather()]), timeoutMs, 'gathering');
      const up = Promise.all([whenUp(a), whenUp(b)]);
      exchange(a, b);
      await withTimeout(up, timeoutMs, 'connecting');
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, pairs) }, worker));
  } catch (err) {
    for (const a of agents) a.close();
    throw err;
  }
  return agents;
}

async function heap(args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const pairs = Number(args.pairs ?? 100);
  const concurrency = Number(args.concurrency ?? 10);
  const timeoutMs = Number(args.timeoutMs ?? 10_000);
  // Warm-up: compiled code, lazily made tables and the first sockets must not be counted per agent.
  for (const a of await holdPairs(Math.min(10, pairs), concurrency, timeoutMs)) a.close();
  await settle();
  const before = heapNow();
  const t0 = performance.now();
  let agents: IceAgent[] | undefined = await holdPairs(pairs, concurrency, timeoutMs);
  const connectMs = performance.now() - t0;
  await settle();
  const up = agents.filter(isUp).length;
  const held = heapNow();
  for (const a of agents) a.close();
  agents = undefined;
  await settle(500);
  const after = heapNow();
  return { pairs, agents: 2 * pairs, up, connectMs, before, held, after };
}

const commands: Record<string, (args: Record<string, unknown>) => Promise<Record<string, unknown>>> = { connect, heap };

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let name = '?';
    let reply: Record<string, unknown>;
    try {
      const message = JSON.parse(line) as Record<string, unknown>;
      name = String(message.cmd);
      const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
      if (!command) throw new Error(`unknown command ${name}`);
      reply = { ...(await command(message)), type: name };
    } catch (err) {
      reply = { type: 'error', cmd: name, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
});
lines.on('close', shutdown);
process.stdout.write(`${JSON.stringify({ type: 'ready', pid: process.pid, node: process.version, factory })}\n`);
