// The W3C RTCIceTransportState of an agent, from what it knows (RFC 8445 §8.1.2, RFC 7675, RFC 8838 §14).
import type { IceTransportState } from './agent-options.js';
import type { ConsentStatus } from './consent.js';

export interface TransportFacts {
  current: IceTransportState;
  /** A pair is selected (nominated and valid). */
  selected: boolean;
  /** Consent on the selected pair, while it is being kept. */
  consent: ConsentStatus | undefined;
  /** Both sides have said end-of-candidates. */
  gatheringDone: boolean;
  /** The peer's parameters are known and there are pairs to check. */
  checking: boolean;
  /** No pair is left that could succeed. */
  hopeless: boolean;
  /** This agent runs checks (not lite) and knows the peer's parameters. */
  sendsChecks: boolean;
}

export function nextTransportState(f: TransportFacts): IceTransportState {
  if (f.current === 'closed') return 'closed';
  if (f.consent === 'expired') return 'failed';
  if (f.consent === 'disconnected') return 'disconnected';
  if (f.selected && f.current !== 'failed') return f.gatheringDone ? 'completed' : 'connected';
  if (f.selected) return f.current;
  if (f.hopeless && f.gatheringDone && f.sendsChecks) return 'failed';
  if (f.current === 'new' && f.checking) return 'checking';
  return f.current;
}
