// An Allocate that passed every check and waits for its relay sockets (step 2 of the relay protocol in
// turn-server.ts), and the check of what the driver answers with: one socket per requested family, an
// even port when asked, and with EVEN-PORT R=1 the reserved socket at the next port on the same address.
import type { Millis } from '../net/clock.js';
import type { DatagramSource, SocketId } from '../net/engine.js';
import { isIp } from '../net/ip.js';
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import type { RelayHalf, TurnAllocation } from './turn-allocation.js';
import type { TurnAuthContext } from './turn-auth.js';
import type { RequestRef } from './turn-responder.js';

/** A relay socket the driver opened and attached: its id and the address clients are told. */
export interface OpenedRelay {
  readonly socket: SocketId;
  readonly relayed: TransportAddress;
}

export interface PendingAllocation {
  readonly requestId: number;
  readonly key: string;
  readonly source: DatagramSource;
  readonly request: RequestRef;
  readonly transactionId: string;
  readonly auth: TurnAuthContext;
  readonly families: readonly AddressFamily[];
  readonly evenPort: boolean;
  readonly reserveNext: boolean;
  /** RFC 6062: a TCP allocation, its relay a listener (open-tcp-relay, turn-tcp-relay.ts). */
  readonly tcp?: boolean;
  readonly lifetimeS: number;
  readonly addressError: TurnAllocation['addressError'];
  readonly deadline: Millis;
}

function usableAddress(relayed: TransportAddress, family: AddressFamily): boolean {
  return (
    relayed !== null &&
    typeof relayed === 'object' &&
    typeof relayed.address === 'string' &&
    isIp(relayed.address) &&
    familyOf(relayed.address) === family &&
    Number.isInteger(relayed.port) &&
    relayed.port > 0 &&
    relayed.port < 65536
  );
}

export type OpenedCheck =
  | { readonly ok: true; readonly relays: RelayHalf[]; readonly reserved: OpenedRelay | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether the driver's answer fits the pending request. `opened` holds the sockets in the order of
 * `pending.families`; `inUse` tells a socket id already taken. On success the relays carry copies of the
 * addresses and expire at `expiresAt`.
 */
export function checkOpenedRelays(
  pending: PendingAllocation,
  opened: readonly OpenedRelay[],
  reserved: OpenedRelay | undefined,
  inUse: (socket: SocketId) => boolean,
  expiresAt: Millis,
): OpenedCheck {
  if (opened.length !== pending.families.length) return { ok: false, reason: `${opened.length} relay sockets for ${pending.families.length} families` };
  const ids = new Set<SocketId>();
  for (const relay of [...opened, ...(reserved === undefined ? [] : [reserved])]) {
    if (inUse(relay.socket) || ids.has(relay.socket)) return { ok: false, reason: `relay socket id ${relay.socket} is already in use` };
    ids.add(relay.socket);
  }
  const relays: RelayHalf[] = [];
  for (let i = 0; i < opened.length; i++) {
    const { socket, relayed } = opened[i];
    const family = pending.families[i];
    if (!usableAddress(relayed, family) || (pending.evenPort && relayed.port % 2 !== 0)) {
      return { ok: false, reason: 'relay socket does not have the requested properties' };
    }
    relays.push({ socket, relayed: { address: relayed.address, port: relayed.port }, family, expiresAt });
  }
  if (!pending.reserveNext) return { ok: true, relays, reserved: undefined };
  // RFC 8656 §7.2: "a pair of port numbers N and N+1 on the same IP address, where N is even".
  const first = relays[0].relayed;
  if (
    reserved === undefined ||
    !usableAddress(reserved.relayed, relays[0].family) ||
    reserved.relayed.address !== first.address ||
    reserved.relayed.port !== first.port + 1
  ) {
    return { ok: false, reason: 'no reserved relay socket at the next port (EVEN-PORT R=1)' };
  }
  return { ok: true, relays, reserved: { socket: reserved.socket, relayed: { address: reserved.relayed.address, port: reserved.relayed.port } } };
}

/** The Allocates waiting for their relay sockets, by request id and by 5-tuple. */
export class PendingTable {
  private readonly byId = new Map<number, PendingAllocation>();
  private readonly byKey = new Map<string, PendingAllocation>();

  get(requestId: number): PendingAllocation | undefined {
    return this.byId.get(requestId);
  }

  forKey(key: string): PendingAllocation | undefined {
    return this.byKey.get(key);
  }

  values(): PendingAllocation[] {
    return [...this.byId.values()];
  }

  add(pending: PendingAllocation): void {
    this.byId.set(pending.requestId, pending);
    this.byKey.set(pending.key, pending);
  }

  remove(pending: PendingAllocation): void {
    this.byId.delete(pending.requestId);
    if (this.byKey.get(pending.key) === pending) this.byKey.delete(pending.key);
  }
}

/** A copy of a datagram's source to keep past its handler. */
export function copySource(source: DatagramSource): DatagramSource {
  return { socket: source.socket, from: { address: source.from.address, port: source.from.port } };
}

/** What answering a request later needs of it. */
export function copyRequest(request: RequestRef): RequestRef {
  return { method: request.method, transactionId: request.transactionId.slice(), cookie: request.cookie, fingerprintOffset: request.fingerprintOffset };
}
