// The typed API under an application's strictest flags (strict, noUncheckedIndexedAccess,
// exactOptionalPropertyTypes): `e.candidate`, `e.data`, `e.errorCode` need no cast, on<type> handlers get the
// agent as `this`, a DOM RTCIceCandidateInit and an RTCPeerConnection's RTCIceCandidate go to
// addRemoteCandidate — in a page (lib.dom, the page IceAgent) and in Node (no lib.dom, the Node IceAgent).
// Each fixture also holds @ts-expect-error lines: a type that lost its precision fails the check.
// Only the fixtures' own diagnostics count (the library's sources are checked by the project's tsconfig).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '../../src');
const dir = mkdtempSync(join(tmpdir(), 'icebridge-strict-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STRICT: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  skipLibCheck: true,
};

function check(name: string, source: string, options: ts.CompilerOptions): string[] {
  const file = join(dir, name);
  writeFileSync(file, source);
  const program = ts.createProgram([file], { ...STRICT, ...options });
  const sourceFile = program.getSourceFile(file);
  assert.ok(sourceFile, 'the fixture is in the program');
  return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)].map((d) => {
    const { line } = d.start === undefined ? { line: -1 } : sourceFile.getLineAndCharacterOfPosition(d.start);
    return `${name}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const PAGE = `
import { IceAgent, IceSendError, type IceAgentEventMap, type IceCandidatePairStats } from '${SRC}/browser.js';

const agent = new IceAgent({ bridge: 'ws://127.0.0.1:8787/bridge', iceServers: [{ urls: 'stun:127.0.0.1' }] });
agent.addEventListener('icecandidate', (e) => {
  const line: string | undefined = e.candidate?.candidate;
  const mid: string | null | undefined = e.candidate?.sdpMid;
  void [line, mid];
  // @ts-expect-error an icecandidate event carries no data
  const bytes: Uint8Array = e.data;
  void bytes;
});
agent.addEventListener('data', (e) => {
  const bytes: Uint8Array = e.data;
  void bytes.byteLength;
});
agent.addEventListener('icecandidateerror', (e) => {
  const fields: [string, number, string, string | null, number | null] = [e.url, e.errorCode, e.errorText, e.address, e.port];
  void fields;
});
agent.addEventListener('statechange', function () {
  const self: IceAgent = this;
  void self.state;
});
agent.onicecandidate = (e) => void e.candidate;
agent.ondata = function (e) {
  const self: IceAgent = this;
  void [self.state, e.data.length];
};
agent.onicecandidateerror = (e) => void e.errorCode;
agent.oncarrierchange = () => void agent.carrier;
agent.onstatechange = null;
// Events of other names still take a plain listener.
agent.addEventListener('custom', (e: Event) => void e.type);
// @ts-expect-error an event of another name is a plain Event: no candidate
agent.addEventListener('custom', (e) => void e.candidate);
type Candidate = IceAgentEventMap['icecandidate']['candidate'];
const end: Candidate = null;
void end;

declare const init: RTCIceCandidateInit;
void agent.addRemoteCandidate(init);
void agent.addRemoteCandidate({ candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: '0', sdpMLineIndex: null });
const pc = new RTCPeerConnection();
pc.onicecandidate = (e) => void agent.addRemoteCandidate(e.candidate);
pc.addEventListener('icecandidate', (e) => {
  if (e.candidate) void agent.addRemoteCandidate(e.candidate.toJSON());
});
// @ts-expect-error not a candidate
void agent.addRemoteCandidate(42);

async function run(): Promise<void> {
  await agent.gather();
  const stats: IceCandidatePairStats[] = await agent.getStats();
  const first = stats[0];
  const reason: string | undefined = first?.failureReason;
  void reason;
  try {
    agent.send(new Uint8Array(70_000));
  } catch (err) {
    if (err instanceof IceSendError) void [err.code, err.size, err.maxSize];
  }
  await agent.close();
}
void run();
`;

const NODE = `
import { IceAgent } from '${SRC}/node/node-ice-agent.js';
import type { IceCandidatePairStats } from '${SRC}/ice/ice-agent.js';

const a = new IceAgent({ addresses: ['127.0.0.1'], mdns: false });
const b = new IceAgent({ addresses: ['127.0.0.1'], mdns: false, role: 'controlled' });
a.addEventListener('icecandidate', (e) => void b.addRemoteCandidate(e.candidate));
b.onicecandidate = (e) => void a.addRemoteCandidate(e.candidate);
b.addEventListener('data', (e) => {
  const text: string = new TextDecoder().decode(e.data);
  void text;
});
a.onicecandidateerror = function (e) {
  const self: IceAgent = this;
  void [self.state, e.url, e.errorCode, e.errorText];
};
a.addEventListener('data', (e) => {
  // @ts-expect-error a data event's payload is bytes, not text
  const text: string = e.data;
  void text;
});
// A DOM-shaped init without lib.dom: RTCIceCandidateInit's fields, candidate optional.
const init: { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null } = { sdpMid: '0' };

async function run(): Promise<void> {
  await a.setRemoteParameters(b.localParameters);
  await b.setRemoteParameters(a.localParameters);
  await Promise.all([a.gather(), b.gather()]);
  const taken: boolean = await a.addRemoteCandidate(init);
  const stats: IceCandidatePairStats[] = await a.getStats();
  const restarted: { usernameFragment: string; password: string } = await a.restart();
  void [taken, stats, restarted];
  await a.addRemoteCandidate(null).catch((err: unknown) => void err);
  await Promise.all([a.close(), b.close()]);
}
void run();
`;

describe('the typed API under strict application flags', () => {
  it('a page (lib.dom, bundler resolution): no casts needed, and the @ts-expect-error lines are errors', () => {
    assert.deepEqual(check('page.ts', PAGE, { lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'], types: [] }), []);
  });

  it('a Node app (no lib.dom, @types/node): the same', () => {
    const typeRoots = [resolve(import.meta.dirname, '../../node_modules/@types')];
    assert.deepEqual(check('node.ts', NODE, { lib: ['lib.es2022.d.ts'], types: ['node'], typeRoots }), []);
  });
});
