// The inspector: gathers candidates through the bridge with the ICE servers in the form and shows them as
// they trickle in; runs a loopback connection between two agents and shows its candidate pairs live; detects
// the NAT type of the bridge host (RFC 5780) with the form's first stun: server.
// `?autogather=1` presses Gather on load (for screenshots and quick looks).
import { createIceAgent, type WorkerIceAgent, type WorkerIceAgentEvent } from 'icebridge/worker';
import { element } from '../shared/dom.js';
import { describeError } from '../shared/errors.js';
import { fetchConfig, showCarrier, type ExampleConfig } from '../shared/page-setup.js';
import { CandidatesTable } from './candidates-table.js';
import { LoopbackConnection } from './loopback.js';
import { NatPanel } from './nat-panel.js';
import { ServersForm } from './servers-form.js';
import { StatusLog } from './status-log.js';

const status = new StatusLog(element('#status'));
const form = new ServersForm(element<HTMLFormElement>('#servers-form'));
const candidates = new CandidatesTable(element<HTMLTableElement>('#candidate-table'), element('#candidate-summary'));
const loopback = new LoopbackConnection(status);
// A fresh config each time: its bridge token expires.
const natPanel = new NatPanel(async () => ({ servers: form.servers(), config: await fetchConfig() }));
const gatherButton = element<HTMLButtonElement>('#gather');
const connectButton = element<HTMLButtonElement>('#connect-start');

/** The agent of the last Gather, closed when its candidates are all in (or by the next Gather). */
let gathering: WorkerIceAgent | undefined;

function showBridge(config: ExampleConfig): void {
  element('#bridge-info').textContent = `bridge: ${config.bridge.url}`;
}

async function gather(): Promise<void> {
  const started = performance.now();
  const since = () => performance.now() - started;
  void gathering?.close();
  gathering = undefined;
  status.clear();
  candidates.reset();
  gatherButton.disabled = true;
  const iceServers = form.servers();
  const iceTransportPolicy = form.policy();
  try {
    // A fresh config each time: its bridge token expires.
    const config = await fetchConfig();
    showBridge(config);
    const agent = await createIceAgent({ bridge: config.bridge, iceServers, iceTransportPolicy });
    gathering = agent;
    showCarrier(element('#bridge-info'), config.bridge.url, agent);
    status.info(`Bridge session open in ${since().toFixed(0)} ms; gathering with ${iceServers.length} server(s), policy ${iceTransportPolicy}…`);
    agent.addEventListener('gatheringstatechange', () => candidates.setGatheringState(agent.gatheringState));
    agent.addEventListener('icecandidate', (e) => {
      const candidate = (e as WorkerIceAgentEvent).candidate;
      if (candidate) candidates.add(candidate.candidate, since());
      else candidates.end(since());
    });
    agent.addEventListener('icecandidateerror', (e) => {
      const error = (e as WorkerIceAgentEvent).error;
      if (error) status.error(`${error.url} — error ${error.errorCode}: ${error.errorText}`);
    });
    await agent.gather();
    const ms = since();
    candidates.setGatheringState(agent.gatheringState, `took ${ms.toFixed(0)} ms`);
    status.ok(`Gathering complete in ${ms.toFixed(0)} ms.`);
    if (gathering === agent) {
      gathering = undefined;
      await agent.close();
    }
  } catch (err) {
    candidates.setGatheringState('failed');
    status.error(describeError(err));
  } finally {
    gatherButton.disabled = false;
  }
}

async function connect(): Promise<void> {
  try {
    const config = await fetchConfig();
    await loopback.start({ config, iceServers: form.servers(), iceTransportPolicy: form.policy() });
  } catch (err) {
    status.error(`Loopback: ${describeError(err)}`);
  }
}

element('#servers-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void gather();
});
connectButton.addEventListener('click', () => void connect());
// The NAT panel names the server it would use as the form changes (typing, rows added, removed, reset).
for (const type of ['input', 'click']) element('#servers-form').addEventListener(type, () => natPanel.showServer(form.servers()));

async function init(): Promise<void> {
  try {
    const config = await fetchConfig();
    showBridge(config);
    form.setDefaults(config.iceServers);
    natPanel.showServer(form.servers());
  } catch (err) {
    form.setDefaults([]);
    element('#bridge-info').textContent = 'bridge: unknown';
    status.error(`Could not load the server's configuration — ${describeError(err)}`);
    return;
  }
  document.body.dataset.ready = 'true';
  if (new URLSearchParams(location.search).get('autogather') === '1') void gather();
}

void init();
