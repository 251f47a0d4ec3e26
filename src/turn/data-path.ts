// Application data through the relay (RFC 8656 §11, §12): out as ChannelData when a channel is bound to
// the peer, else as a Send indication; in from Data indications and ChannelData, each checked against the
// client's own view of its permissions and channels before it is delivered.
import type { TransportAddress } from '../net/transport-address.js';
import { StunEncodeError } from '../stun/errors.js';
import type { StunMessage } from '../stun/message.js';
import { ChannelDataError, decodeChannelData, encodeChannelData } from './channel-data.js';
import type { ChannelTable } from './channels.js';
import type { TurnClientCounters, TurnClientEvent, TurnSendResult } from './client-options.js';
import type { PermissionTable } from './permissions.js';
import { encodeSendIndication } from './requests.js';
import { sendPermission, type UpkeepHost } from './upkeep.js';

/** What the data path needs of the client engine. */
export interface DataPathHost {
  readonly channels: ChannelTable;
  readonly permissions: PermissionTable;
  readonly counters: TurnClientCounters;
  /** Data is delivered only while the allocation exists (allocated or being deleted). */
  readonly receiving: boolean;
  /** Queues bytes for the server. */
  transmit(bytes: Uint8Array): void;
  emit(event: TurnClientEvent): void;
}

/**
 * Sends to a peer of a relayed address's family: at once when a channel or permission is active, else
 * queued for its permission (bounded), whose CreatePermission is sent if none is in flight.
 */
export function sendOrQueue(host: DataPathHost & UpkeepHost, peer: TransportAddress, data: Uint8Array, now: number): TurnSendResult {
  const channel = host.channels.forPeer(peer);
  let permission = host.permissions.get(peer.address);
  if (channel?.state === 'active' || permission?.state === 'active') return transmitData(host, peer, data);
  permission ??= host.permissions.ensure(peer.address, peer.port);
  if (!permission) {
    host.counters.droppedSends++;
    return 'dropped';
  }
  if (!host.permissions.enqueue(permission, { peer, data })) {
    host.counters.queueOverflows++;
    return 'dropped';
  }
  if (!permission.inFlight) sendPermission(host, permission, now);
  return 'queued';
}

/** Sends to a peer whose permission is installed: ChannelData on an active channel (§12.5), else Send (§11.1). */
export function transmitData(host: DataPathHost, peer: TransportAddress, data: Uint8Array): TurnSendResult {
  const channel = host.channels.forPeer(peer);
  try {
    if (channel?.state === 'active') {
      host.transmit(encodeChannelData(channel.number, data));
      host.counters.sentChannelData++;
      return 'channel';
    }
    host.transmit(encodeSendIndication(peer, data));
    host.counters.sentIndications++;
    return 'indication';
  } catch (err) {
    // Too large for a ChannelData length or a STUN message: the datagram cannot go.
    if (!(err instanceof StunEncodeError) && !(err instanceof ChannelDataError)) throw err;
    host.counters.droppedSends++;
    return 'dropped';
  }
}

/** §12.6: ChannelData is delivered only on a channel bound (or being bound, §12) to a peer. */
export function receiveChannelData(host: DataPathHost, bytes: Uint8Array): void {
  let channel: number;
  let data: Uint8Array;
  try {
    ({ channel, data } = decodeChannelData(bytes));
  } catch (err) {
    if (!(err instanceof ChannelDataError)) throw err;
    host.counters.droppedChannelData++;
    return;
  }
  const binding = host.channels.byChannel(channel);
  if (!binding || binding.state === 'reserved' || !host.receiving) {
    host.counters.droppedChannelData++;
    return;
  }
  host.counters.receivedChannelData++;
  host.emit({ type: 'data', peer: binding.peer, data, channel });
}

/**
 * §11.4: a Data indication needs XOR-PEER-ADDRESS and DATA, and the peer's IP must be one the client holds
 * (or is asking for) a permission for. Indications with ICMP (§11.6) are counted, not delivered.
 */
export function receiveDataIndication(host: DataPathHost, message: StunMessage): void {
  const peer = message.get('XOR-PEER-ADDRESS');
  if (peer && message.has('ICMP')) {
    host.counters.icmpIndications++;
    return;
  }
  const data = message.get('DATA');
  if (!peer || !data || !host.receiving || !allowsFrom(host, peer)) {
    host.counters.droppedDataIndications++;
    return;
  }
  host.counters.receivedIndications++;
  host.emit({ type: 'data', peer, data });
}

function allowsFrom(host: DataPathHost, peer: TransportAddress): boolean {
  if (host.permissions.allows(peer.address)) return true;
  const channel = host.channels.forPeer(peer);
  return channel !== undefined && channel.state !== 'reserved';
}
