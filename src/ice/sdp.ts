/**
 * The ICE attributes of SDP (RFC 8839 §5): candidate, ice-ufrag, ice-pwd, ice-options, ice-lite, and
 * end-of-candidates (RFC 8838 §8.2). Flat: session- and media-level lines are read alike, and everything
 * else is either skipped or, when strict, an error.
 */
import { formatCandidate, IceCandidateError, parseCandidate, type IceCandidate } from './candidate.js';
import { isValidPassword, isValidUfrag } from './credentials.js';

export interface IceDescription {
  ufrag?: string;
  pwd?: string;
  options: string[];
  lite: boolean;
  candidates: IceCandidate[];
  endOfCandidates: boolean;
}

export type IceSdpLine =
  | { kind: 'candidate'; candidate: IceCandidate }
  | { kind: 'ufrag'; value: string }
  | { kind: 'pwd'; value: string }
  | { kind: 'options'; values: string[] }
  | { kind: 'lite' }
  | { kind: 'end-of-candidates' }
  | { kind: 'other'; line: string };

/**
 * Stable codes: `SYNTAX` (not text), `CANDIDATE` (the IceCandidateError is the `cause`), `UFRAG`, `PWD`,
 * `OPTIONS`, `FLAG` (a value on ice-lite or end-of-candidates), `CONFLICT` (two different ice-ufrag or
 * ice-pwd values), `UNKNOWN` (a line that is no ICE attribute, in strict mode), `LIMIT` (over one of the
 * {@link IceSdpLimits}).
 */
export type IceSdpErrorCode = 'SYNTAX' | 'CANDIDATE' | 'UFRAG' | 'PWD' | 'OPTIONS' | 'FLAG' | 'CONFLICT' | 'UNKNOWN' | 'LIMIT';

/**
 * Bounds on what the SDP readers accept, so a description from the other side costs time and memory in
 * proportion to what an agent can use; over one is an IceSdpError `LIMIT` before any more is read. Any
 * positive number, `Infinity` to lift one. Parsing is linear in the length either way.
 */
export interface IceSdpLimits {
  /** Characters in the whole text. Default 262 144 (256 KiB; a browser's offer with a data channel is ~1 KB, with 20 media sections ~100 KB). */
  maxLength?: number;
  /** a=candidate lines. Default 1 000 (an agent keeps 100 remote candidates by default, `maxRemoteCandidates`). */
  maxCandidates?: number;
  /** Distinct ice-options tags (RFC 8839 §5.6); repeats are not counted. Default 64 (a handful are registered). */
  maxIceOptions?: number;
}

/** The defaults of {@link IceSdpLimits}. */
export const ICE_SDP_LIMITS: Readonly<Required<IceSdpLimits>> = Object.freeze({ maxLength: 262_144, maxCandidates: 1_000, maxIceOptions: 64 });

/** The limits with defaults filled in; a limit that is not a positive number is a RangeError (the caller's mistake, not the text's). */
export function resolveIceSdpLimits(limits: IceSdpLimits = {}): Required<IceSdpLimits> {
  const out = { ...ICE_SDP_LIMITS };
  for (const key of Object.keys(ICE_SDP_LIMITS) as (keyof IceSdpLimits)[]) {
    const v = limits[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`${key} must be a positive number or Infinity, not ${String(v)}`);
    out[key] = v;
  }
  return out;
}

/** A malformed ICE line. `line` counts from 1; 0 when the line's place is not known. */
export class IceSdpError extends TypeError {
  override readonly name = 'IceSdpError';

  constructor(
    readonly code: IceSdpErrorCode,
    readonly line: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${code} at line ${line}: ${reason}`, options);
  }
}

const quote = (s: string): string => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

/** RFC 8839 §5.6 ice-option-tag is 1*ice-char; read leniently as any visible ASCII, so "google-ice" passes. */
const OPTION_TAG = /^[\x21-\x7e]+$/;

function flag(kind: 'lite' | 'end-of-candidates', value: string | undefined, lineNumber: number): IceSdpLine {
  if (value !== undefined) throw new IceSdpError('FLAG', lineNumber, `a=${kind === 'lite' ? 'ice-lite' : kind} takes no value`);
  return { kind };
}

/**
 * One attribute line, with or without "a=" and its line ending. `lineNumber` only labels errors.
 * Attribute names are case-sensitive (RFC 8866 §5.13); a line that is no ICE attribute is `other`.
 */
export function parseIceAttributeLine(line: string, lineNumber = 0): IceSdpLine {
  if (typeof line !== 'string') throw new IceSdpError('SYNTAX', lineNumber, 'not a string');
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x0a || line.charCodeAt(end - 1) === 0x0d)) end--;
  const text = line.slice(line.startsWith('a=') ? 2 : 0, end);
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const value = colon < 0 ? undefined : text.slice(colon + 1);
  switch (name) {
    case 'candidate':
      try {
        return { kind: 'candidate', candidate: parseCandidate(text) };
      } catch (e) {
        const reason = e instanceof IceCandidateError ? e.message : String(e);
        throw new IceSdpError('CANDIDATE', lineNumber, reason, { cause: e });
      }
    case 'ice-ufrag':
      if (value === undefined || !isValidUfrag(value)) throw new IceSdpError('UFRAG', lineNumber, `ice-ufrag ${quote(value ?? '')} is not 4 to 256 ice-chars`);
      return { kind: 'ufrag', value };
    case 'ice-pwd':
      if (value === undefined || !isValidPassword(value)) {
        throw new IceSdpError('PWD', lineNumber, `ice-pwd is not 22 to 256 ice-chars (${value?.length ?? 0} characters)`);
      }
      return { kind: 'pwd', value };
    case 'ice-options': {
      const values = (value ?? '').split(' ').filter((v) => v !== '');
      if (values.length === 0 || !values.every((v) => OPTION_TAG.test(v))) {
        throw new IceSdpError('OPTIONS', lineNumber, `ice-options ${quote(value ?? '')} is not a list of option tags`);
      }
      return { kind: 'options', values };
    }
    case 'ice-lite':
      return flag('lite', value, lineNumber);
    case 'end-of-candidates':
      return flag('end-of-candidates', value, lineNumber);
    default:
      return { kind: 'other', line: line.slice(0, end) };
  }
}

/** Options of {@link parseIceDescription}. */
export interface IceDescriptionParseOptions extends IceSdpLimits {
  /** A line that is no ICE attribute is an UNKNOWN error instead of skipped. Default false. */
  strict?: boolean;
}

/**
 * The ICE attributes of an SDP text or fragment (lines end in CRLF or LF; blank lines are skipped).
 * Other lines are skipped, or with `strict` are UNKNOWN errors. Repeated ice-ufrag/ice-pwd lines must
 * agree (a BUNDLE offer repeats them per m-section); ice-options accumulate without duplicates. Linear in
 * the text's length; bounded by the {@link IceSdpLimits} in `opts`.
 */
export function parseIceDescription(text: string, opts: IceDescriptionParseOptions = {}): IceDescription {
  if (typeof text !== 'string') throw new IceSdpError('SYNTAX', 0, 'not a string');
  const limits = resolveIceSdpLimits(opts);
  if (text.length > limits.maxLength) throw new IceSdpError('LIMIT', 0, `${text.length} characters, over maxLength ${limits.maxLength}`);
  const d: IceDescription = { options: [], lite: false, candidates: [], endOfCandidates: false };
  // A Set beside the list: `includes` per tag made 64 k distinct tags take 14 s.
  const options = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1;
    const raw = lines[i];
    if (raw === '' || raw === '\r') continue;
    const parsed = parseIceAttributeLine(raw, number);
    switch (parsed.kind) {
      case 'candidate':
        if (d.candidates.length >= limits.maxCandidates) throw new IceSdpError('LIMIT', number, `more than maxCandidates ${limits.maxCandidates} candidates`);
        d.candidates.push(parsed.candidate);
        break;
      case 'ufrag':
        if (d.ufrag !== undefined && d.ufrag !== parsed.value) throw new IceSdpError('CONFLICT', number, `a second, different ice-ufrag ${parsed.value}`);
        d.ufrag = parsed.value;
        break;
      case 'pwd':
        if (d.pwd !== undefined && d.pwd !== parsed.value) throw new IceSdpError('CONFLICT', number, 'a second, different ice-pwd');
        d.pwd = parsed.value;
        break;
      case 'options':
        for (const v of parsed.values) {
          if (options.has(v)) continue;
          if (options.size >= limits.maxIceOptions) throw new IceSdpError('LIMIT', number, `more than maxIceOptions ${limits.maxIceOptions} distinct ice-options`);
          options.add(v);
          d.options.push(v);
        }
        break;
      case 'lite':
        d.lite = true;
        break;
      case 'end-of-candidates':
        d.endOfCandidates = true;
        break;
      case 'other':
        if (opts.strict) throw new IceSdpError('UNKNOWN', number, `not an ICE attribute: ${quote(parsed.line)}`);
        break;
    }
  }
  return d;
}

/**
 * The description as SDP lines without line endings, in the order ice-ufrag, ice-pwd, ice-options,
 * ice-lite, candidates, end-of-candidates. Values are checked as the parser would; errors carry the
 * number of the output line at fault.
 */
export function formatIceDescription(d: IceDescription): string[] {
  const lines: string[] = [];
  const at = (): number => lines.length + 1;
  if (d.ufrag !== undefined) {
    if (!isValidUfrag(d.ufrag)) throw new IceSdpError('UFRAG', at(), `ice-ufrag ${quote(String(d.ufrag))} is not 4 to 256 ice-chars`);
    lines.push(`a=ice-ufrag:${d.ufrag}`);
  }
  if (d.pwd !== undefined) {
    if (!isValidPassword(d.pwd)) throw new IceSdpError('PWD', at(), 'ice-pwd is not 22 to 256 ice-chars');
    lines.push(`a=ice-pwd:${d.pwd}`);
  }
  if (d.options.length > 0) {
    if (!d.options.every((v) => typeof v === 'string' && OPTION_TAG.test(v))) {
      throw new IceSdpError('OPTIONS', at(), `ice-options ${quote(d.options.join(' '))} are not option tags`);
    }
    lines.push(`a=ice-options:${d.options.join(' ')}`);
  }
  if (d.lite) lines.push('a=ice-lite');
  for (const c of d.candidates) {
    try {
      lines.push(`a=${formatCandidate(c)}`);
    } catch (e) {
      throw new IceSdpError('CANDIDATE', at(), e instanceof Error ? e.message : String(e), { cause: e });
    }
  }
  if (d.endOfCandidates) lines.push('a=end-of-candidates');
  return lines;
}
