// The live candidates table, as they trickle in: type, protocol, address, port, priority (with its RFC 8445
// parts), foundation, related address and when it was found; then an end-of-candidates row with the
// gathering time, like the WebRTC samples' Trickle ICE page.
import { element, h } from '../shared/dom.js';
import { hostPort, parseCandidateLine, priorityParts } from './candidate-line.js';

export class CandidatesTable {
  private readonly rows: HTMLTableSectionElement;
  private readonly summary: HTMLElement;
  private readonly counts = new Map<string, number>();
  private gatheringState = 'new';

  constructor(table: HTMLTableElement, summary: HTMLElement) {
    this.rows = element<HTMLTableSectionElement>('tbody', table);
    this.summary = summary;
  }

  reset(): void {
    this.counts.clear();
    this.rows.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: '8' }, 'No candidates yet.')));
    this.setGatheringState('new');
  }


  setGatheringState(state: string, detail = ''): void {
    this.gatheringState = state;
    const counts = [...this.counts].map(([type, n]) => `${n} ${type}`).join(' · ');
    this.summary.replaceChildren('gathering state: ', h('b', {}, state), counts ? ` · ${counts}` : '', detail ? ` · ${detail}` : '');
  }

  /** One trickled candidate, `ms` after Gather was pressed. */
  add(line: string, ms: number): void {
    const c = parseCandidateLine(line);
    if (!c) {
      this.append(h('tr', {}, h('td', { class: 'num' }, ms.toFixed(0)), h('td', { colspan: '7', class: 'mono' }, line)));
      return;
    }
    this.counts.set(c.type, (this.counts.get(c.type) ?? 0) + 1);
    const parts = priorityParts(c.priority);
    const row = h(
      'tr',
      { 'data-type': c.type, title: line },
      h('td', { class: 'num' }, ms.toFixed(0)),
      h('td', {}, h('span', { class: `badge ${c.type}` }, c.type)),
      h('td', {}, c.protocol + (c.tcpType ? ` (${c.tcpType})` : '')),
      h('td', { class: 'mono' }, c.address),
      h('td', { class: 'num mono' }, c.port),
      h('td', { class: 'num mono' }, c.priority, h('small', { title: 'type preference | local preference | component' }, `${parts.typePreference} | ${parts.localPreference} | ${parts.component}`)),
      h('td', { class: 'mono' }, c.foundation),
      h('td', { class: 'mono' }, c.relatedAddress !== undefined ? hostPort(c.relatedAddress, c.relatedPort) : '—'),
    );
    this.append(row);
    this.setGatheringState(this.gatheringState);
  }

  /** The null candidate: end of candidates, `ms` after Gather was pressed. */
  end(ms: number): void {
    const total = [...this.counts.values()].reduce((a, b) => a + b, 0);
    this.append(
      h('tr', { class: 'end' }, h('td', { class: 'num' }, ms.toFixed(0)), h('td', { colspan: '7' }, `end of candidates — ${total} candidate${total === 1 ? '' : 's'}, gathering took ${ms.toFixed(0)} ms`)),
    );
  }

  private append(row: HTMLTableRowElement): void {
    this.rows.querySelector('tr.empty')?.remove();
    this.rows.append(row);
  }
}
