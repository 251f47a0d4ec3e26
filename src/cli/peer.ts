// `icebridge peer`: one ICE agent whose signalling is a line protocol — its local description goes to stdout
// as RFC 8839 attribute lines (trickled), the peer's is read from stdin the same way, and what happens is
// written to stderr as JSON lines. Two peers joined by pipes connect; so does any agent that speaks the lines.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { candidateToJSON } from '../ice/candidate.js';
import type { IceAgent, IceAgentEventObject } from '../ice/ice-agent.js';
import { IceSdpError, parseIceAttributeLine } from '../ice/sdp.js';
import { createIceAgent, selectHostAddresses } from '../node/ice-agent.js';
import { lazyNodeMdns } from '../node/mdns-sockets.js';
import type { CliIO } from './main.js';
import { parsePeerArgs, type PeerOptions } from './peer-args.js';

/** How often --send repeats its text while no echo has come back (UDP may drop it). */
const RESEND_INTERVAL_MS = 500;

function errorJSON(code: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ event: 'error', code, message, ...extra });
}

/**
 * `input` is where the peer's lines come from; `output` is the stream behind `io.stdout`, watched for
 * errors only (EPIPE when the peer stops reading), so that they end the run instead of crashing it.
 */
export async function runPeer(args: string[], io: CliIO, input: Readable = process.stdin, output: Writable = process.stdout): Promise<number> {
  const options = parsePeerArgs(args); // a UsageError: main says which option, exit 2
  const addresses = options.addresses;
  const agent = createIceAgent({
    role: options.role,
    lite: options.lite,
    iceServers: options.iceServers,
    iceTransportPolicy: options.policy,
    addressFilter: addresses ? (a) => addresses.includes(a) : undefined,
    includeLinkLocal: addresses?.some((a) => /^fe[89ab]/i.test(a)) ?? false,
    tls: options.insecure ? { rejectUnauthorized: false } : undefined,
    mdnsHostCandidates: options.mdnsHostCandidates,
    candidateProtocols: options.candidateProtocols,
    gatherPolicy: options.gatherPolicy,
    networkPollIntervalMs: options.networkPollIntervalMs,
    mdns: lazyNodeMdns(() => selectHostAddresses({ addressFilter: addresses ? (a) => addresses.includes(a) : undefined }), { queryTimeoutMs: options.mdnsTimeoutMs }),
  });
  const session = new PeerSession(agent, options, io, input);
  // Left installed after the run: a write still in flight may fail after we are done.
  output.on('error', (err: Error) => session.outputFailed(err));
  return session.run();
}

/** One run: the agent, its signalling on stdin/stdout, and the rule for when it is done. */
class PeerSession {
  private resolveDone!: (code: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));
  private finished = false;
  private connected = false;
  private echoed = false;
  private inputEnded = false;
  private lineNumber = 0;
  private remote: { ufrag?: string; pwd?: string; lite: boolean; options: string[] } = { lite: false, options: [] };
  /** The parameters last given to the agent, to notice a restart (new ufrag/pwd) by the peer. */
  private applied: { ufrag: string; pwd: string } | undefined;
  private remoteEnded = false;
  private sentAt = 0;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private resend: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly agent: IceAgent,
    private readonly options: PeerOptions,
    private readonly io: CliIO,
    private readonly input: Readable,
  ) {}

  async run(): Promise<number> {
    const { agent, io } = this;
    this.deadline = setTimeout(() => this.fail('TIMEOUT', `not done after ${this.options.timeoutMs} ms (state ${agent.state})`), this.options.timeoutMs);
    agent.addEventListener('statechange', () => this.onState());
    agent.addEventListener('gatheringstatechange', () => this.event({ event: 'gathering', state: agent.gatheringState }));
    agent.addEventListener('selectedcandidatepairchange', () => this.onSelected());
    agent.addEventListener('icecandidate', (e) => {
      const c = (e as IceAgentEventObject).candidate;
      if (this.finished) return;
      io.stdout(c ? `a=${c.candidate}` : 'a=end-of-candidates');
    });
    agent.addEventListener('icecandidateerror', (e) => {
      const error = (e as IceAgentEventObject).error;
      if (error) this.event({ event: 'candidate-error', url: error.url, errorCode: error.errorCode, errorText: error.errorText, ...('address' in error ? { address: error.address } : {}) });
    });
    agent.addEventListener('data', (e) => this.onData((e as IceAgentEventObject).data));

    const local = agent.localParameters;
    io.stdout(`a=ice-ufrag:${local.usernameFragment}`);
    io.stdout(`a=ice-pwd:${local.password}`);
    io.stdout(`a=ice-options:${['trickle', ...(local.iceOptions ?? [])].join(' ')}`);
    if (this.options.lite) io.stdout('a=ice-lite');

    const lines = createInterface({ input: this.input, crlfDelay: Infinity });
    lines.on('line', (line) => this.onLine(line));
    lines.on('close', () => this.onInputEnd());
    agent.gather().catch((err: unknown) => this.fail('GATHER', err instanceof Error ? err.message : String(err)));

    const code = await this.done;
    clearTimeout(this.deadline);
    clearTimeout(this.resend);
    lines.close();
    // Stop reading: an open stdin would keep the process alive after we are done.
    this.input.destroy();
    agent.close();
    return code;
  }

  /** Our stdout broke: the peer can no longer hear us. */
  outputFailed(err: Error): void {
    this.fail('SIGNALLING', `cannot write to the peer: ${err.message}`);
  }

  private event(fields: Record<string, unknown>): void {
    if (!this.finished) this.io.stderr(JSON.stringify(fields));
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.event({ event: 'done', ok: code === 0, state: this.agent.state });
    this.finished = true;
    this.resolveDone(code);
  }

  private fail(code: string, message: string, extra: Record<string, unknown> = {}): void {
    if (this.finished) return;
    this.io.stderr(errorJSON(code, message, extra));
    this.finish(1);
  }

  /** Done when connected, plus: with --send, the echo came back; with --echo, the peer hung up (stdin ended). */
  private checkDone(): void {
    if (!this.connected) return;
    if (this.options.send !== undefined && !this.echoed) return;
    if (this.options.echo && !this.inputEnded) return;
    this.finish(0);
  }

  private onState(): void {
    const state = this.agent.state;
    this.event({ event: 'state', state });
    if (state === 'connected' || state === 'completed') {
      if (!this.connected) {
        this.connected = true;
        if (this.options.send !== undefined) this.sendText();
      }
      this.checkDone();
    } else if (state === 'failed') {
      this.fail('FAILED', 'ICE failed: no candidate pair works (or consent was lost)');
    } else if (state === 'closed') {
      this.fail('CLOSED', 'the agent closed');
    }
  }

  private onSelected(): void {
    const selected = this.agent.getSelectedCandidatePair();
    if (!selected) return;
    // getStats() settles at once (the Node agent does its work synchronously): the event keeps its place.
    void this.agent.getStats().then((all) => {
      const rtt = all.find((s) => s.selected)?.currentRoundTripTime;
      this.event({
        event: 'selected',
        local: candidateToJSON(selected.local),
        remote: candidateToJSON(selected.remote),
        rttMs: rtt === undefined ? null : Math.round(rtt * 1e6) / 1e3,
      });
    });
  }

  private sendText(): void {
    if (this.finished || this.echoed) return;
    const text = this.options.send!;
    if (this.sentAt === 0) this.sentAt = performance.now();
    if (this.agent.send(text)) this.event({ event: 'sent', text });
    this.resend = setTimeout(() => this.sendText(), RESEND_INTERVAL_MS);
  }

  private onData(data: Uint8Array | undefined): void {
    if (!data) return;
    const text = new TextDecoder().decode(data);
    this.event({ event: 'data', text, bytes: data.length });
    if (this.options.echo) this.agent.send(data.slice());
    if (this.options.send !== undefined && !this.echoed && text === this.options.send) {
      this.echoed = true;
      this.event({ event: 'echoed', text, rttMs: Math.round((performance.now() - this.sentAt) * 1e3) / 1e3 });
      this.checkDone();
    }
  }

  private onLine(raw: string): void {
    if (this.finished) return;
    const lineNumber = ++this.lineNumber;
    const line = raw.trim();
    if (line === '') return;
    if (!line.startsWith('a=')) {
      this.fail('SIGNALLING', `line ${this.lineNumber} is not an a= attribute line`, { line: raw.slice(0, 200) });
      return;
    }
    try {
      const parsed = parseIceAttributeLine(line, this.lineNumber);
      switch (parsed.kind) {
        case 'ufrag':
          this.remote.ufrag = parsed.value;
          break;
        case 'pwd':
          this.remote.pwd = parsed.value;
          break;
        case 'lite':
          this.remote.lite = true;
          break;
        case 'candidate':
          if (!this.applyParameters()) return;
          if (this.remoteEnded) throw new Error('a candidate after a=end-of-candidates');
          this.agent.addRemoteCandidate(parsed.candidate).catch((err: unknown) => this.signallingFailed(err, raw, lineNumber));
          break;
        case 'end-of-candidates':
          if (!this.applyParameters()) return;
          this.remoteEnded = true;
          this.agent.addRemoteCandidate(null).catch((err: unknown) => this.signallingFailed(err, raw, lineNumber));
          break;
        case 'options':
          this.remote.options.push(...parsed.values);
          break;
        case 'other':
          break; // other attributes (a=mid, …) say nothing to ICE
      }
    } catch (err) {
      this.signallingFailed(err, raw);
    }
  }

  private signallingFailed(err: unknown, raw: string, lineNumber = this.lineNumber): void {
    if (this.finished) return;
    const code = err instanceof IceSdpError ? `SDP_${err.code}` : 'SIGNALLING';
    this.fail(code, `remote line ${lineNumber}: ${err instanceof Error ? err.message : String(err)}`, { line: raw.slice(0, 200) });
  }

  /** Gives the agent the peer's ufrag/pwd before its first candidate, and again if they change (a restart). */
  private applyParameters(): boolean {
    const { ufrag, pwd, lite, options } = this.remote;
    if (ufrag === undefined || pwd === undefined) {
      this.fail('SIGNALLING', `remote line ${this.lineNumber}: a candidate before a=ice-ufrag and a=ice-pwd`);
      return false;
    }
    if (this.applied?.ufrag !== ufrag || this.applied.pwd !== pwd) {
      this.applied = { ufrag, pwd };
      this.remoteEnded = false;
      const line = this.lineNumber;
      this.agent.setRemoteParameters({ usernameFragment: ufrag, password: pwd, iceLite: lite, iceOptions: options }).catch((err: unknown) => this.signallingFailed(err, `a=ice-ufrag:${ufrag}`, line));
    }
    return true;
  }

  /** The peer's description ended: no more candidates; with --echo, the peer is done. */
  private onInputEnd(): void {
    if (this.finished) return;
    this.inputEnded = true;
    if (!this.applied && (this.remote.ufrag === undefined || this.remote.pwd === undefined)) {
      this.fail('SIGNALLING', 'stdin ended before the peer sent a=ice-ufrag and a=ice-pwd');
      return;
    }
    if (!this.remoteEnded && this.applyParameters()) {
      this.remoteEnded = true;
      void this.agent.addRemoteCandidate(null).catch((err: unknown) => this.signallingFailed(err, ''));
    }
    this.checkDone();
  }
}
