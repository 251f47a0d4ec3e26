// One side of a two-peer room, the same in the chat page (a WorkerIceAgent through the bridge) and in the
// Node peer (an IceAgent over node:dgram): who is controlling (the peer that was in the room first), when
// to start ICE (both peers present), what to signal (parameters, then candidates as they trickle), and
// chat text over ICE data as UTF-8. It knows neither the runtime nor the socket: the caller hands it a
// way to make an agent and a way to send a signalling frame, and feeds it the frames that arrive.
import { describeError } from './errors.js';
import { KEEPALIVE_MS, parseSignal, type IceCandidateMessage, type PeerMessage } from './signaling.js';

type CandidateInit = IceCandidateMessage['candidate'];

/** The candidate fields the session reports (icebridge's IceCandidate has these and more). */
export interface PathEnd {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

/** What the session needs of an agent: the surface WorkerIceAgent (page) and IceAgent (Node) share. */
export interface SessionAgent extends EventTarget {
  readonly state: string;
  readonly localParameters: { usernameFragment: string; password: string };
  gather(): Promise<void>;
  setRemoteParameters(parameters: { usernameFragment: string; password: string }): unknown;
  addRemoteCandidate(candidate: CandidateInit): unknown;
  send(data: Uint8Array | string): boolean;
  getSelectedCandidatePair(): { local: PathEnd; remote: PathEnd } | null;
  close(): unknown;
}

export type SessionState = 'waiting' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface PeerSessionOptions {
  /** Makes the agent for one connection; called when both peers are in the room. */
  createAgent(role: 'controlling' | 'controlled'): Promise<SessionAgent>;
  /** Sends one text frame to the relay (which forwards it to the other peer). */
  signal(text: string): void;
  onstate?(state: SessionState, detail: string): void;
  onpath?(path: { local: PathEnd; remote: PathEnd } | null): void;
  onmessage?(text: string): void;
  /** The other peer came into the room or left it. */
  onpeer?(event: 'joined' | 'left'): void;
  /** What happened, for a log: signalling in and out, candidates, errors. */
  onlog?(line: string): void;
}

export class PeerSession {
  private agent: SessionAgent | undefined;
  /** Messages from the peer that arrived while the agent was being made; applied in order once it is. */
  private pending: PeerMessage[] | undefined;
  /** Bumped when the peer leaves, so an agent still being made for it is closed instead of used. */
  private generation = 0;
  private current: SessionState = 'waiting';
  private role: 'controlling' | 'controlled' = 'controlling';
  private readonly keepalive: ReturnType<typeof setInterval>;

  constructor(private readonly options: PeerSessionOptions) {
    // The relay closes a peer that is silent for long; a connected chat has nothing to signal.
    this.keepalive = setInterval(() => options.signal(JSON.stringify({ type: 'keepalive' })), KEEPALIVE_MS);
  }

  get state(): SessionState {
    return this.current;
  }

  /** A text frame from the relay. */
  receive(text: string): void {
    const message = parseSignal(text);
    if (!message) {
      this.log(`signalling: dropped a frame we do not understand (${text.slice(0, 80)})`);
      return;
    }
    switch (message.type) {
      case 'welcome':
        // The first peer in the room is controlling (the chat's rule; any fixed rule would do, RFC 8445 §6.1.1).
        this.role = message.peers === 0 ? 'controlling' : 'controlled';
        this.log(`signalling: joined the room (${message.peers === 0 ? 'first' : 'second'}); we will be ${this.role}`);
        if (message.peers > 0) this.start();
        else this.setState('waiting', 'waiting for the other peer to join the room');
        return;
      case 'peer-joined':
        this.role = 'controlling';
        this.log('signalling: the other peer joined');
        this.options.onpeer?.('joined');
        this.start();
        return;
      case 'peer-left':
        this.log('signalling: the other peer left');
        this.options.onpeer?.('left');
        this.stop();
        this.role = 'controlling';
        this.setState('waiting', 'the other peer left; waiting for someone to join');
        return;
      case 'error':
        this.setState('failed', `signalling: ${message.message}`);
        return;
      case 'keepalive':
        return;
      default:
        // The peer may be quicker than the relay's peer-joined reaches us: its first message starts us.
        if (!this.agent && !this.pending) this.start();
        if (this.pending) this.pending.push(message);
        else void this.apply(message);
    }
  }

  /** Sends chat text over ICE data; false when there is no connection to send it on. */
  send(text: string): boolean {
    return this.agent?.send(text) ?? false;
  }

  /** Closes the agent (the caller closes the signalling socket). */
  close(): void {
    if (this.current === 'closed') return;
    clearInterval(this.keepalive);
    this.generation++;
    this.agent?.close();
    this.agent = undefined;
    this.pending = undefined;
    this.setState('closed', 'closed');
  }

  private start(): void {
    if (this.agent || this.pending) return;
    const generation = ++this.generation;
    this.pending = [];
    this.setState('connecting', `connecting as ${this.role}`);
    void this.run(generation).catch((err: unknown) => {
      if (generation !== this.generation) return;
      this.setState('failed', describeError(err));
    });
  }

  private async run(generation: number): Promise<void> {
    const agent = await this.options.createAgent(this.role);
    if (generation !== this.generation) {
      agent.close();
      return;
    }
    this.agent = agent;
    this.listen(agent);
    const { usernameFragment, password } = agent.localParameters;
    this.options.signal(JSON.stringify({ type: 'params', usernameFragment, password }));
    const early = this.pending ?? [];
    this.pending = undefined;
    for (const message of early) await this.apply(message);
    await agent.gather();
  }

  private listen(agent: SessionAgent): void {
    agent.addEventListener('icecandidate', (e) => {
      const candidate = (e as Event & { candidate?: CandidateInit }).candidate ?? null;
      this.log(candidate ? `local candidate: ${candidate.candidate}` : 'local candidates: end');
      this.options.signal(JSON.stringify({ type: 'candidate', candidate }));
    });
    agent.addEventListener('icecandidateerror', (e) => {
      const error = (e as Event & { error?: { url: string; errorCode: number; errorText: string } }).error;
      if (error) this.log(`candidate error: ${error.url} ${error.errorCode} ${error.errorText}`);
    });
    agent.addEventListener('statechange', () => this.onAgentState(agent));
    agent.addEventListener('selectedcandidatepairchange', () => this.options.onpath?.(agent.getSelectedCandidatePair()));
    agent.addEventListener('data', (e) => {
      const data = (e as Event & { data?: Uint8Array }).data;
      if (data) this.options.onmessage?.(new TextDecoder().decode(data));
    });
  }

  private onAgentState(agent: SessionAgent): void {
    if (agent !== this.agent) return;
    switch (agent.state) {
      case 'checking':
        this.setState('connecting', 'checking candidate pairs');
        break;
      case 'connected':
      case 'completed':
        this.options.onpath?.(agent.getSelectedCandidatePair());
        this.setState('connected', `connected (${agent.state})`);
        break;
      case 'disconnected':
        this.setState('disconnected', 'no answer from the peer for a while (consent freshness); still trying');
        break;
      case 'failed':
        this.setState('failed', 'ICE failed: no candidate pair worked');
        break;
    }
  }

  private async apply(message: PeerMessage): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    try {
      if (message.type === 'params') {
        this.log('remote parameters received');
        await agent.setRemoteParameters({ usernameFragment: message.usernameFragment, password: message.password });
      } else {
        this.log(message.candidate ? `remote candidate: ${message.candidate.candidate}` : 'remote candidates: end');
        await agent.addRemoteCandidate(message.candidate);
      }
    } catch (err) {
      // A candidate the agent refuses is the peer's mistake: log it and carry on with the others.
      this.log(`refused a remote ${message.type}: ${describeError(err)}`);
    }
  }

  private stop(): void {
    this.generation++;
    this.agent?.close();
    this.agent = undefined;
    this.pending = undefined;
    this.options.onpath?.(null);
  }

  private setState(state: SessionState, detail: string): void {
    this.current = state;
    this.options.onstate?.(state, detail);
  }

  private log(line: string): void {
    this.options.onlog?.(line);
  }
}
