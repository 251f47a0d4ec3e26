// The STUN/TURN server's counters as Prometheus text (format 0.0.4), for `icebridge serve`'s /metrics.
import type { TurnServer } from '../server/turn-server.js';

export function turnServerMetricsText(engine: TurnServer): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    lines.push(`# HELP icebridge_${name} ${help}`, `# TYPE icebridge_${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`icebridge_${name}${labels} ${value}`);
  };
  const stun = engine.stun.counters;
  const turn = engine.counters;
  metric('stun_datagrams_received_total', 'counter', 'Datagrams received on the STUN/TURN listening sockets.', [['', stun.received]]);
  metric('stun_binding_responses_total', 'counter', 'STUN success responses sent (Binding).', [['', stun.answered]]);
  metric('stun_bad_requests_total', 'counter', 'STUN 400 Bad Request responses sent.', [['', stun.badRequests]]);
  metric('stun_unknown_attribute_total', 'counter', 'STUN 420 Unknown Attribute responses sent.', [['', stun.unknownAttributes]]);
  metric('stun_indications_total', 'counter', 'Binding indications (keepalives) received.', [['', stun.indications]]);
  metric('stun_dropped_total', 'counter', 'Datagrams the STUN server dropped, by reason.', Object.entries(stun.dropped).map(([r, v]) => [`{reason="${r}"}`, v]));
  metric('turn_allocations_open', 'gauge', 'TURN allocations open now.', [['', engine.allocationCount]]);
  metric('turn_requests_total', 'counter', 'TURN requests received, by method.', Object.entries(turn.requests).map(([m, v]) => [`{method="${m}"}`, v]));
  metric('turn_allocations_total', 'counter', 'TURN allocation events, by outcome.', Object.entries(turn.allocations).map(([o, v]) => [`{event="${o}"}`, v]));
  metric('turn_error_responses_total', 'counter', 'TURN error responses sent, by code.', Object.entries(turn.errorResponses).map(([c, v]) => [`{code="${c}"}`, v]));
  metric('turn_relayed_packets_total', 'counter', 'Datagrams relayed, by direction.', [
    ['{direction="to-peer"}', turn.relayed.packetsToPeers],
    ['{direction="to-client"}', turn.relayed.packetsToClients],
  ]);
  metric('turn_relayed_bytes_total', 'counter', 'Bytes relayed, by direction.', [
    ['{direction="to-peer"}', turn.relayed.bytesToPeers],
    ['{direction="to-client"}', turn.relayed.bytesToClients],
  ]);
  metric('turn_dropped_total', 'counter', 'Datagrams the TURN server dropped, by reason.', Object.entries(turn.dropped).map(([r, v]) => [`{reason="${r}"}`, v]));
  return `${lines.join('\n')}\n`;
}
