// What a datagram that reaches the agent is: a check (inbound-check.ts), the response to one of ours
// (check-response.ts), or application data — accepted only on a pair the peer has proven itself on.
import type { DatagramSource } from '../net/engine.js';
import type { TransportAddress } from '../net/transport-address.js';
import { classifyDatagram } from '../stun/classify.js';
import { StunMethod } from '../stun/constants.js';
import { decodeStunOrUndefined } from '../stun/decode.js';
import type { IceAgentCounters } from './agent-options.js';
import type { IceCandidate } from './candidate.js';
import { handleCheckResponse, type ResponseContext } from './check-response.js';
import { answerCheck, type InboundContext } from './inbound-check.js';

/** What sorting and accepting datagrams needs of the agent. */
export interface DatagramContext extends InboundContext, ResponseContext {
  readonly counters: IceAgentCounters;
}

/** Hands `bytes` to what handles it; true if it was a Binding message (checks may have to go out, the state may change). */
export function receiveDatagram(ctx: DatagramContext, bytes: Uint8Array, source: DatagramSource, now: number): boolean {
  if (classifyDatagram(bytes) !== 'stun') {
    receiveData(ctx, bytes, source, now);
    return false;
  }
  const message = decodeStunOrUndefined(bytes);
  if (!message) {
    ctx.counters.malformed++;
    return false;
  }
  if (message.method !== StunMethod.Binding) {
    ctx.counters.malformed++;
    return false;
  }
  if (message.class === 'request') answerCheck(ctx, message, source, now);
  else if (message.class === 'success' || message.class === 'error') handleCheckResponse(ctx, message, source, now);
  // Binding indications are keepalives (§11): nothing to do.
  return true;
}

function receiveData(ctx: DatagramContext, bytes: Uint8Array, source: DatagramSource, now: number): void {
  // The selected pair first: during a restart a new, unchecked pair with the same addresses exists (§9).
  const selected = ctx.selectedPair;
  const pair = selected && selected.local.socket === source.socket && sameAddress(selected.remote, source.from) ? selected : ctx.checklist.find(source.socket, source.from);
  // §12.2 / RFC 7675: data only from a peer that has proven it holds the credentials.
  if (!pair || (!pair.valid && pair.stats.requestsReceived === 0)) {
    ctx.counters.unexpectedData++;
    return;
  }
  pair.stats.packetsReceived++;
  pair.stats.bytesReceived += bytes.length;
  pair.stats.lastPacketReceivedTimestamp = now;
  ctx.emit({ type: 'data', data: bytes, pair });
  ctx.heardFrom(pair, now, true);
}

function sameAddress(c: IceCandidate, t: TransportAddress): boolean {
  return c.address === t.address && c.port === t.port;
}
