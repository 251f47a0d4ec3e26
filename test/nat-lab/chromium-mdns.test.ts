// Headless Chromium with its DEFAULT mDNS behaviour (no --disable-features=WebRtcHideLocalIpsWithMdns) in one
// network namespace, `icebridge peer` in another on the same segment (test/nat-lab/mdns-segment.ts): Chromium
// hides its host address behind `<uuid>.local`, icebridge resolves it by mDNS, and both reach `connected`
// over a host↔host pair. (Chromium's responder answers only one-question queries without the QU bit — see
// src/mdns/mdns-engine.ts — so this fails, via prflx, if icebridge's querier regresses.) Chromium runs under `ip netns exec` (a wrapper script as puppeteer's executable, the
// DevTools protocol over a pipe, so nothing listens on a port). The SDP for Chromium is made by hand from the
// peer's lines with a fake DTLS fingerprint, as test/browser/rtcpeerconnection.test.ts does: only ICE is
// asserted. Root only: run by `npm run test:nat-lab`; run alone without root, it fails with why.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { isUuidLocalName } from '../../src/mdns/mdns-names.js';
import { buildLabCli } from './lab-processes.js';
import { MdnsSegment, segmentUnavailable } from './mdns-segment.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../test-artifacts/nat-lab-build/cli.js', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
/** The flags of the project's other Chromium tests, minus the one that turns mDNS candidates off. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--headless=new',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

/**
 * The page's side, plain script (evaluated in Chromium as text, so no compiler helpers leak in): an offer with
 * one data channel, gathered to completion; then the answer, and the ICE state and selected pair once settled.
 */
const OFFER_SCRIPT = String.raw`(async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  pc.createDataChannel('mdns');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
  window.connect = async (sdp) => {
    await pc.setRemoteDescription({ type: 'answer', sdp });
    const deadline = performance.now() + 15000;
    while (!['connected', 'completed', 'failed'].includes(pc.iceConnectionState) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const stats = await pc.getStats();
    let pair;
    stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
    const cand = (id) => (id ? stats.get(id) : undefined);
    return { ice: pc.iceConnectionState, local: cand(pair && pair.localCandidateId), remote: cand(pair && pair.remoteCandidateId) };
  };
  return pc.localDescription.sdp;
})()`;

interface PeerRun {
  lines: string[];
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves with the first stdout line matching. */
  line(match: RegExp, ms: number): Promise<string>;
  event(match: (e: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
}

function watch(child: ChildProcess): PeerRun {
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const run: PeerRun = {
    lines: [],
    events: [],
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
    line: (match, ms) => until(() => run.lines.find((l) => match.test(l)), ms, `a peer line ${match}`),
    event: (match, ms) => until(() => run.events.find(match), ms, 'a peer event'),
  };
  const until = <T>(find: () => T | undefined, ms: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms: ${JSON.stringify(run.events).slice(0, 3000)}`)), ms);
      const check = () => {
        const found = find();
        if (found === undefined) return void waiters.push(check);
        clearTimeout(timer);
        resolve(found);
      };
      check();
    });
  createInterface({ input: child.stdout! }).on('line', (l) => {
    run.lines.push(l);
    wake();
  });
  createInterface({ input: child.stderr! }).on('line', (l) => {
    try {
      run.events.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      run.events.push({ event: 'raw', line: l });
    }
    wake();
  });
  return run;
}

/** Syntactically valid, matching no certificate: DTLS will not complete, and is not under test. */
function fakeFingerprint(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `sha-256 ${Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
}

const DROPPED_FROM_OFFER = /^a=(candidate|end-of-candidates|ice-ufrag|ice-pwd|ice-options|fingerprint|setup)(:|$)/;

/** The answer to Chromium's data channel offer: its session and m= section with the peer's ICE lines. */
function answerFor(offer: string, peerLines: string[]): string {
  const lines = offer.split(/\r?\n/).filter((l) => l !== '');
  const m = lines.findIndex((l) => l.startsWith('m='));
  assert.ok(m > 0 && lines[m].startsWith('m=application '), `expected one data channel m= section:\n${offer}`);
  const first = peerLines.find((l) => l.startsWith('a=candidate:'))!.split(' ');
  const mLine = lines[m].split(' ');
  mLine[1] = first[5];
  return [
    ...lines.slice(0, m).map((l) => (l.startsWith('o=') ? `o=- ${Date.now()} 2 IN IP4 ${first[4]}` : l)),
    mLine.join(' '),
    `c=IN IP4 ${first[4]}`,
    ...lines.slice(m + 1).filter((l) => !DROPPED_FROM_OFFER.test(l) && !l.startsWith('c=')),
    ...peerLines.filter((l) => /^a=(ice-ufrag|ice-pwd|candidate):/.test(l)),
    'a=ice-options:trickle',
    `a=fingerprint:${fakeFingerprint()}`,
    'a=setup:passive',
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

describe('headless Chromium (default mDNS) and an icebridge peer in network namespaces', () => {
  let segment: MdnsSegment;
  let browser: Browser | undefined;
  let page: Page;
  let dir: string;

  before(async () => {
    const why = segmentUnavailable();
    assert.equal(why, undefined, why);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    await buildLabCli();
    segment = new MdnsSegment(2, `mc${process.pid % 100_000}`);
    const [chrome] = segment.peers;
    // Chromium gathers on the interface of its default route; the route stays inside the namespace (the
    // segment reaches nowhere else), and no packet of this test is addressed outside 10.77.0.0/24 anyway.
    execFileSync('ip', ['-n', chrome.ns, 'route', 'add', 'default', 'dev', 'eth0'], { stdio: 'pipe' });
    dir = mkdtempSync(join(tmpdir(), 'icebridge-chromium-mdns-'));
    const wrapper = join(dir, 'chromium-in-ns.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${chrome.ns} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await puppeteer.launch({
      executablePath: wrapper,
      // Only these flags: puppeteer's defaults must not change Chromium's mDNS behaviour.
      ignoreDefaultArgs: true,
      pipe: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${join(dir, 'profile')}`, '--remote-debugging-pipe', 'about:blank'],
    });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    segment?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("connects host↔host to Chromium's default <uuid>.local host candidate, the name resolved by mDNS", async () => {
    const [chrome, node] = segment.peers;
    const offer = (await page.evaluate(OFFER_SCRIPT)) as string;
    const lines = offer.split(/\r?\n/);
    const candidates = lines.filter((l) => l.startsWith('a=candidate:'));
    const hosts = candidates.filter((l) => / typ host/.test(l) && / udp /i.test(l));
    assert.ok(hosts.length > 0, `Chromium gathered no UDP host candidate:\n${offer}`);
    // Its default behaviour: the host address is hidden, and never in the description.
    for (const h of hosts) assert.ok(isUuidLocalName(h.split(' ')[4]), `not an mDNS candidate: ${h}`);
    assert.ok(!offer.includes(chrome.address), `Chromium's address is in its offer:\n${offer}`);

    const child = segment.spawnIn(node.ns, [process.execPath, CLI, 'peer', '--role', 'controlled', '--address', node.address, '--echo', '--timeout-ms', '30000'], ROOT);
    child.stdin!.on('error', () => {});
    const run = watch(child);
    // Chromium's ICE lines, as a peer reads them (ice-ufrag and ice-pwd first).
    for (const l of lines.filter((x) => /^a=(ice-ufrag|ice-pwd):/.test(x))) child.stdin!.write(`${l}\n`);
    for (const l of candidates) child.stdin!.write(`${l}\n`);
    child.stdin!.write('a=end-of-candidates\n');
    await run.line(/^a=end-of-candidates/, 10_000);
    const answer = answerFor(offer, run.lines);

    const state = (await page.evaluate(`window.connect(${JSON.stringify(answer)})`)) as {
      ice: string;
      local?: { candidateType: string; address?: string };
      remote?: { candidateType: string; address?: string };
    };
    // Chromium's first check can beat the name's resolution, so the pair is first selected with a
    // peer-reflexive remote; once resolved, the signalled candidate takes its place and is reported again.
    const selected = (await run.event((e) => e.event === 'selected' && (e as { remote: { type: string } }).remote.type === 'host', 10_000)) as {
      local: { type: string };
      remote: { type: string; address: string; port: number };
    };
    const dump = JSON.stringify({ state, events: run.events.filter((e) => e.event !== "data") }).slice(0, 4000);
    assert.ok(['connected', 'completed'].includes(state.ice), dump);
    assert.equal(state.local?.candidateType, 'host', dump);
    assert.equal(state.remote?.candidateType, 'host', dump);
    assert.equal(state.remote?.address, node.address, dump);
    // icebridge's side: its host candidate, and Chromium's signalled host candidate as the remote, shown by
    // its name: resolved by mDNS, not learned as peer-reflexive from Chromium's checks.
    assert.equal(selected.local.type, 'host', dump);
    const names = hosts.map((h) => h.split(' ')[4]);
    assert.equal(selected.remote.type, 'host', dump);
    assert.ok(names.includes(selected.remote.address), dump);
    // The name never went to the system resolver: the peer did not hang on it (it is connected within the wait).
    assert.ok(run.events.some((e) => e.event === 'state' && (e.state === 'connected' || e.state === 'completed')), dump);
    child.stdin!.end();
    assert.equal(await run.exited, 0, JSON.stringify(run.events).slice(0, 4000));
  });
});
