// The DNS message codec (RFC 1035 §4.1) as far as mDNS one-shot resolution needs it (RFC 6762): header,
// questions with the unicast-response bit, resource records with the cache-flush bit, A and AAAA data
// decoded, every other type kept as raw bytes. Pure over Uint8Array; malformed input is a DnsParseError.
import { formatIpAt, isIp, writeIp } from '../net/ip.js';
import { DnsParseError } from './dns-errors.js';
import { decodeName, encodeName } from './dns-name.js';

export const DnsType = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, NSEC: 47, ANY: 255 } as const;
/** RFC 1035 §3.2.4: the Internet class. */
export const DNS_CLASS_IN = 1;

export interface DnsQuestion {
  name: string;
  type: number;
  /** Without the top bit. */
  class: number;
  /** RFC 6762 §5.4: the top bit of qclass asks for a unicast response. */
  unicastResponse: boolean;
}

export interface DnsRecord {
  name: string;
  type: number;
  /** Without the top bit. */
  class: number;
  /** RFC 6762 §10.2: the top bit of rrclass in a response says the record replaces cached ones. */
  cacheFlush: boolean;
  /** Seconds; 0 is a goodbye (RFC 6762 §10.1). */
  ttl: number;
  /** A and AAAA records: the address (RFC 5952 text for IPv6). */
  address?: string;
  /** Other types: the RDATA as it is on the wire (names inside it may hold pointers into the message). */
  data?: Uint8Array;
}

export interface DnsMessage {
  id: number;
  /** QR: a response. */
  response: boolean;
  opcode: number;
  /** AA */
  authoritative: boolean;
  /** TC */
  truncated: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export interface DnsDecodeOptions {
  /** Messages longer than this are refused. Default 9 000 bytes (RFC 6762 §17: the largest mDNS message). */
  maxMessageBytes?: number;
  /** Questions plus records accepted in one message. Default 64: a host answer needs a handful. */
  maxEntries?: number;
}

export const DNS_MAX_MESSAGE_BYTES = 9000;
export const DNS_MAX_ENTRIES = 64;
const HEADER_BYTES = 12;

/** Decodes one DNS message; throws DnsParseError (and nothing else) on malformed bytes. */
export function decodeDnsMessage(bytes: Uint8Array, options: DnsDecodeOptions = {}): DnsMessage {
  const maxBytes = options.maxMessageBytes ?? DNS_MAX_MESSAGE_BYTES;
  const maxEntries = options.maxEntries ?? DNS_MAX_ENTRIES;
  if (bytes.length > maxBytes) throw new DnsParseError('MESSAGE_SIZE', 0, `${bytes.length} bytes, at most ${maxBytes}`);
  if (bytes.length < HEADER_BYTES) throw new DnsParseError('TRUNCATED', 0, `${bytes.length} bytes, a header needs ${HEADER_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(2);
  const counts = [view.getUint16(4), view.getUint16(6), view.getUint16(8), view.getUint16(10)];
  const total = counts[0] + counts[1] + counts[2] + counts[3];
  if (total > maxEntries) throw new DnsParseError('TOO_MANY_RECORDS', 4, `${total} questions and records, at most ${maxEntries}`);
  let at = HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, end } = decodeName(bytes, at);
    need(bytes, end, 4, 'question type and class');
    const qclass = view.getUint16(end + 2);
    questions.push({ name, type: view.getUint16(end), class: qclass & 0x7fff, unicastResponse: (qclass & 0x8000) !== 0 });
    at = end + 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const record = decodeRecord(bytes, view, at);
      sections[s].push(record.record);
      at = record.end;
    }
  }
  return {
    id: view.getUint16(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
  };
}

/** decodeDnsMessage, with undefined for malformed bytes (an engine counts and drops those). */
export function decodeDnsMessageOrUndefined(bytes: Uint8Array, options?: DnsDecodeOptions): DnsMessage | undefined {
  try {
    return decodeDnsMessage(bytes, options);
  } catch (err) {
    if (err instanceof DnsParseError) return undefined;
    throw err;
  }
}

function decodeRecord(bytes: Uint8Array, view: DataView, offset: number): { record: DnsRecord; end: number } {
  const { name, end } = decodeName(bytes, offset);
  need(bytes, end, 10, 'record header');
  const type = view.getUint16(end);
  const rrclass = view.getUint16(end + 2);
  const ttl = view.getUint32(end + 4);
  const length = view.getUint16(end + 8);
  const start = end + 10;
  need(bytes, start, length, 'record data');
  const record: DnsRecord = { name, type, class: rrclass & 0x7fff, cacheFlush: (rrclass & 0x8000) !== 0, ttl };
  if (type === DnsType.A || type === DnsType.AAAA) {
    const want = type === DnsType.A ? 4 : 16;
    if (length !== want) throw new DnsParseError('RDATA_LENGTH', end + 8, `${type === DnsType.A ? 'A' : 'AAAA'} data is ${length} bytes, need ${want}`);
    record.address = formatIpAt(bytes, start, want);
  } else {
    record.data = bytes.slice(start, start + length);
  }
  return { record, end: start + length };
}

function need(bytes: Uint8Array, at: number, length: number, what: string): void {
  if (at + length > bytes.length) throw new DnsParseError('TRUNCATED', at, `${what}: need ${length} bytes, ${Math.max(0, bytes.length - at)} left`);
}

/** Encodes a message (names uncompressed). Throws DnsParseError('ENCODE', …) for what cannot be encoded. */
export function encodeDnsMessage(message: Partial<DnsMessage>): Uint8Array {
  const questions = message.questions ?? [];
  const sections = [message.answers ?? [], message.authorities ?? [], message.additionals ?? []];
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(HEADER_BYTES);
  const hv = new DataView(header.buffer);
  hv.setUint16(0, (message.id ?? 0) & 0xffff);
  const flags =
    (message.response ? 0x8000 : 0) |
    (((message.opcode ?? 0) & 0xf) << 11) |
    (message.authoritative ? 0x0400 : 0) |
    (message.truncated ? 0x0200 : 0) |
    ((message.rcode ?? 0) & 0xf);
  hv.setUint16(2, flags);
  [questions.length, ...sections.map((s) => s.length)].forEach((n, i) => {
    if (n > 0xffff) throw new DnsParseError('ENCODE', 4 + 2 * i, `${n} entries in one section`);
    hv.setUint16(4 + 2 * i, n);
  });
  parts.push(header);
  for (const q of questions) {
    parts.push(encodeName(q.name));
    const tail = new Uint8Array(4);
    const tv = new DataView(tail.buffer);
    tv.setUint16(0, q.type & 0xffff);
    tv.setUint16(2, (q.class & 0x7fff) | (q.unicastResponse ? 0x8000 : 0));
    parts.push(tail);
  }
  for (const section of sections) for (const r of section) parts.push(encodeName(r.name), encodeRecordTail(r));
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function encodeRecordTail(r: DnsRecord): Uint8Array {
  let data: Uint8Array;
  if (r.type === DnsType.A || r.type === DnsType.AAAA) {
    const want = r.type === DnsType.A ? 4 : 16;
    data = new Uint8Array(16);
    const written = r.address !== undefined && isIp(r.address) ? writeIp(r.address, data, 0) : 0;
    if (written !== want) throw new DnsParseError('ENCODE', 0, `'${String(r.address)}' is not an IPv${want === 4 ? 4 : 6} address for ${r.name}`);
    data = data.subarray(0, want);
  } else {
    data = r.data ?? new Uint8Array(0);
  }
  if (data.length > 0xffff) throw new DnsParseError('ENCODE', 0, `record data of ${data.length} bytes`);
  const out = new Uint8Array(10 + data.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, r.type & 0xffff);
  v.setUint16(2, (r.class & 0x7fff) | (r.cacheFlush ? 0x8000 : 0));
  v.setUint32(4, Math.max(0, Math.min(0xffffffff, Math.floor(r.ttl))));
  v.setUint16(8, data.length);
  out.set(data, 10);
  return out;
}
