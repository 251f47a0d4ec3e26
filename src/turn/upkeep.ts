// Keeping an allocation's permissions and channels alive (RFC 8656 §9, §12): a CreatePermission or
// ChannelBind before each lapses, an expired permission forgotten, an expired channel reserved for 5 min.
import type { ChannelBinding, ChannelTable } from './channels.js';
import type { ResolvedTurnClientOptions, TurnClientEvent } from './client-options.js';
import type { Permission, PermissionTable } from './permissions.js';
import type { TurnRequest } from './requests.js';

/** What the upkeep needs of the client engine. */
export interface UpkeepHost {
  readonly options: ResolvedTurnClientOptions;
  readonly permissions: PermissionTable;
  readonly channels: ChannelTable;
  emit(event: TurnClientEvent): void;
  sendRequest(request: TurnRequest, now: number, authRetries: number): void;
}

export function sendPermission(host: UpkeepHost, permission: Permission, now: number): void {
  permission.inFlight = true;
  // §10.1: the port of XOR-PEER-ADDRESS is ignored; the first peer port seen is sent, not 0, for picky servers.
  host.sendRequest({ op: 'permission', ip: permission.ip, peer: { address: permission.ip, port: permission.port } }, now, 0);
}

export function sendChannelBind(host: UpkeepHost, binding: ChannelBinding, now: number): void {
  binding.inFlight = true;
  host.sendRequest({ op: 'channel', binding }, now, 0);
}

/** Refreshes what is due, forgets expired permissions and reserves expired channels. */
export function keepAlive(host: UpkeepHost, now: number): void {
  for (const p of [...host.permissions.values()]) {
    if (p.expiresAt !== undefined && now >= p.expiresAt) {
      host.permissions.remove(p);
      host.emit({ type: 'permission', peer: p.ip, result: 'expired' });
    } else if (!p.inFlight && p.refreshAt !== undefined && now >= p.refreshAt) {
      sendPermission(host, p, now);
    }
  }
  host.channels.purge(now);
  for (const b of [...host.channels.values()]) {
    if (b.state !== 'active') continue;
    if (b.expiresAt !== undefined && now >= b.expiresAt) {
      host.channels.reserve(b, now + host.options.channelReservationMs);
      host.emit({ type: 'channel', peer: b.peer, channel: b.number, result: 'expired' });
    } else if (!b.inFlight && b.refreshAt !== undefined && now >= b.refreshAt) {
      sendChannelBind(host, b, now);
    }
  }
}

/** The earliest of some deadlines, undefined if none is set. */
export function earliest(...times: (number | undefined)[]): number | undefined {
  let next: number | undefined;
  for (const t of times) if (t !== undefined && (next === undefined || t < next)) next = t;
  return next;
}
