// toSessionDescription / fromSessionDescription against Chromium's own RTCPeerConnection: the page's peer
// connection and an icebridge IceAgent in Node (test/browser/ice-peer-plugin.ts, at /__ice/…) reach ICE
// `connected` with no SDP written by hand — each side's description made or read by the helpers only.
// No DTLS happens (icebridge speaks none): ICE connectivity is what is asserted, on both sides.
import { fromSessionDescription, toSessionDescription } from '../../src/ice/session-description.js';
import { assert, assertEqual } from './assert.js';

/** What /__ice/start answers: the Node agent's parameters and `a=candidate:` lines, gathering done. */
interface NodeAgent {
  id: string;
  ufrag: string;
  pwd: string;
  candidates: string[];
  done: boolean;
}

async function ice<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined ? { cache: 'no-store' } : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  const json = (await (await fetch(`/__ice/${path}`, init)).json()) as T & { error?: string };
  if (json.error) throw new Error(`/__ice/${path}: ${json.error}`);
  return json;
}

/** Polls until `check` gives a value, or throws after `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The local description once gathering completed (or after `ms`, with whatever was gathered). */
async function gathered(pc: RTCPeerConnection, ms: number): Promise<RTCSessionDescription> {
  await waitFor('gathering complete', ms, () => (pc.iceGatheringState === 'complete' ? true : undefined)).catch(() => {});
  assert(pc.localDescription, 'no local description');
  return pc.localDescription;
}

/** The agent's side as the helpers take it. */
function nodeSide(node: NodeAgent): { parameters: { usernameFragment: string; password: string }; candidates: string[]; endOfCandidates: boolean } {
  return { parameters: { usernameFragment: node.ufrag, password: node.pwd }, candidates: node.candidates, endOfCandidates: node.done };
}

/** Gives the Node agent what fromSessionDescription read from the browser's description. */
async function tellNode(node: NodeAgent, sdp: RTCSessionDescription): Promise<void> {
  const d = fromSessionDescription(sdp);
  const remote = await ice<{ added: string[]; ignored: string[] }>('remote', {
    id: node.id,
    ufrag: d.parameters.usernameFragment,
    pwd: d.parameters.password,
    candidates: d.candidates.map((c) => c.candidate),
    endOfCandidates: true,
  });
  assert(remote.added.length > 0, `no loopback candidate among the browser's: ${remote.ignored.join(' | ')}`);
}

async function bothConnected(pc: RTCPeerConnection, node: NodeAgent, role: string): Promise<void> {
  await waitFor('RTCPeerConnection iceConnectionState connected', 12_000, () => {
    const s = pc.iceConnectionState;
    if (s === 'failed' || s === 'closed') throw new Error(`RTCPeerConnection went ${s}`);
    return s === 'connected' || s === 'completed' ? true : undefined;
  });
  const state = await waitFor('icebridge connected', 4_000, async () => {
    const s = await ice<{ state: string; role: string; selected: unknown }>(`state?id=${node.id}`);
    return (s.state === 'connected' || s.state === 'completed') && s.selected ? s : undefined;
  });
  assertEqual(state.role, role, 'icebridge role');
}

describe('SDP helpers with Chromium RTCPeerConnection', () => {
  let iceServers: RTCIceServer[] = [];
  let pc: RTCPeerConnection | undefined;
  let node: NodeAgent | undefined;

  before(async () => {
    // With a STUN server configured Chromium gathers on loopback (with the launcher's loopback flags).
    iceServers = [{ urls: (await ice<{ urls: string }>('stun')).urls }];
  });

  afterEach(async () => {
    pc?.close();
    if (node) await ice('close', { id: node.id });
    pc = node = undefined;
  });

  it('the browser offers, icebridge answers with toSessionDescription', async () => {
    pc = new RTCPeerConnection({ iceServers });
    pc.createDataChannel('x');
    await pc.setLocalDescription(await pc.createOffer());
    const offer = await gathered(pc, 5_000);
    const read = fromSessionDescription(offer);
    assertEqual(read.setup, 'actpass', 'the offer setup');
    assert(read.fingerprint?.startsWith('sha-256 '), `fingerprint ${String(read.fingerprint)}`);
    assert(read.iceOptions.includes('trickle'), 'the offer says trickle');

    node = await ice<NodeAgent>('start', { role: 'controlled' });
    await tellNode(node, offer);
    await pc.setRemoteDescription({ type: 'answer', sdp: toSessionDescription(nodeSide(node), { role: 'answer', mid: read.mid ?? '0' }) });
    await bothConnected(pc, node, 'controlled');
  });

  it('icebridge offers with toSessionDescription, the browser answers', async () => {
    node = await ice<NodeAgent>('start', { role: 'controlling' });
    pc = new RTCPeerConnection({ iceServers });
    await pc.setRemoteDescription({ type: 'offer', sdp: toSessionDescription(nodeSide(node), { role: 'offer' }) });
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = await gathered(pc, 5_000);
    const read = fromSessionDescription(answer);
    assertEqual(read.setup, 'active', "the browser's answer to actpass");
    assertEqual(read.mid, '0', 'the answer keeps the offer mid');
    await tellNode(node, answer);
    await bothConnected(pc, node, 'controlling');
  });

  it('icebridge offers before its candidates and trickles them (end-of-candidates last)', async () => {
    node = await ice<NodeAgent>('start', { role: 'controlling' });
    pc = new RTCPeerConnection({ iceServers });
    const side = nodeSide(node);
    const offer = toSessionDescription({ parameters: side.parameters, candidates: [] }, { role: 'offer', mid: 'data' });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    // The same candidates as RTCIceCandidateInit, read back by the helper from a description carrying them.
    const full = fromSessionDescription(toSessionDescription(side, { role: 'offer', mid: 'data' }));
    assert(full.candidates.length > 0 && full.candidates.every((c) => c.sdpMid === 'data'), 'trickled inits carry the mid');
    for (const candidate of full.candidates) await pc.addIceCandidate(candidate);
    await pc.addIceCandidate({ candidate: '', sdpMid: 'data' });
    const answer = await gathered(pc, 5_000);
    assertEqual(fromSessionDescription(answer).mid, 'data', 'answer mid');
    await tellNode(node, answer);
    await bothConnected(pc, node, 'controlling');
  });
});
