// The status area: what the page is doing, and every error (bridge refusals, icecandidateerror, failures)
// in plain words, newest last.
import { h } from '../shared/dom.js';

export type StatusKind = 'info' | 'ok' | 'error';

export class StatusLog {
  constructor(private readonly area: HTMLElement) {}

  clear(): void {
    this.area.replaceChildren();
  }

  add(kind: StatusKind, text: string): void {
    this.area.append(h('p', { class: kind }, text));
    this.area.scrollTop = this.area.scrollHeight;
  }

  info(text: string): void {
    this.add('info', text);
  }

  ok(text: string): void {
    this.add('ok', text);
  }

  error(text: string): void {
    this.add('error', text);
  }
}
