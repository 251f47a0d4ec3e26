// The NAT type panel: RFC 5780 NAT behaviour discovery, run in the Worker from bridge sockets against the
// first stun: server of the form. Shows the mapping and filtering behaviours (RFC 4787), hairpinning, the
// classic name, what that means for ICE, and the tests as run (collapsed). A server without RFC 5780 — the
// default of `npm start` — is explained with how to enable it.
// What is classified is the bridge host's UDP: the bridge's sockets send the probes, not the browser.
import { IcebridgeWorker, type IceServerConfig, type TransportAddress } from 'icebridge/worker';
import { element, h } from '../shared/dom.js';
import { describeError } from '../shared/errors.js';
import type { ExampleConfig } from '../shared/page-setup.js';
import { hostPort } from './candidate-line.js';

type NatResult = Awaited<ReturnType<IcebridgeWorker['discoverNat']>>;
type NatTest = NatResult['details']['tests'][number];

/** RFC 3489's names in a sentence each (RFC 4787 §3: mapping and filtering are what they mix). */
const CLASSIC_MEANING: Record<NatResult['classic'], string> = {
  'open internet': 'No NAT: the server sees the bridge host at its own address, and nothing filters what comes in.',
  'symmetric UDP firewall': 'No NAT, but a firewall lets in only datagrams from addresses the host has sent to.',
  'full cone': 'One public mapping for every destination, and anyone may send to it.',
  'restricted cone': 'One public mapping for every destination; only addresses the host has sent to may send back.',
  'port-restricted cone': 'One public mapping for every destination; only the exact address and port sent to may send back.',
  symmetric: 'A new public mapping for each destination: peers do not see the address the STUN server saw.',
};

const address = (a: TransportAddress | undefined): string => (a === undefined ? '—' : hostPort(a.address, a.port));

/** The first stun: URL among the form's servers (stuns: is TLS, which the bridge does not carry). */
export function firstStunUrl(servers: IceServerConfig[]): string | undefined {
  for (const server of servers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) if (/^stun:/i.test(url.trim())) return url.trim();
  }
  return undefined;
}

export class NatPanel {
  private readonly section = element('#nat-type');
  private readonly button = element<HTMLButtonElement>('#nat-detect');
  private readonly result = element('#nat-result');
  private readonly server = element('#nat-server');
  private run = 0;

  /** `setup()` gives the servers of the form and a fresh /config.json when the button is pressed. */
  constructor(private readonly setup: () => Promise<{ servers: IceServerConfig[]; config: ExampleConfig }>) {
    this.button.addEventListener('click', () => void this.detect());
  }

  /** Names the server a press would use (called when the form is filled). */
  showServer(servers: IceServerConfig[]): void {
    const url = firstStunUrl(servers);
    this.server.replaceChildren(url ? h('span', {}, 'against ', h('code', {}, url)) : 'no stun: server in the form');
  }

  async detect(): Promise<void> {
    const run = ++this.run;
    const started = performance.now();
    this.button.disabled = true;
    this.state('running');
    try {
      const { servers, config } = await this.setup();
      this.showServer(servers);
      const url = firstStunUrl(servers);
      if (url === undefined) {
        this.showError('no-server', 'There is no stun: server in the form above.', 'Add a row with the URL of a STUN server that supports RFC 5780 (two addresses and two ports), then press Detect again.');
        return;
      }
      this.result.replaceChildren(h('p', { class: 'nat-running' }, 'Running the RFC 5780 tests against ', h('code', {}, url), ' through the bridge… (a NAT that filters makes a test or two wait 3 s for an answer that never comes)'));
      const found = await IcebridgeWorker.shared().discoverNat(url, { bridge: config.bridge });
      if (run !== this.run) return;
      this.show(found, performance.now() - started);
    } catch (err) {
      if (run !== this.run) return;
      const e = err as Error & { code?: unknown };
      if (e.name === 'NatDiscoveryError' && e.code === 'NO_RFC5780') {
        this.showError(
          'NO_RFC5780',
          'This STUN server does not support RFC 5780 NAT behaviour discovery: it answers from one address and port only, so mapping and filtering cannot be told apart.',
          h(
            'span',
            {},
            h('code', {}, 'npm start'),
            ' runs it that way by default. Restart with a second address, e.g. ',
            h('code', {}, 'npm start -- --alt-address 127.0.0.2'),
            ' (or ',
            h('code', {}, 'icebridge serve --host <address> --alt-address <second address>'),
            '), or use coturn with two ',
            h('code', {}, '--listening-ip'),
            '.',
          ),
          e.message,
        );
      } else {
        const code = e.name === 'NatDiscoveryError' && typeof e.code === 'string' ? e.code : 'error';
        this.showError(code, 'NAT type detection failed.', describeError(err));
      }
    } finally {
      if (run === this.run) this.button.disabled = false;
    }
  }

  private state(state: 'running' | 'done' | 'error'): void {
    this.section.dataset.state = state;
  }

  private show(r: NatResult, ms: number): void {
    this.state('done');
    Object.assign(this.section.dataset, { classic: r.classic, mapping: r.mapping, filtering: r.filtering, ice: r.ice });
    delete this.section.dataset.code;
    const hairpinning =
      r.hairpinning !== undefined ? (r.hairpinning ? 'yes' : 'no') : !r.natted ? 'n/a (no NAT)' : (r.details.hairpinning ?? 'not tested');
    const fact = (name: string, value: Node | string, id?: string) => h('div', {}, h('dt', {}, name), h('dd', id ? { id } : {}, value));
    this.result.replaceChildren(
      h(
        'div',
        { class: 'nat-headline' },
        h('span', { class: 'nat-classic', id: 'nat-classic' }, r.classic),
        h('span', { class: `badge ice ${r.ice.replace(/ /g, '-')}`, id: 'nat-ice', title: 'what this means for ICE' }, r.ice),
      ),
      h('p', { class: 'nat-meaning' }, CLASSIC_MEANING[r.classic], ' ', h('span', { class: 'nat-ice-note' }, `ICE: ${r.iceNote}.`)),
      h(
        'dl',
        { class: 'nat-facts' },
        fact('NAT', r.natted ? 'yes' : 'no', 'nat-natted'),
        fact('Mapping', h('span', { class: 'mono' }, r.mapping), 'nat-mapping'),
        fact('Filtering', h('span', { class: 'mono' }, r.filtering), 'nat-filtering'),
        fact('Hairpinning', hairpinning, 'nat-hairpinning'),
        fact('Mapped address', h('span', { class: 'mono' }, `${address(r.mappedAddress)}`, h('small', {}, ` local ${address(r.localAddress)}`))),
        fact('Server', h('span', { class: 'mono' }, address(r.server), h('small', {}, ` other ${address(r.otherAddress)}`))),
      ),
      ...(r.details.serverBehindNat ? [h('p', { class: 'nat-note' }, "Note: the server's RESPONSE-ORIGIN differs from its address — something translates the server's side too.")] : []),
      this.testLog(r.details.tests, r.details.durationMs, ms),
    );
  }

  private testLog(tests: NatTest[], durationMs: number, totalMs: number): HTMLDetailsElement {
    // Two columns, the panel being the narrow one on the left: where each test went, where its answer came
    // from, its round trip and the mapped address are small lines under its name and outcome.
    const row = (t: NatTest) =>
      h(
        'tr',
        { 'data-test': t.test, 'data-outcome': t.outcome, 'data-from': t.from && address(t.from) },
        h('td', { class: 'test' }, t.test, h('small', { class: 'mono' }, `to ${address(t.to)}`)),
        h(
          'td',
          { class: `outcome ${t.outcome.replace(/ /g, '-')}` },
          t.outcome === 'error' ? `error ${t.error ?? ''}` : t.outcome,
          t.from ? h('small', { class: 'mono' }, `from ${address(t.from)}${t.rttMs === undefined ? '' : ` · ${t.rttMs.toFixed(1)} ms`}`) : null,
          t.responseOrigin ? h('small', { class: 'mono' }, `RESPONSE-ORIGIN ${address(t.responseOrigin)}`) : null,
          t.mapped ? h('small', { class: 'mono' }, `mapped ${address(t.mapped)}`) : null,
        ),
      );
    return h(
      'details',
      { class: 'nat-tests', id: 'nat-tests' },
      h('summary', {}, `Tests (${tests.length}, ${durationMs.toFixed(0)} ms; ${totalMs.toFixed(0)} ms with the bridge session)`),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'data' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', { scope: 'col' }, 'Test (to)'), h('th', { scope: 'col' }, 'Answer (from · RTT, mapped address)')),
          ),
          h('tbody', {}, ...tests.map(row)),
        ),
      ),
    );
  }

  private showError(code: string, headline: string, advice: Node | string, detail?: string): void {
    this.state('error');
    for (const key of ['classic', 'mapping', 'filtering', 'ice']) delete this.section.dataset[key];
    this.section.dataset.code = code;
    this.result.replaceChildren(
      h('div', { class: 'nat-error', id: 'nat-error' }, h('p', { class: 'nat-error-head' }, headline), h('p', {}, advice), detail ? h('p', { class: 'nat-error-detail' }, detail) : null),
    );
  }
}
