// The STUN/TURN server's counters as Prometheus text (format 0.0.4), for `icebridge serve`'s /metrics.
import type { TurnServer } from '../server/turn-server.js';
import type { TurnStreamListeners } from './turn-stream-listener.js';

/** `streams`: the TCP/TLS listeners, when they run (their connection gauges and counters). */
export function turnServerMetricsText(engine: TurnServer, streams?: TurnStreamListeners): string {
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
  metric('turn_reservations_open', 'gauge', 'TURN port reservations (EVEN-PORT R=1) held now.', [['', engine.reservationCount]]);
  metric('turn_reservations_total', 'counter', 'TURN port reservation events, by outcome.', Object.entries(turn.reservations).map(([o, v]) => [`{event="${o}"}`, v]));
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
  if (streams !== undefined) {
    const c = streams.counters;
    metric('turn_connections_open', 'gauge', 'TCP/TLS client connections open now, by transport.', [
      ['{transport="tcp"}', streams.openConnections('tcp')],
      ['{transport="tls"}', streams.openConnections('tls')],
    ]);
    metric('turn_connections_accepted_total', 'counter', 'TCP/TLS client connections accepted, by transport.', [
      ['{transport="tcp"}', c.accepted.tcp],
      ['{transport="tls"}', c.accepted.tls],
    ]);
    metric('turn_connections_closed_total', 'counter', 'TCP/TLS client connections refused or closed by the server, by reason.', [
      ['{reason="max-connections"}', c.refused.maxConnections],
      ['{reason="max-connections-per-ip"}', c.refused.maxConnectionsPerIp],
      ['{reason="idle"}', c.idleClosed],
      ['{reason="tls-handshake-failed"}', c.tlsHandshakeFailed],
      ['{reason="tls-handshake-timeout"}', c.tlsHandshakeTimedOut],
      ['{reason="framing-error"}', c.framingErrors],
    ]);
    metric('turn_stream_dropped_sends_total', 'counter', 'Messages to TCP/TLS clients dropped whole because the write queue was full.', [['', streams.droppedSends]]);
  }
  return `${lines.join('\n')}\n`;
}
