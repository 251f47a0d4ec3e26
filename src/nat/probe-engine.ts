// The sans-I/O engine under NAT behaviour discovery: Binding transactions over several sockets at once,
// where a response may come from another address than the request went to (CHANGE-REQUEST, RFC 5780
// §7.2) and arrive on another socket (RESPONSE-PORT, §7.5) — so, unlike StunClient's own handleDatagram,
// responses are matched by transaction ID alone (96 random bits, RFC 8489 §5) and each result says where
// and on which socket its response arrived. Binding requests that arrive are reported too: a hairpin probe
// (RFC 5780 §3.4) looks for its own request.
import type { DestinationUnreachableError } from '../net/datagram-socket.js';
import type { DatagramSource, Engine, SocketId, Transmit } from '../net/engine.js';
import { Queue } from '../net/engine.js';
import type { TransportAddress } from '../net/transport-address.js';
import { classifyDatagram } from '../stun/classify.js';
import { StunClient } from '../stun/client.js';
import { StunMethod } from '../stun/constants.js';
import { decodeStunMessage } from '../stun/decode.js';
import { encodeStunMessage } from '../stun/encode.js';
import { StunParseError } from '../stun/errors.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import type { TransactionOptions } from '../stun/transactions.js';

export type ProbeOutcome =
  | { kind: 'success'; response: StunMessage; from: TransportAddress; socket: SocketId; rttMs: number }
  | { kind: 'error'; code: number; reason: string; response: StunMessage; from: TransportAddress; socket: SocketId }
  | { kind: 'timeout'; sends: number }
  /** The way to the server is refused (the bridge's policy or rate limit): the probe ended at once. */
  | { kind: 'unreachable'; error: DestinationUnreachableError };

export type ProbeEvent =
  | { type: 'result'; probe: number; outcome: ProbeOutcome }
  /** A Binding request arrived (a hairpinned probe of ours, or a stranger's). */
  | { type: 'request'; socket: SocketId; from: TransportAddress; transactionId: Uint8Array };

export class NatProbeEngine implements Engine<ProbeEvent> {
  private readonly client: StunClient<number>;
  private readonly events = new Queue<ProbeEvent>();
  private readonly loose = new Queue<Transmit>();
  private readonly transactionIds = new Map<number, Uint8Array>();
  private arrival: DatagramSource | undefined;
  private nextProbe = 1;
  /** Datagrams that were not STUN or did not decode. */
  dropped = 0;

  constructor(options: TransactionOptions = {}) {
    this.client = new StunClient<number>(options);
  }

  /** Starts a Binding transaction from `socket` to `to`; its outcome comes as a 'result' event with the returned id. */
  bind(to: TransportAddress, socket: SocketId, attributes: StunAttributeEntry[], now: number): number {
    const probe = this.nextProbe++;
    const request = createStunMessage({ method: StunMethod.Binding, class: 'request', attributes });
    this.transactionIds.set(probe, request.transactionId);
    // FINGERPRINT: RFC 5780 §5 SHOULD when multiplexed with application traffic; harmless otherwise.
    this.client.request(request, to, socket, now, probe, { fingerprint: true });
    return probe;
  }

  /**
   * Sends one Binding request that is not a transaction (nothing waits for its response): a hairpin probe,
   * looked for as a 'request' event. Returns its transaction ID.
   */
  sendRequest(to: TransportAddress, socket: SocketId): Uint8Array {
    const request = createStunMessage({ method: StunMethod.Binding, class: 'request' });
    this.loose.push({ socket, to, bytes: encodeStunMessage(request, { fingerprint: true }) });
    return request.transactionId;
  }

  /** Stops a transaction without a result (the caller gave up on it). */
  cancel(probe: number): void {
    const id = this.transactionIds.get(probe);
    if (id === undefined) return;
    this.transactionIds.delete(probe);
    this.client.cancel(id);
  }

  handleDatagram(bytes: Uint8Array, source: DatagramSource, now: number): void {
    if (classifyDatagram(bytes) !== 'stun') {
      this.dropped++;
      return;
    }
    let message: StunMessage;
    try {
      message = decodeStunMessage(bytes);
    } catch (err) {
      if (!(err instanceof StunParseError)) throw err;
      this.dropped++;
      return;
    }
    if (message.class === 'request') {
      if (message.method === StunMethod.Binding) {
        this.events.push({ type: 'request', socket: source.socket, from: source.from, transactionId: message.transactionId });
      }
      return;
    }
    this.arrival = source;
    this.client.handleResponse(message, undefined, now);
    this.drain();
    this.arrival = undefined;
  }

  handleTimeout(now: number): void {
    this.client.handleTimeout(now);
    this.drain();
  }

  /** Ends the probes sent from that socket to the refused destination with an 'unreachable' outcome. */
  handleUnreachable(error: DestinationUnreachableError, source: DatagramSource, now: number): void {
    this.client.handleUnreachable(error, source, now);
    this.drain();
  }

  pollTransmit(): Transmit | undefined {
    return this.client.pollTransmit() ?? this.loose.shift();
  }

  pollTimeout(): number | undefined {
    return this.client.pollTimeout();
  }

  pollEvent(): ProbeEvent | undefined {
    return this.events.shift();
  }

  /** Turns the StunClient's results into ours, with where the response arrived. */
  private drain(): void {
    for (let e = this.client.pollEvent(); e !== undefined; e = this.client.pollEvent()) {
      const probe = e.context;
      if (!this.transactionIds.delete(probe)) continue;
      const r = e.result;
      const at = this.arrival;
      let outcome: ProbeOutcome;
      if (r.kind === 'timeout') outcome = { kind: 'timeout', sends: r.sends };
      else if (r.kind === 'unreachable') outcome = { kind: 'unreachable', error: r.error };
      else if (at === undefined) continue;
      else if (r.kind === 'success') outcome = { kind: 'success', response: r.response, from: at.from, socket: at.socket, rttMs: r.rttMs };
      else {
        const error = r.response.get('ERROR-CODE');
        outcome = { kind: 'error', code: error?.code ?? 0, reason: error?.reason ?? '', response: r.response, from: at.from, socket: at.socket };
      }
      this.events.push({ type: 'result', probe, outcome });
    }
  }
}
