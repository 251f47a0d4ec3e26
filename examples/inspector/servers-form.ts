// The ICE servers form, like RTCConfiguration.iceServers: one row per server (URL, username, credential),
// prefilled with the server's own STUN and TURN from /config.json, rows added and removed at will; and the
// transport policy (all / relay).
import type { IceServerConfig, IceTransportPolicy } from 'icebridge/worker';
import { element } from '../shared/dom.js';

export class ServersForm {
  private defaults: IceServerConfig[] = [];
  private readonly rows: HTMLTableSectionElement;
  private readonly template: HTMLTemplateElement;

  constructor(private readonly form: HTMLFormElement) {
    this.rows = element<HTMLTableSectionElement>('#server-rows', form);
    this.template = element<HTMLTemplateElement>('#server-row');
    element('#add-server', form).addEventListener('click', () => this.addRow().querySelector('input')?.focus());
    element('#reset-servers', form).addEventListener('click', () => this.fill(this.defaults));
    this.rows.addEventListener('click', (e) => {
      const button = (e.target as Element).closest('button.remove');
      button?.closest('tr')?.remove();
    });
  }

  /** The server's own servers: shown now and restored by "Reset". */
  setDefaults(servers: IceServerConfig[]): void {
    this.defaults = servers;
    this.fill(servers);
  }

  /** The servers as entered; rows without a URL are left out. */
  servers(): IceServerConfig[] {
    const out: IceServerConfig[] = [];
    for (const row of this.rows.rows) {
      const value = (name: string) => element<HTMLInputElement>(`input[name=${name}]`, row).value.trim();
      const urls = value('urls');
      if (urls === '') continue;
      const server: IceServerConfig = { urls };
      if (value('username') !== '') server.username = value('username');
      if (value('credential') !== '') server.credential = value('credential');
      out.push(server);
    }
    return out;
  }

  policy(): IceTransportPolicy {
    return (new FormData(this.form).get('policy') as IceTransportPolicy | null) ?? 'all';
  }

  private fill(servers: IceServerConfig[]): void {
    this.rows.replaceChildren();
    for (const server of servers) {
      for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) this.addRow({ ...server, urls: url });
    }
    if (servers.length === 0) this.addRow();
  }

  private addRow(server?: IceServerConfig): HTMLTableRowElement {
    const row = (this.template.content.cloneNode(true) as DocumentFragment).querySelector('tr')!;
    const set = (name: string, value: string | undefined) => (element<HTMLInputElement>(`input[name=${name}]`, row).value = value ?? '');
    set('urls', typeof server?.urls === 'string' ? server.urls : '');
    set('username', server?.username);
    set('credential', server?.credential);
    this.rows.append(row);
    return row;
  }
}
