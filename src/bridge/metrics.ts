// The bridge's counters, and their Prometheus text exposition (format 0.0.4). Directions are seen from the
// client: `out` is client → UDP, `in` is UDP → client.

export type DropReason =
  | 'destination-denied'
  | 'invalid-destination'
  | 'rate-limited'
  | 'payload-too-large'
  | 'unknown-socket'
  | 'family-mismatch'
  | 'backpressure'
  /** The kernel's: the UDP socket's receive buffer was full (read from the OS by the driver; Linux only). */
  | 'receive-buffer'
  /** The OS refused to send it. */
  | 'send-failed'
  /** Waited in the bridge longer than maxQueueDelayMs (either way): dropped rather than delivered late. */
  | 'queue-delay'
  /** Still queued toward the client when its session ended. */
  | 'session-closed';

export type RefusalReason =
  | 'unauthorized'
  | 'credential-expired'
  | 'origin-not-allowed'
  | 'too-many-sessions'
  /** A TCP connection over maxPendingConnections (not yet upgraded), destroyed when accepted. */
  | 'too-many-pending'
  /** A TCP connection over maxPendingConnectionsPerIp from its address. */
  | 'too-many-pending-per-ip'
  | 'socket-limit'
  | 'bind-port-not-allowed'
  | 'bind-failed'
  /** A connected socket's peer (`bind` with `connect`) that the destination policy refuses. */
  | 'destination-denied'
  | 'invalid-destination';

/** How a name lookup ended (protocol v2 `resolve`). */
export type LookupOutcome =
  | 'answered'
  | 'cached'
  | 'name-not-found'
  | 'resolve-timeout'
  | 'resolve-failed'
  | 'destination-denied'
  | 'rate-limited'
  | 'not-supported';

export interface BridgeMetricsSnapshot {
  sessionsOpen: number;
  sessionsTotal: number;
  socketsOpen: number;
  socketsTotal: number;
  datagramsOut: number;
  datagramsIn: number;
  bytesOut: number;
  bytesIn: number;
  malformedFrames: number;
  errorFramesSent: number;
  errorFramesSuppressed: number;
  drops: Partial<Record<DropReason, number>>;
  refusals: Partial<Record<RefusalReason, number>>;
  lookups: Partial<Record<LookupOutcome, number>>;
  answersDenied: number;
  streamsOpen: number;
  streamsTotal: number;
  streamBytesOut: number;
  streamBytesIn: number;
  streamPauses: number;
  streamFlowControlErrors: number;
  streamRefusals: Record<string, number>;
  listenersOpen: number;
  listenersTotal: number;
  streamsAccepted: number;
}

export class BridgeMetrics {
  sessionsOpen = 0;
  sessionsTotal = 0;
  socketsOpen = 0;
  socketsTotal = 0;
  datagramsOut = 0;
  datagramsIn = 0;
  bytesOut = 0;
  bytesIn = 0;
  malformedFrames = 0;
  errorFramesSent = 0;
  errorFramesSuppressed = 0;
  /** DNS answers removed by the destination policy before the client saw them. */
  answersDenied = 0;
  streamsOpen = 0;
  streamsTotal = 0;
  streamBytesOut = 0;
  streamBytesIn = 0;
  /** Times a stream's TCP socket stopped being read: the client granted no more credit, or its carrier queue was full. */
  streamPauses = 0;
  streamFlowControlErrors = 0;
  /** TCP listeners open now (`listen` frames), and opened. */
  listenersOpen = 0;
  listenersTotal = 0;
  /** Connections a listener took in as streams (refused ones count in streamRefusals). */
  streamsAccepted = 0;
  private readonly lookups = new Map<LookupOutcome, number>();
  private readonly streamRefusals = new Map<string, number>();
  private readonly drops = new Map<DropReason, number>();
  private readonly refusals = new Map<RefusalReason, number>();

  drop(reason: DropReason, count = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + count);
  }

  refuse(reason: RefusalReason): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  lookup(outcome: LookupOutcome): void {
    this.lookups.set(outcome, (this.lookups.get(outcome) ?? 0) + 1);
  }

  /** A connect or listen that did not become a stream or listener (or a connection a listener refused), by code. */
  streamRefusal(code: string): void {
    this.streamRefusals.set(code, (this.streamRefusals.get(code) ?? 0) + 1);
  }

  snapshot(): BridgeMetricsSnapshot {
    return {
      sessionsOpen: this.sessionsOpen,
      sessionsTotal: this.sessionsTotal,
      socketsOpen: this.socketsOpen,
      socketsTotal: this.socketsTotal,
      datagramsOut: this.datagramsOut,
      datagramsIn: this.datagramsIn,
      bytesOut: this.bytesOut,
      bytesIn: this.bytesIn,
      malformedFrames: this.malformedFrames,
      errorFramesSent: this.errorFramesSent,
      errorFramesSuppressed: this.errorFramesSuppressed,
      drops: Object.fromEntries(this.drops),
      refusals: Object.fromEntries(this.refusals),
      lookups: Object.fromEntries(this.lookups),
      answersDenied: this.answersDenied,
      streamsOpen: this.streamsOpen,
      streamsTotal: this.streamsTotal,
      streamBytesOut: this.streamBytesOut,
      streamBytesIn: this.streamBytesIn,
      streamPauses: this.streamPauses,
      streamFlowControlErrors: this.streamFlowControlErrors,
      streamRefusals: Object.fromEntries(this.streamRefusals),
      listenersOpen: this.listenersOpen,
      listenersTotal: this.listenersTotal,
      streamsAccepted: this.streamsAccepted,
    };
  }

  /** Prometheus text: one HELP/TYPE block per metric, labels for direction and reason. */
  text(): string {
    return bridgeMetricsText([{ snapshot: this.snapshot() }]);
  }
}

/** One carrier's counters, and the `carrier` label its samples get (none: unlabelled, as with one carrier). */
export interface CarrierSnapshot {
  carrier?: string;
  snapshot: BridgeMetricsSnapshot;
}

/**
 * The Prometheus text of one or more carriers' counters (`carrier="websocket"|"webtransport"`): one HELP/TYPE
 * block per metric with every carrier's samples in it, as the exposition format requires.
 */
export function bridgeMetricsText(carriers: readonly CarrierSnapshot[]): string {
  const lines: string[] = [];
  type Sample = [labels: string, value: number];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: (m: BridgeMetricsSnapshot) => Sample[]) => {
    lines.push(`# HELP icebridge_bridge_${name} ${help}`, `# TYPE icebridge_bridge_${name} ${type}`);
    for (const c of carriers) {
      for (const [labels, value] of samples(c.snapshot)) lines.push(`icebridge_bridge_${name}${withCarrier(labels, c.carrier)} ${value}`);
    }
  };
  const by = (record: Partial<Record<string, number>>, label: string): Sample[] => Object.entries(record).map(([r, v]) => [`{${label}="${r}"}`, v ?? 0]);
  metric('sessions_open', 'gauge', 'Bridge sessions open now.', (m) => [['', m.sessionsOpen]]);
  metric('sessions_total', 'counter', 'Bridge sessions accepted.', (m) => [['', m.sessionsTotal]]);
  metric('sockets_open', 'gauge', 'UDP sockets open now.', (m) => [['', m.socketsOpen]]);
  metric('sockets_total', 'counter', 'UDP sockets opened.', (m) => [['', m.socketsTotal]]);
  metric('datagrams_total', 'counter', 'Datagrams forwarded; out = client to UDP, in = UDP to client.', (m) => [
    ['{direction="out"}', m.datagramsOut],
    ['{direction="in"}', m.datagramsIn],
  ]);
  metric('bytes_total', 'counter', 'Payload bytes forwarded; out = client to UDP, in = UDP to client.', (m) => [
    ['{direction="out"}', m.bytesOut],
    ['{direction="in"}', m.bytesIn],
  ]);
  metric('drops_total', 'counter', 'Datagrams dropped, by reason.', (m) => by(m.drops, 'reason'));
  metric('refusals_total', 'counter', 'Sessions and binds refused, by reason.', (m) => by(m.refusals, 'reason'));
  metric('malformed_frames_total', 'counter', 'Frames from clients that did not decode.', (m) => [['', m.malformedFrames]]);
  metric('error_frames_total', 'counter', 'Error frames sent, and suppressed by the error frame rate limit.', (m) => [
    ['{outcome="sent"}', m.errorFramesSent],
    ['{outcome="suppressed"}', m.errorFramesSuppressed],
  ]);
  metric('lookups_total', 'counter', 'Name lookups (resolve frames), by outcome.', (m) => by(m.lookups, 'outcome'));
  metric('answers_denied_total', 'counter', 'DNS answers removed by the destination policy.', (m) => [['', m.answersDenied]]);
  metric('streams_open', 'gauge', 'TCP/TLS streams open now.', (m) => [['', m.streamsOpen]]);
  metric('streams_total', 'counter', 'TCP/TLS streams opened.', (m) => [['', m.streamsTotal]]);
  metric('stream_bytes_total', 'counter', 'Stream bytes carried; out = client to TCP, in = TCP to client.', (m) => [
    ['{direction="out"}', m.streamBytesOut],
    ['{direction="in"}', m.streamBytesIn],
  ]);
  metric('stream_pauses_total', 'counter', 'Times a stream stopped reading its TCP socket: the client granted no more credit, or its carrier queue was full.', (m) => [['', m.streamPauses]]);
  metric('stream_flow_control_errors_total', 'counter', 'Streams ended because the client sent beyond its credit.', (m) => [['', m.streamFlowControlErrors]]);
  metric('stream_refusals_total', 'counter', 'Connects, listens and incoming connections that did not become streams or listeners, by code.', (m) => by(m.streamRefusals, 'reason'));
  metric('listeners_open', 'gauge', 'TCP listeners open now.', (m) => [['', m.listenersOpen]]);
  metric('listeners_total', 'counter', 'TCP listeners opened.', (m) => [['', m.listenersTotal]]);
  metric('streams_accepted_total', 'counter', 'Incoming TCP connections a listener took in as streams.', (m) => [['', m.streamsAccepted]]);
  return `${lines.join('\n')}\n`;
}

function withCarrier(labels: string, carrier: string | undefined): string {
  if (carrier === undefined) return labels;
  const label = `carrier="${carrier}"`;
  return labels === '' ? `{${label}}` : `{${label},${labels.slice(1)}`;
}
