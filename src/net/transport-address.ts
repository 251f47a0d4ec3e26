/** An IP address and port, as in RFC 8489 §3 ("transport address"). IPv6 addresses are written without brackets. */
export interface TransportAddress {
  readonly address: string;
  readonly port: number;
}

export type AddressFamily = 'IPv4' | 'IPv6';

/** The family of a textual IP address: IPv6 literals contain a colon, IPv4 never does. */
export function familyOf(address: string): AddressFamily {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

/** `1.2.3.4:5` or `[::1]:5` — the RFC 3986 way to print a transport address. */
export function formatTransportAddress(t: TransportAddress): string {
  return familyOf(t.address) === 'IPv6' ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

export function sameTransportAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && a.address === b.address;
}
