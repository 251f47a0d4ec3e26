// The fields of an RFC 8839 §5.1 candidate line, for display: the page shows what the agent signals, read
// back from the very string a peer would receive.
//   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [raddr <a> rport <p>] …

export interface CandidateFields {
  foundation: string;
  component: number;
  protocol: string;
  priority: number;
  address: string;
  port: number;
  type: string;
  relatedAddress?: string;
  relatedPort?: number;
  tcpType?: string;
}

/** undefined for a line that is not a candidate (the agent never signals one; a bug would show as a row of its own). */
export function parseCandidateLine(line: string): CandidateFields | undefined {
  const text = line.replace(/^a=/, '').replace(/^candidate:/, '');
  const f = text.trim().split(/\s+/);
  if (f.length < 8 || f[6] !== 'typ') return undefined;
  const fields: CandidateFields = {
    foundation: f[0],
    component: Number(f[1]),
    protocol: f[2].toLowerCase(),
    priority: Number(f[3]),
    address: f[4],
    port: Number(f[5]),
    type: f[7],
  };
  for (let i = 8; i + 1 < f.length; i += 2) {
    if (f[i] === 'raddr') fields.relatedAddress = f[i + 1];
    else if (f[i] === 'rport') fields.relatedPort = Number(f[i + 1]);
    else if (f[i] === 'tcptype') fields.tcpType = f[i + 1];
  }
  return fields;
}

/** RFC 8445 §5.1.2.1: priority = 2^24·type preference + 2^8·local preference + (256 − component). */
export function priorityParts(priority: number): { typePreference: number; localPreference: number; component: number } {
  return {
    typePreference: Math.floor(priority / 2 ** 24),
    localPreference: Math.floor(priority / 2 ** 8) % 2 ** 16,
    component: 256 - (priority % 2 ** 8),
  };
}

/** `address:port`, IPv6 in brackets. */
export function hostPort(address: string, port: number | undefined): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? a : `${a}:${port}`;
}
