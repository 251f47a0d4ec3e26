// Port reservations of the TURN server (RFC 8656 §7.2, §14.9): an Allocate with EVEN-PORT R=1 gets the
// even port N, and N+1 is held under a RESERVATION-TOKEN "for at least 30 seconds" for a later Allocate
// (usually RTCP next to RTP). A reservation is server-wide, not tied to a 5-tuple or user: any
// authenticated Allocate presenting the token gets the address. Its socket is already open (the driver
// binds both ports together), so taking a reservation needs no driver round trip.
import { toHex } from '../crypto/index.js';
import type { Millis } from '../net/clock.js';
import type { SocketId } from '../net/engine.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';

/** RFC 8656 §14.9: RESERVATION-TOKEN is 8 bytes. */
export const RESERVATION_TOKEN_BYTES = 8;

export interface PortReservation {
  readonly token: Uint8Array;
  readonly socket: SocketId;
  readonly relayed: TransportAddress;
  readonly family: AddressFamily;
  /** The user whose Allocate made it (for logs). */
  readonly username: string;
  readonly expiresAt: Millis;
}

export class ReservationTable {
  private readonly byToken = new Map<string, PortReservation>();
  private readonly bySocket = new Map<SocketId, PortReservation>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.byToken.size;
  }

  get full(): boolean {
    return this.byToken.size >= this.max;
  }

  /** Whether `socket` is a reserved relay socket (its datagrams are dropped: no allocation uses it yet). */
  hasSocket(socket: SocketId): boolean {
    return this.bySocket.has(socket);
  }

  /** Reserves the open socket `socket` under a fresh random token, which it returns. */
  add(socket: SocketId, relayed: TransportAddress, family: AddressFamily, username: string, expiresAt: Millis): Uint8Array {
    let token: Uint8Array;
    do token = crypto.getRandomValues(new Uint8Array(RESERVATION_TOKEN_BYTES));
    while (this.byToken.has(toHex(token)));
    const reservation: PortReservation = { token, socket, relayed: { address: relayed.address, port: relayed.port }, family, username, expiresAt };
    this.byToken.set(toHex(token), reservation);
    this.bySocket.set(socket, reservation);
    return token;
  }

  /** RFC 8656 §7.2 step 5: whether `token` names a reservation that has not expired. */
  valid(token: Uint8Array, now: Millis): boolean {
    const reservation = this.byToken.get(toHex(token));
    return reservation !== undefined && reservation.expiresAt > now;
  }

  /** RFC 8656 §7.2 step 5: the live reservation of `token`, removed (a token is good for one Allocate). */
  take(token: Uint8Array, now: Millis): PortReservation | undefined {
    const reservation = this.byToken.get(toHex(token));
    if (reservation === undefined || reservation.expiresAt <= now) return undefined;
    this.remove(reservation);
    return reservation;
  }

  /** Removes the reservation on `socket` (it closed by itself), if any. */
  removeSocket(socket: SocketId): PortReservation | undefined {
    const reservation = this.bySocket.get(socket);
    if (reservation !== undefined) this.remove(reservation);
    return reservation;
  }

  /** Removes and returns the reservations expired by `now`; `next` gets the earliest expiry left. */
  expire(now: Millis): { expired: PortReservation[]; next: Millis } {
    const expired: PortReservation[] = [];
    let next = Infinity;
    for (const reservation of this.byToken.values()) {
      if (reservation.expiresAt <= now) expired.push(reservation);
      else next = Math.min(next, reservation.expiresAt);
    }
    for (const reservation of expired) this.remove(reservation);
    return { expired, next };
  }

  /** Removes and returns every reservation (server closing). */
  clear(): PortReservation[] {
    const all = [...this.byToken.values()];
    this.byToken.clear();
    this.bySocket.clear();
    return all;
  }

  private remove(reservation: PortReservation): void {
    this.byToken.delete(toHex(reservation.token));
    this.bySocket.delete(reservation.socket);
  }
}
