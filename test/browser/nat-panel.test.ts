// The inspector's NAT type panel as a user meets it: the inspector of the examples server (examples-plugin.ts;
// a tab of this headless Chromium, driven through its DOM) runs RFC 5780 NAT behaviour discovery in its
// Worker, through the bridge. With the server's own STUN (no RFC 5780, like `npm start`) the panel says so
// and how to enable it; with an RFC 5780 server (nat-panel-plugin.ts: startIcebridgeServer with
// turn.altAddress, on 127.0.0.1 and 127.0.0.2) typed into the form it shows the classification and the tests
// (screenshot: test-artifacts/inspector-nat.png).
// The examples bridge announces 127.0.0.2 for sockets the STUN server sees at 127.0.0.1: to discovery that is
// a 1:1 NAT — one mapping for every destination, no filtering, hairpinning — so "full cone", direct likely.
// The functions passed to `inTab` run in the tab, and must not use anything from this module's scope.
import { executeServerCommand } from '@web/test-runner-commands';
import { assert, assertEqual } from './assert.js';
import type { NatPanelEnv } from './nat-panel-plugin.js';

/**
 * In the tab: resolves with `probe()`'s first truthy value, probed now and on every DOM change; rejects
 * after `ms` naming what it waited for.
 */
function waitFor<T>(probe: () => T, ms: number, what: string): Promise<NonNullable<T>> {
  return new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => check());
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}; page state: ${document.body?.innerText.slice(0, 600)}`));
    }, ms);
    const check = (): boolean => {
      const value = probe();
      if (!value) return false;
      observer.disconnect();
      clearTimeout(timer);
      resolve(value as NonNullable<T>);
      return true;
    };
    if (!check()) observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

type WaitFor = typeof waitFor;

async function inTab<A, R>(id: string, fn: (arg: A, wait: WaitFor) => R | Promise<R>, arg?: A): Promise<R> {
  const source = `(arg) => (${fn.toString()})(arg, ${waitFor.toString()})`;
  const { value } = await executeServerCommand<{ value: R }, unknown>('examples-eval', { id, source, arg });
  return value;
}

interface PanelView {
  state: string | undefined;
  code: string | undefined;
  classic: string | undefined;
  mapping: string | undefined;
  filtering: string | undefined;
  ice: string | undefined;
  text: string;
  server: string;
  facts: Record<string, string>;
  tests: { open: boolean; rows: { test: string; outcome: string; from: string }[] } | null;
  statusErrors: string[];
}

/** In the tab: sets the first server URL (if given), presses Detect NAT type and waits for the panel's answer. */
async function detect(url: string | null, wait: WaitFor): Promise<PanelView> {
  await wait(() => document.body.dataset.ready, 10_000, 'the inspector');
  if (url !== null) {
    const input = document.querySelector<HTMLInputElement>('#server-rows input[name=urls]')!;
    input.value = url;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }
  const panel = document.querySelector<HTMLElement>('#nat-type')!;
  const button = document.querySelector<HTMLButtonElement>('#nat-detect')!;
  button.click();
  await wait(() => (panel.dataset.state === 'done' || panel.dataset.state === 'error') && !button.disabled, 15_000, 'the NAT panel to answer');
  const details = panel.querySelector<HTMLDetailsElement>('details#nat-tests');
  const facts: Record<string, string> = {};
  for (const div of panel.querySelectorAll('.nat-facts > div')) facts[div.querySelector('dt')?.textContent ?? ''] = div.querySelector('dd')?.textContent ?? '';
  return {
    state: panel.dataset.state,
    code: panel.dataset.code,
    classic: panel.dataset.classic,
    mapping: panel.dataset.mapping,
    filtering: panel.dataset.filtering,
    ice: panel.dataset.ice,
    text: panel.querySelector('#nat-result')?.textContent ?? '',
    server: panel.querySelector('#nat-server')?.textContent ?? '',
    facts,
    tests: details && {
      open: details.open,
      rows: [...details.querySelectorAll<HTMLElement>('tbody tr')].map((tr) => ({ test: tr.dataset.test ?? '', outcome: tr.dataset.outcome ?? '', from: tr.dataset.from ?? '' })),
    },
    statusErrors: [...document.querySelectorAll('#status .error')].map((e) => e.textContent ?? ''),
  };
}

describe("the inspector's NAT type panel (RFC 5780 through the Worker and the bridge)", () => {
  let tab: string | undefined;

  afterEach(async () => {
    if (tab) await executeServerCommand('examples-close', { id: tab });
    tab = undefined;
  });

  async function openInspector(): Promise<string> {
    ({ id: tab } = await executeServerCommand<{ id: string }, unknown>('examples-open', { path: '/inspector/', width: 1280, height: 900 }));
    return tab!;
  }

  it("says the server's own STUN does not support RFC 5780, and how to enable it", async () => {
    const id = await openInspector();
    const view = await inTab(id, detect, null);
    assertEqual(view.state, 'error', view.text);
    assertEqual(view.code, 'NO_RFC5780', view.text);
    assert(/^against stun:127\.0\.0\.1:\d+$/.test(view.server), `the panel names the form's first stun: server (${view.server})`);
    assert(view.text.includes('does not support RFC 5780'), view.text);
    assert(view.text.includes('npm start -- --alt-address 127.0.0.2'), `how to enable it: ${view.text}`);
    assert(view.text.includes('OTHER-ADDRESS'), `the discovery error itself: ${view.text}`);
    assertEqual(view.classic, undefined, 'no classification shown');
    assertEqual(view.tests, null, 'no test log');
    await inTab(id, () => (document.querySelector('#nat-type')!.scrollIntoView(), true));
    await executeServerCommand('examples-screenshot', { id, file: 'inspector-nat-no-rfc5780.png' });
  });

  it('classifies with an RFC 5780 server typed into the form: mapping, filtering, hairpinning, name, ICE, tests collapsed', async () => {
    const env = (await (await fetch('/__nat-panel/env')).json()) as NatPanelEnv;
    const id = await openInspector();
    const view = await inTab(id, detect, env.stunUri);
    assertEqual(view.state, 'done', view.text);
    assertEqual(view.server, `against ${env.stunUri}`);
    assertEqual(view.mapping, 'endpoint-independent', view.text);
    assertEqual(view.filtering, 'endpoint-independent', view.text);
    assertEqual(view.classic, 'full cone', view.text);
    assertEqual(view.ice, 'direct likely', view.text);
    assertEqual(view.facts.NAT, 'yes');
    assertEqual(view.facts.Mapping, 'endpoint-independent');
    assertEqual(view.facts.Filtering, 'endpoint-independent');
    assertEqual(view.facts.Hairpinning, 'yes', 'the second bridge socket reached the first at its mapped address');
    assert(view.facts['Mapped address'].startsWith('127.0.0.1:'), `mapped address ${view.facts['Mapped address']}`);
    assert(/other 127\.0\.0\.2:\d+/.test(view.facts.Server), `the server's OTHER-ADDRESS (${view.facts.Server})`);
    assert(view.text.includes('direct connections work with peers behind any NAT'), `what it means for ICE: ${view.text}`);
    assert(view.tests !== null && !view.tests.open, 'the test log is there, collapsed');
    const tests = view.tests!.rows.map((r) => `${r.test}: ${r.outcome}`);
    assertEqual(tests.join('; '), 'I: response; filtering II (change IP and port): response; mapping II (alternate address): response');
    assert(view.tests!.rows[1].from.startsWith('127.0.0.2:'), `filtering II answered from the other address (${view.tests!.rows[1].from})`);
    assertEqual(view.statusErrors.length, 0, `no errors in the status area (${view.statusErrors.join('; ')})`);
    // Tests shown, for the screenshot.
    await inTab(id, () => {
      document.querySelector<HTMLDetailsElement>('#nat-tests')!.open = true;
      document.querySelector('#nat-type')!.scrollIntoView();
      return true;
    });
    const shot = await executeServerCommand<{ file: string; bytes: number }, unknown>('examples-screenshot', { id, file: 'inspector-nat.png' });
    assert(shot.bytes > 10_000, `a real screenshot (${shot.bytes} bytes)`);
  });
});
