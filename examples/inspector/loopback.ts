// The loopback connection: two agents in this page, A (controlling) and B (controlled), each in the Worker on
// its own bridge session, signalled to each other in-page (parameters, then candidates as they trickle).
// While it runs, getStats() of the shown agent refreshes the pair table twice a second.
import { createIceAgent, type IceServerConfig, type IceTransportPolicy, type WorkerIceAgent, type WorkerIceAgentEvent } from 'icebridge/worker';
import { element } from '../shared/dom.js';
import { describeError } from '../shared/errors.js';
import { showCarrier, type ExampleConfig } from '../shared/page-setup.js';
import { hostPort } from './candidate-line.js';
import { renderPairs } from './pairs-table.js';
import type { StatusLog } from './status-log.js';

const REFRESH_MS = 500;

export interface LoopbackSetup {
  config: ExampleConfig;
  iceServers: IceServerConfig[];
  iceTransportPolicy: IceTransportPolicy;
}

export class LoopbackConnection {
  private agents: { a: WorkerIceAgent; b: WorkerIceAgent } | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private sent = 0;
  private readonly startButton = element<HTMLButtonElement>('#connect-start');
  private readonly pingButton = element<HTMLButtonElement>('#connect-ping');
  private readonly stopButton = element<HTMLButtonElement>('#connect-stop');
  private readonly side = element<HTMLSelectElement>('#pair-side');
  private readonly rows = element<HTMLTableSectionElement>('#pair-rows');

  constructor(private readonly status: StatusLog) {
    this.pingButton.addEventListener('click', () => this.ping());
    this.stopButton.addEventListener('click', () => void this.stop());
    this.side.addEventListener('change', () => void this.refresh());
  }

  get running(): boolean {
    return this.agents !== undefined;
  }

  async start(setup: LoopbackSetup): Promise<void> {
    await this.stop();
    this.startButton.disabled = true;
    this.stopButton.disabled = false;
    this.sent = 0;
    for (const id of ['#data-log', '#state-a', '#state-b', '#selected-path']) element(id).textContent = '—';
    const { config, iceServers, iceTransportPolicy } = setup;
    const made: WorkerIceAgent[] = [];
    try {
      for (const role of ['controlling', 'controlled'] as const) {
        made.push(await createIceAgent({ bridge: config.bridge, iceServers, iceTransportPolicy, role }));
      }
    } catch (err) {
      for (const agent of made) void agent.close();
      this.status.error(`Loopback: could not make the agents — ${describeError(err)}`);
      this.idle();
      return;
    }
    const [a, b] = made;
    this.agents = { a, b };
    showCarrier(element('#bridge-info'), config.bridge.url, a);
    this.status.info(`Loopback: connecting A ↔ B (policy ${iceTransportPolicy})…`);
    for (const [from, to, name] of [
      [a, b, 'A'],
      [b, a, 'B'],
    ] as const) {
      // In-page signalling: what a signalling channel would carry, delivered directly.
      from.addEventListener('icecandidate', (e) => {
        to.addRemoteCandidate((e as WorkerIceAgentEvent).candidate ?? null).catch((err: unknown) => this.status.error(`Loopback: ${name}'s candidate refused — ${describeError(err)}`));
      });
      from.addEventListener('icecandidateerror', (e) => {
        const error = (e as WorkerIceAgentEvent).error;
        if (error) this.status.error(`Loopback ${name}: ${error.url} — error ${error.errorCode}: ${error.errorText}`);
      });
      from.addEventListener('statechange', () => this.onState(name, from));
      from.addEventListener('selectedcandidatepairchange', () => this.showPath());
      from.addEventListener('data', (e) => {
        this.onData(name, from, (e as WorkerIceAgentEvent).data);
        void this.refresh();
      });
    }
    try {
      await a.setRemoteParameters(b.localParameters);
      await b.setRemoteParameters(a.localParameters);
      this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
      await Promise.all([a.gather(), b.gather()]);
    } catch (err) {
      this.status.error(`Loopback: ${describeError(err)}`);
    }
  }

  ping(): void {
    const a = this.agents?.a;
    if (!a) return;
    const text = `message ${++this.sent} from A at ${new Date().toLocaleTimeString()}`;
    if (!a.send(text)) this.status.error('Loopback: A has no selected pair to send on');
  }

  async stop(): Promise<void> {
    const agents = this.agents;
    this.agents = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (agents) {
      await Promise.allSettled([agents.a.close(), agents.b.close()]);
      this.status.info('Loopback: closed.');
    }
    this.idle();
  }

  private idle(): void {
    this.startButton.disabled = false;
    this.pingButton.disabled = true;
    this.stopButton.disabled = true;
    renderPairs(this.rows, [], 'Not connected.');
  }

  private onState(name: string, agent: WorkerIceAgent): void {
    const cell = element(`#state-${name.toLowerCase()}`);
    cell.textContent = agent.state;
    cell.className = `state ${agent.state}`;
    if (agent.state === 'connected' && name === 'A') {
      this.status.ok('Loopback: A and B connected.');
      this.pingButton.disabled = false;
      this.ping();
    }
    if (agent.state === 'failed') this.status.error(`Loopback: ${name} failed — no candidate pair worked`);
    void this.refresh();
  }

  private onData(name: string, agent: WorkerIceAgent, data: Uint8Array | undefined): void {
    if (!data) return;
    const text = new TextDecoder().decode(data);
    element('#data-log').textContent = `${name} received “${text}” (${data.byteLength} bytes)`;
    // B answers, so both directions carry data and both byte counters move.
    if (name === 'B') agent.send(`echo: ${text}`);
  }

  private showPath(): void {
    const pair = this.agents?.a.getSelectedCandidatePair();
    element('#selected-path').textContent = pair
      ? `${pair.local.type} ${hostPort(pair.local.address, pair.local.port)} ↔ ${pair.remote.type} ${hostPort(pair.remote.address, pair.remote.port)}`
      : '—';
  }

  private async refresh(): Promise<void> {
    const agents = this.agents;
    if (!agents) return;
    const agent = this.side.value === 'b' ? agents.b : agents.a;
    try {
      const stats = await agent.getStats();
      if (this.agents === agents) renderPairs(this.rows, stats);
    } catch {
      // Closed between the tick and the answer: the next start() redraws.
    }
  }
}
