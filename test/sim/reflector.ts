import { formatTransportAddress, type TransportAddress } from '../../src/net/transport-address.js';
import type { SimHost, SimSocket } from '../../src/sim/index.js';

/**
 * A stand-in for a STUN server until the real one exists: answers every datagram with the source
 * transport address it saw, as text (`203.0.113.10:50123`, `[2001:db8::2]:4000`).
 */
export function bindReflector(host: SimHost, port: number, address?: string): SimSocket {
  const socket = host.bind(port, address);
  socket.ondatagram = (_bytes, from) => socket.send(encodeAddress(from), from);
  return socket;
}

export function encodeAddress(address: TransportAddress): Uint8Array {
  return new TextEncoder().encode(formatTransportAddress(address));
}

export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Every datagram a socket receives, as `{ text, from }`. */
export function collect(socket: SimSocket): { text: string; from: TransportAddress }[] {
  const received: { text: string; from: TransportAddress }[] = [];
  socket.ondatagram = (bytes, from) => received.push({ text: decodeText(bytes), from });
  return received;
}
