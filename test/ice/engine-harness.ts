// Two IceAgentEngines on the simulated network, driven on virtual time, with candidates exchanged by hand.
import { EngineDriver } from '../../src/net/driver.js';
import type { DatagramSocket } from '../../src/net/datagram-socket.js';
import type { SocketId } from '../../src/net/engine.js';
import { IceAgentEngine, type IceAgentEngineOptions, type IceAgentEvent, type IceTransportState } from '../../src/ice/agent.js';
import { computeFoundation, computePriority, type IceCandidate, type IceCandidateType } from '../../src/ice/candidate.js';
import type { LocalCandidate } from '../../src/ice/candidate-pair.js';
import type { VirtualClock } from '../../src/sim/index.js';
import type { TransportAddress } from '../../src/net/transport-address.js';

export class TestAgent {
  readonly engine: IceAgentEngine;
  readonly driver: EngineDriver<IceAgentEvent>;
  readonly states: IceTransportState[] = [];
  readonly received: string[] = [];
  readonly events: IceAgentEvent[] = [];
  private nextSocket = 0;

  constructor(
    readonly name: string,
    readonly clock: VirtualClock,
    options: IceAgentEngineOptions,
  ) {
    this.engine = new IceAgentEngine(options);
    this.driver = new EngineDriver(this.engine, {
      clock,
      onEvent: (e) => {
        this.events.push(e);
        if (e.type === 'statechange') this.states.push(e.state);
        if (e.type === 'data') this.received.push(new TextDecoder().decode(e.data));
      },
    });
  }

  /** Attaches a socket and returns its id. */
  attach(socket: DatagramSocket): SocketId {
    const id = this.nextSocket++;
    this.driver.attach(id, socket);
    return id;
  }

  /** A host (or relay) candidate on `socket`. */
  addCandidate(socket: SocketId, address: TransportAddress, type: IceCandidateType = 'host', localPreference = 65535, related?: TransportAddress, server?: string): IceCandidate {
    const candidate: IceCandidate = {
      foundation: computeFoundation(type, related?.address ?? address.address, 'udp', server),
      component: 1,
      protocol: 'udp',
      priority: computePriority(type, localPreference, 1),
      address: address.address,
      port: address.port,
      type,
      relatedAddress: related?.address,
      relatedPort: related?.port,
      extensions: [],
    };
    const local: LocalCandidate = { candidate, socket, base: type === 'srflx' && related ? related : address };
    this.engine.addLocalCandidate(local, this.clock.now());
    this.driver.poll();
    return candidate;
  }

  get candidates(): IceCandidate[] {
    return this.engine.localCandidates.filter((l) => l.candidate.type !== 'prflx').map((l) => l.candidate);
  }

  send(text: string): boolean {
    const ok = this.engine.send(new TextEncoder().encode(text), this.clock.now());
    this.driver.poll();
    return ok;
  }
}

/** Gives each agent the other's parameters and candidates, then end-of-candidates. */
export function exchange(a: TestAgent, b: TestAgent, { endOfCandidates = true } = {}): void {
  const now = a.clock.now();
  const pa = a.engine.localParameters;
  const pb = b.engine.localParameters;
  a.engine.setRemoteParameters({ usernameFragment: pb.usernameFragment, password: pb.password, iceLite: pb.iceLite }, now);
  b.engine.setRemoteParameters({ usernameFragment: pa.usernameFragment, password: pa.password, iceLite: pa.iceLite }, now);
  for (const c of b.candidates) a.engine.addRemoteCandidate(c, now);
  for (const c of a.candidates) b.engine.addRemoteCandidate(c, now);
  if (endOfCandidates) {
    a.engine.setLocalGatheringComplete(now);
    b.engine.setLocalGatheringComplete(now);
    a.engine.addRemoteCandidate(null, now);
    b.engine.addRemoteCandidate(null, now);
  }
  a.driver.poll();
  b.driver.poll();
}

/** Runs the clock until both agents satisfy `done`, or `limitMs` of virtual time passes. */
export function runUntil(clock: VirtualClock, done: () => boolean, limitMs = 60_000): boolean {
  const end = clock.now() + limitMs;
  while (!done()) {
    const next = clock.nextDeadline;
    if (next === undefined || next > end) return false;
    clock.step();
  }
  return true;
}
