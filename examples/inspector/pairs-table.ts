// The live candidate-pair table of a connection, from getStats() (RTCIceCandidatePairStats-like records):
// local and remote candidate, state, nominated, RTT, checks and responses sent/received, bytes; the selected
// pair highlighted, as chrome://webrtc-internals does.
import type { IceCandidatePairStats } from 'icebridge/worker';
import { h } from '../shared/dom.js';
import { hostPort } from './candidate-line.js';

function endpoint(c: Record<string, unknown>): HTMLElement {
  const type = String(c.type ?? '?');
  return h('td', {}, h('span', { class: `badge ${type}` }, type), ' ', h('span', { class: 'mono' }, hostPort(String(c.address ?? '?'), Number(c.port))));
}

function pairRow(s: IceCandidatePairStats): HTMLTableRowElement {
  const rtt = s.currentRoundTripTime === undefined ? '—' : (s.currentRoundTripTime * 1000).toFixed(1);
  return h(
    'tr',
    { class: s.selected ? 'selected' : undefined, 'data-state': s.state, 'data-selected': s.selected ? 'true' : undefined },
    endpoint(s.local),
    endpoint(s.remote),
    h('td', {}, h('span', { class: `state ${s.state}` }, s.state), s.selected ? h('span', { class: 'badge selected' }, 'selected') : null),
    h('td', {}, s.nominated ? '✓ yes' : '—'),
    h('td', { class: 'num' }, rtt),
    h('td', { class: 'num' }, `${s.requestsSent} / ${s.requestsReceived}`),
    h('td', { class: 'num' }, `${s.responsesSent} / ${s.responsesReceived}`),
    h('td', { class: 'num' }, `${s.bytesSent} / ${s.bytesReceived}`),
  );
}

/** Pairs in checklist order (highest priority first); priorities are 64-bit, compared as bigint. */
export function renderPairs(tbody: HTMLTableSectionElement, stats: IceCandidatePairStats[], empty = 'No candidate pairs yet.'): void {
  const sorted = [...stats].sort((a, b) => {
    const d = BigInt(b.priority) - BigInt(a.priority);
    return d > 0n ? 1 : d < 0n ? -1 : 0;
  });
  tbody.replaceChildren(...(sorted.length ? sorted.map(pairRow) : [h('tr', { class: 'empty' }, h('td', { colspan: '8' }, empty))]));
}
