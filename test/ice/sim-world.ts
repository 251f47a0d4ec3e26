// A small world on the simulated network for IceAgent tests: a STUN/TURN server on the "public" side and two
// agents, each on a public host or behind a NAT of any RFC 4787 behaviour, exchanging candidates by trickle.
import { IceAgent, type IceAgentOptions } from '../../src/ice/ice-agent.js';
import { runTurnServer } from '../../src/server/turn-server-runner.js';
import { TurnServer } from '../../src/server/turn-server.js';
import { SeededRandom, SimNetwork, VirtualClock, type NatBehavior, type SimHost } from '../../src/sim/index.js';
import type { IceServerConfig } from '../../src/ice/gatherer.js';

export type Placement = 'public' | { mapping: NatBehavior; filtering: NatBehavior };

export interface WorldOptions {
  seed?: number;
  stun?: boolean;
  turn?: boolean;
  /** Kill the STUN server: candidates gathering must time out on it alone. */
  deadStun?: boolean;
  link?: { delayMs?: number; lossRate?: number };
}

export class SimWorld {
  readonly clock = new VirtualClock();
  readonly net: SimNetwork;
  readonly server: SimHost;
  readonly iceServers: IceServerConfig[] = [];
  readonly random: SeededRandom;
  private natCount = 0;

  constructor(readonly options: WorldOptions = {}) {
    this.net = new SimNetwork({ clock: this.clock, seed: options.seed ?? 1, link: options.link });
    this.random = new SeededRandom(options.seed ?? 1);
    this.server = this.net.addHost('192.0.2.1');
    if (options.stun !== false || options.turn) {
      const engine = new TurnServer({ realm: 'sim', users: { alice: 'secret' } });
      const listen = this.server.bind(3478);
      if (options.deadStun) listen.close();
      else runTurnServer({ engine, listen: [listen], openRelaySocket: async () => this.server.bind(), clock: this.clock });
    }
    if (options.stun !== false) this.iceServers.push({ urls: 'stun:192.0.2.1:3478' });
    if (options.turn) this.iceServers.push({ urls: 'turn:192.0.2.1:3478', username: 'alice', credential: 'secret' });
  }

  host(placement: Placement, index: number): SimHost {
    if (placement === 'public') return this.net.addHost(`198.51.100.${10 + index}`);
    this.natCount++;
    const nat = this.net.addNat({ publicAddress: `203.0.113.${10 * this.natCount}`, mapping: placement.mapping, filtering: placement.filtering });
    return nat.addHost();
  }

  agent(host: SimHost, options: Partial<IceAgentOptions> = {}): IceAgent {
    return new IceAgent({
      iceServers: this.iceServers,
      sockets: async () => [host.bind()],
      clock: this.clock,
      random: () => this.random.next(),
      ...options,
    });
  }

  /** Joins two agents' signalling: parameters now, candidates as they trickle (each with its own delay). */
  connect(a: IceAgent, b: IceAgent, signallingDelayMs = 0): void {
    const wire = (from: IceAgent, to: IceAgent) => {
      void to.setRemoteParameters(from.localParameters);
      from.addEventListener('icecandidate', (e) => {
        this.clock.setTimer(() => void to.addRemoteCandidate(e.candidate), this.clock.now() + signallingDelayMs);
      });
    };
    wire(a, b);
    wire(b, a);
  }

  /** Runs virtual time (with microtasks flushed between events) until `done` or the limit. `done` may be async (getStats()). */
  async run(done: () => boolean | Promise<boolean>, limitMs = 120_000): Promise<boolean> {
    const end = this.clock.now() + limitMs;
    for (let i = 0; i < 200_000; i++) {
      await flush();
      if (await done()) return true;
      const next = this.clock.nextDeadline;
      if (next === undefined) {
        await flush();
        if (this.clock.nextDeadline === undefined) return done();
        continue;
      }
      if (next > end) return done();
      this.clock.step();
    }
    return done();
  }
}

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
