// Interop with Chromium's own RTCPeerConnection (libwebrtc ICE): the page's peer connection and an icebridge
// IceAgent in Node (test/browser/ice-peer-plugin.ts, reached at /__ice/…) connect over loopback. The SDP the
// browser gets from "the other side" is made by toSessionDescription from icebridge's ufrag, pwd and
// candidates, with its dummy DTLS fingerprint, and the browser's is read by fromSessionDescription: DTLS never
// completes, only ICE connectivity is asserted — on both sides, in both roles.
import { fromSessionDescription, toSessionDescription } from '../../src/ice/session-description.js';
import { assert, assertEqual } from './assert.js';

interface NodeAgent {
  id: string;
  ufrag: string;
  pwd: string;
  /** `a=candidate:…` lines. */
  candidates: string[];
  done: boolean;
}

interface NodeState {
  state: string;
  states: string[];
  role: string;
  selected: { local: string; remote: string } | null;
  received: { at: number; length: number; firstByte: number; text?: string }[];
  receivedCount: number;
  dropped: { sent: number; received: number; from: string[] };
  remote: { added: string[]; ignored: string[] };
  pairs: unknown[];
}

async function ice<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined ? { cache: 'no-store' } : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  const response = await fetch(`/__ice/${path}`, init);
  const json = (await response.json()) as T & { error?: string };
  if (json.error) throw new Error(`/__ice/${path}: ${json.error}`);
  return json;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` gives a value (not undefined), or throws `what` after `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/** Gathering complete, or whatever was gathered after `ms` (trickled candidates are in the description too). */
async function gathered(pc: RTCPeerConnection, ms: number): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', onChange);
        resolve();
      }
      function onChange(): void {
        if (pc.iceGatheringState === 'complete') done();
      }
      pc.addEventListener('icegatheringstatechange', onChange);
    });
  }
  const sdp = pc.localDescription?.sdp;
  assert(sdp, 'no local description');
  return sdp;
}

interface IceFromSdp {
  ufrag: string;
  pwd: string;
  /** `candidate:…` lines. */
  candidates: string[];
}

/** The browser's ICE side, read by fromSessionDescription. */
function iceOf(sdp: string): IceFromSdp {
  const d = fromSessionDescription(sdp);
  return { ufrag: d.parameters.usernameFragment, pwd: d.parameters.password, candidates: d.candidates.map((c) => c.candidate) };
}

/** icebridge's side as an SDP offer or answer (a dummy fingerprint: DTLS is not under test). */
function descriptionFor(node: NodeAgent, role: 'offer' | 'answer', mid?: string): string {
  return toSessionDescription(
    { parameters: { usernameFragment: node.ufrag, password: node.pwd }, candidates: node.candidates, endOfCandidates: node.done },
    // passive: the browser, actpass in its offer, is then the DTLS client and sends its ClientHello.
    role === 'answer' ? { role, setup: 'passive', mid: mid ?? '0' } : { role },
  );
}

function loopback(candidateLine: string): boolean {
  const address = candidateLine.replace(/^a=/, '').split(' ')[4] ?? '';
  return address.startsWith('127.') || address === '::1';
}

/** The address and port of an `a=candidate`/`candidate:` line (IPv6 in brackets). */
function endpoint(candidateLine: string): string {
  const f = candidateLine.replace(/^a=/, '').split(' ');
  return f[4].includes(':') ? `[${f[4]}]:${f[5]}` : `${f[4]}:${f[5]}`;
}

async function browserConnected(pc: RTCPeerConnection, ms: number, node: NodeAgent): Promise<void> {
  await waitFor('RTCPeerConnection iceConnectionState connected', ms, async () => {
    const s = pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') return true;
    if (s === 'failed' || s === 'closed') {
      const n = await ice<NodeState>(`state?id=${node.id}`);
      throw new Error(`RTCPeerConnection went ${s}; icebridge: ${JSON.stringify(n)}`);
    }
    return undefined;
  });
}

/** The browser's selected pair, from getStats(). */
async function browserSelectedPair(pc: RTCPeerConnection): Promise<{ local: string; remote: string } | undefined> {
  const stats = await pc.getStats();
  let pairId: string | undefined;
  stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  if (!pairId) return undefined;
  const pair = stats.get(pairId) as { localCandidateId: string; remoteCandidateId: string };
  const address = (id: string): string => {
    const c = stats.get(id) as { address?: string; port?: number };
    return c.address?.includes(':') ? `[${c.address}]:${c.port}` : `${c.address}:${c.port}`;
  };
  return { local: address(pair.localCandidateId), remote: address(pair.remoteCandidateId) };
}

/** Both sides connected over loopback, and the browser's traffic (its DTLS ClientHello) reached icebridge. */
async function assertConnected(pc: RTCPeerConnection, node: NodeAgent, role: 'controlling' | 'controlled'): Promise<void> {
  await browserConnected(pc, 12_000, node);
  const state = await waitFor('icebridge connected with a selected pair', 3_000, async () => {
    const s = await ice<NodeState>(`state?id=${node.id}`);
    return (s.state === 'connected' || s.state === 'completed') && s.selected ? s : undefined;
  });
  assertEqual(state.role, role, 'icebridge role');
  assert(state.selected, 'icebridge has a selected pair');
  assert(loopback(state.selected.local) && loopback(state.selected.remote), `icebridge's selected pair is not on loopback: ${JSON.stringify(state.selected)}`);
  assertEqual(state.dropped.sent, 0, 'icebridge sent nothing beyond loopback');

  // The two sides agree on the pair (the browser may see icebridge's end as peer-reflexive, same address).
  const browserPair = await waitFor('the browser reports a selected pair', 3_000, () => browserSelectedPair(pc));
  assertEqual(browserPair.local, endpoint(state.selected.remote), "browser's local end is icebridge's remote end");
  assertEqual(browserPair.remote, endpoint(state.selected.local), "browser's remote end is icebridge's local end");

  // Once ICE is writable the browser, DTLS client, sends its ClientHello over the pair: record type 22
  // (RFC 7983: first byte 20..63 is DTLS) arrives at icebridge as application data.
  const dtls = await waitFor('a DTLS record from the browser at icebridge', 4_000, async () => {
    const s = await ice<NodeState>(`state?id=${node.id}`);
    return s.received.find((r) => r.firstByte >= 20 && r.firstByte <= 63);
  });
  assertEqual(dtls.firstByte, 22, 'DTLS handshake record');
  // And icebridge can send on its selected pair (the browser drops a datagram that is not STUN/DTLS/RTP).
  assertEqual((await ice<{ sent: boolean }>('send', { id: node.id, text: 'hello from icebridge' })).sent, true, 'icebridge send');
}

async function closeAll(pc: RTCPeerConnection | undefined, node: NodeAgent | undefined): Promise<void> {
  pc?.close();
  if (node) await ice('close', { id: node.id });
}

// Each step is bounded so that a test stays inside mocha's 30 s (web-test-runner.config.mjs): gathering 5 s,
// the browser connected 12 s, icebridge's view 3 + 3 s, the DTLS record 4 s.
describe("Chromium's RTCPeerConnection and icebridge's IceAgent", () => {
  let iceServers: RTCIceServer[] = [];

  before(async () => {
    // With a STUN server configured Chromium gathers on loopback (with the launcher's loopback flags).
    iceServers = [{ urls: (await ice<{ urls: string }>('stun')).urls }];
  });

  it('connects with the browser offering (controlling) and icebridge answering (controlled)', async () => {
    let pc: RTCPeerConnection | undefined;
    let node: NodeAgent | undefined;
    try {
      pc = new RTCPeerConnection({ iceServers });
      pc.createDataChannel('x');
      await pc.setLocalDescription(await pc.createOffer());
      const offer = await gathered(pc, 5_000);
      const browser = iceOf(offer);
      assert(browser.candidates.some(loopback), `the browser offered no loopback candidate:\n${offer}`);

      node = await ice<NodeAgent>('start', { role: 'controlled' });
      assert(node.done && node.candidates.length > 0 && node.candidates.every(loopback), `icebridge candidates: ${node.candidates.join(' | ')}`);
      const remote = await ice<{ added: string[]; ignored: string[] }>('remote', { id: node.id, ...browser, endOfCandidates: true });
      assert(remote.added.length > 0, `no browser candidate was loopback: ${remote.ignored.join(' | ')}`);

      await pc.setRemoteDescription({ type: 'answer', sdp: descriptionFor(node, 'answer', fromSessionDescription(offer).mid ?? undefined) });
      await assertConnected(pc, node, 'controlled');
    } finally {
      await closeAll(pc, node);
    }
  });

  it('connects with icebridge offering (controlling) and the browser answering (controlled)', async () => {
    let pc: RTCPeerConnection | undefined;
    let node: NodeAgent | undefined;
    try {
      node = await ice<NodeAgent>('start', { role: 'controlling' });
      assert(node.done && node.candidates.length > 0 && node.candidates.every(loopback), `icebridge candidates: ${node.candidates.join(' | ')}`);

      pc = new RTCPeerConnection({ iceServers });
      await pc.setRemoteDescription({ type: 'offer', sdp: descriptionFor(node, 'offer') });
      await pc.setLocalDescription(await pc.createAnswer());
      const answer = await gathered(pc, 5_000);
      assert(/^a=setup:active$/m.test(answer), `the browser should answer a=setup:active:\n${answer}`);
      const browser = iceOf(answer);
      assert(browser.candidates.some(loopback), `the browser answered no loopback candidate:\n${answer}`);
      const remote = await ice<{ added: string[]; ignored: string[] }>('remote', { id: node.id, ...browser, endOfCandidates: true });
      assert(remote.added.length > 0, `no browser candidate was loopback: ${remote.ignored.join(' | ')}`);

      await assertConnected(pc, node, 'controlling');
    } finally {
      await closeAll(pc, node);
    }
  });
});
