/**
 * A whole SDP offer or answer (RFC 8866, JSEP RFC 9429) for a browser's RTCPeerConnection data channel, made
 * from or read into an icebridge agent's ICE parameters and candidates: one `m=application 9 UDP/DTLS/SCTP
 * webrtc-datachannel` section. The ICE lines themselves are src/ice/sdp.ts's (RFC 8839); this file adds the
 * session frame and the lines a browser requires next to them (BUNDLE, mid, fingerprint, setup, sctp-port).
 *
 * Only ICE happens between an icebridge agent and the browser: icebridge speaks no DTLS or SCTP, so the
 * browser's `iceConnectionState` reaches `connected` while its DTLS handshake (and so the data channel)
 * never completes. The default fingerprint is therefore a well-formed dummy that matches no certificate.
 */
import { candidateFromInit, candidateToInit, type IceCandidate, type IceCandidateInit } from './candidate.js';
import type { IceParameters } from './agent-options.js';
import { formatIceDescription, IceSdpError, parseIceAttributeLine, parseIceDescription, resolveIceSdpLimits, type IceSdpLimits } from './sdp.js';

/** RFC 8842 §5: who starts DTLS. An offer says actpass; an answer picks active (client) or passive (server). */
export type DtlsSetupRole = 'actpass' | 'active' | 'passive' | 'holdconn';

/** What goes into a description: the agent's `localParameters` and the candidates it gathered. */
export interface SessionIceDescription {
  /** RTCIceParameters; `iceLite: true` adds a=ice-lite (RFC 8839 §5.3, session level). */
  parameters: IceParameters;
  /** Parsed candidates, RTCIceCandidateInit (an empty `candidate` means end of candidates) or `a=candidate:`/`candidate:` lines. */
  candidates: readonly (IceCandidate | IceCandidateInit | string)[];
  /** Adds a=end-of-candidates (RFC 8838 §8.2): gathering is complete. Default false. */
  endOfCandidates?: boolean;
}

export interface SessionDescriptionOptions {
  /** 'offer' (a=setup:actpass by default) or 'answer' to a browser's offer. */
  role: 'offer' | 'answer';
  /** The m-section's identification tag (RFC 8843 a=mid and a=group:BUNDLE). Default '0', what Chromium's offers use. */
  mid?: string;
  /** `<hash-function> <hex pairs>` as in a=fingerprint (RFC 8122 §5). Default DUMMY_FINGERPRINT: no DTLS happens. */
  fingerprint?: string;
  /**
   * a=setup (RFC 8842). Default 'actpass' for an offer and 'passive' for an answer: the browser is then the
   * DTLS client and sends its ClientHello over the selected pair, which the agent sees as data.
   */
  setup?: Exclude<DtlsSetupRole, 'holdconn'>;
  /** a=ice-options tags (RFC 8839 §5.6). Default ['trickle'] (RFC 8838 §4: required by JSEP). */
  iceOptions?: readonly string[];
  /** The o= line's sess-id, decimal digits (RFC 8866 §5.2). Default random. */
  sessionId?: string;
  /** The o= line's sess-version: raise it for each new description of one session. Default 2, as Chromium. */
  sessionVersion?: number;
  /** a=sctp-port (RFC 8841 §5). Default 5000. */
  sctpPort?: number;
  /** a=max-message-size (RFC 8841 §6). Default 262144, as Chromium. */
  maxMessageSize?: number;
}

/** What fromSessionDescription reads from an RTCPeerConnection's offer or answer. */
export interface ParsedSessionDescription {
  /** ice-ufrag and ice-pwd of the data channel's section (media level, else session level); `iceLite` set when a=ice-lite. */
  parameters: IceParameters;
  /** The section's candidates as RTCIceCandidateInit, ready for addRemoteCandidate: sdpMid, sdpMLineIndex and usernameFragment set. */
  candidates: IceCandidateInit[];
  /** a=end-of-candidates was present: no more candidates will trickle. */
  endOfCandidates: boolean;
  /** a=mid of the section, or null. */
  mid: string | null;
  /** The section's index among the description's m= lines. */
  mLineIndex: number;
  /** a=ice-options tags (media level, else session level). */
  iceOptions: string[];
  iceLite: boolean;
  /** `<hash-function> <hex pairs>`, media level, else session level; null when absent. */
  fingerprint: string | null;
  setup: DtlsSetupRole | null;
}

/** A well-formed sha-256 fingerprint of no certificate: the DTLS handshake it would guard never completes. */
export const DUMMY_FINGERPRINT = `sha-256 ${Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':')}`;

const DATA_CHANNEL_PROTO = 'UDP/DTLS/SCTP';
const DATA_CHANNEL_FORMAT = 'webrtc-datachannel';
/** RFC 8843 identification-tag = token (RFC 8866 §9). */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** RFC 8122 §5: hash-func SP fingerprint; 2UHEX *(":" 2UHEX). Lower-case hex read leniently, written upper. */
const FINGERPRINT = /^[A-Za-z0-9-]+ [0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+$/;
const SETUP_ROLES: readonly string[] = ['actpass', 'active', 'passive', 'holdconn'];

const quote = (s: string): string => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

function randomSessionId(): string {
  // 62 random bits: RFC 8866 §5.2 only asks for a number unique enough; under 2^63 as JSEP §5.2.1 says.
  const words = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return ((BigInt(words[0] & 0x3fffffff) << 32n) | BigInt(words[1])).toString();
}

function checkUint(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new IceSdpError('SYNTAX', 0, `${name} must be an integer in ${min}..${max}, got ${String(value)}`);
}

/** The candidate as parsed; an end-of-candidates init gives null. Errors are CANDIDATE with the input index in the reason. */
function toCandidate(input: IceCandidate | IceCandidateInit | string, index: number): IceCandidate | null {
  try {
    if (typeof input === 'string') {
      const line = parseIceAttributeLine(input.startsWith('a=') ? input : `a=${input}`);
      if (line.kind !== 'candidate') throw new IceSdpError('CANDIDATE', 0, `not a candidate line: ${quote(input)}`);
      return line.candidate;
    }
    // An RTCIceCandidate has a `foundation` too: the `candidate` string is what tells an init.
    if (input !== null && typeof input === 'object' && typeof (input as Partial<IceCandidateInit>).candidate === 'string') return candidateFromInit(input as IceCandidateInit);
    return input as IceCandidate;
  } catch (e) {
    const reason = e instanceof IceSdpError ? e.reason : e instanceof Error ? e.message : String(e);
    throw new IceSdpError('CANDIDATE', 0, `candidates[${index}]: ${reason}`, { cause: e });
  }
}

/** Moves an error of formatIceDescription (numbered within its lines) to its line in the whole description. */
function shifted<T>(offset: number, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof IceSdpError && e.line > 0) throw new IceSdpError(e.code, e.line + offset, e.reason, { cause: e });
    throw e;
  }
}

/**
 * An SDP offer or answer, CRLF-terminated lines, for `pc.setRemoteDescription({ type: role, sdp })`: the
 * session lines (v=, o=, s=, t=, a=group:BUNDLE, a=ice-lite when lite) and one data-channel m-section with
 * c=IN IP4 0.0.0.0 and port 9 (JSEP: the candidates carry the addresses), a=mid, the ICE lines (RFC 8839),
 * a=fingerprint, a=setup, a=sctp-port, a=max-message-size. No a=msid-semantic: a data channel has no tracks.
 * An answer must follow the offer's mid (pass `mid: fromSessionDescription(offer).mid`), and can only answer
 * an offer whose sole m-section is a data channel. Bad input throws IceSdpError: CANDIDATE, UFRAG, PWD,
 * OPTIONS, CONFLICT (a candidate whose ufrag is of another ICE generation) or SYNTAX (an option).
 */
export function toSessionDescription(description: SessionIceDescription, options: SessionDescriptionOptions): string {
  const role: unknown = options?.role;
  if (role !== 'offer' && role !== 'answer') throw new IceSdpError('SYNTAX', 0, `role must be 'offer' or 'answer', got ${quote(String(role))}`);
  const mid = options.mid ?? '0';
  if (typeof mid !== 'string' || !TOKEN.test(mid)) throw new IceSdpError('SYNTAX', 0, `mid ${quote(String(mid))} is not a token (RFC 8843)`);
  const fingerprint = options.fingerprint ?? DUMMY_FINGERPRINT;
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) {
    throw new IceSdpError('SYNTAX', 0, `fingerprint ${quote(String(fingerprint))} is not "<hash-function> XX:XX:…" (RFC 8122)`);
  }
  const setup: string = options.setup ?? (role === 'offer' ? 'actpass' : 'passive');
  if (!SETUP_ROLES.includes(setup) || setup === 'holdconn') throw new IceSdpError('SYNTAX', 0, `setup ${quote(String(setup))} is not actpass, active or passive`);
  // RFC 8842 §5.3: the answerer MUST NOT answer actpass.
  if (role === 'answer' && setup === 'actpass') throw new IceSdpError('SYNTAX', 0, 'an answer must say setup active or passive, not actpass (RFC 8842)');
  const sessionId = options.sessionId ?? randomSessionId();
  if (typeof sessionId !== 'string' || !/^[0-9]{1,20}$/.test(sessionId)) throw new IceSdpError('SYNTAX', 0, `sessionId ${quote(String(sessionId))} is not 1 to 20 digits`);
  const sessionVersion = options.sessionVersion ?? 2;
  checkUint('sessionVersion', sessionVersion, 0, Number.MAX_SAFE_INTEGER);
  const sctpPort = options.sctpPort ?? 5000;
  checkUint('sctpPort', sctpPort, 1, 0xffff);
  const maxMessageSize = options.maxMessageSize ?? 262144;
  checkUint('maxMessageSize', maxMessageSize, 0, Number.MAX_SAFE_INTEGER);

  if (description === null || typeof description !== 'object') throw new IceSdpError('SYNTAX', 0, 'the description must be { parameters, candidates?, endOfCandidates? }');
  const { parameters } = description;
  if (parameters === null || typeof parameters !== 'object') throw new IceSdpError('SYNTAX', 0, 'parameters must be { usernameFragment, password }');
  const ufrag = parameters.usernameFragment;
  if (typeof ufrag !== 'string') throw new IceSdpError('UFRAG', 0, 'parameters.usernameFragment is missing');
  if (typeof parameters.password !== 'string') throw new IceSdpError('PWD', 0, 'parameters.password is missing');
  let endOfCandidates = description.endOfCandidates === true;
  const candidates: IceCandidate[] = [];
  if (description.candidates !== undefined && !Array.isArray(description.candidates)) throw new IceSdpError('SYNTAX', 0, 'candidates must be an array');
  (description.candidates ?? []).forEach((input, i) => {
    const c = toCandidate(input, i);
    if (c === null) {
      endOfCandidates = true;
      return;
    }
    const own = c.extensions.find(([name]) => name === 'ufrag')?.[1];
    if (own !== undefined && own !== ufrag) throw new IceSdpError('CONFLICT', 0, `candidates[${i}] has ufrag ${quote(own)}, of another ICE generation than ${quote(String(ufrag))}`);
    candidates.push(c);
  });

  const lines = ['v=0', `o=- ${sessionId} ${sessionVersion} IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${mid}`];
  if (parameters.iceLite === true) lines.push('a=ice-lite');
  lines.push(`m=application 9 ${DATA_CHANNEL_PROTO} ${DATA_CHANNEL_FORMAT}`, 'c=IN IP4 0.0.0.0');
  const ice = shifted(lines.length, () =>
    formatIceDescription({
      ufrag: parameters.usernameFragment,
      pwd: parameters.password,
      // The agent's own options (renomination) join the ones asked for.
      options: [...new Set([...(options.iceOptions ?? ['trickle']), ...(parameters.iceOptions ?? [])])],
      lite: false,
      candidates: [],
      endOfCandidates: false,
    }),
  );
  const [hash, hex] = fingerprint.split(' ');
  lines.push(...ice, `a=fingerprint:${hash.toLowerCase()} ${hex.toUpperCase()}`, `a=setup:${setup}`, `a=mid:${mid}`);
  lines.push(`a=sctp-port:${sctpPort}`, `a=max-message-size:${maxMessageSize}`);
  lines.push(...shifted(lines.length, () => formatIceDescription({ options: [], lite: false, candidates, endOfCandidates })));
  return `${lines.join('\r\n')}\r\n`;
}

interface Section {
  /** Index of the m= line in `lines`; -1 for the session part. */
  start: number;
  end: number;
}

/** The value of the first `a=<name>:` line in lines[start, end), or undefined. */
function attribute(lines: readonly string[], { start, end }: Section, name: string): { value: string; line: number } | undefined {
  const prefix = `a=${name}:`;
  for (let i = start + 1; i < end; i++) if (lines[i].startsWith(prefix)) return { value: lines[i].slice(prefix.length).trim(), line: i + 1 };
  return undefined;
}

/** The SDP text with every line outside the section blanked, so parseIceDescription's line numbers stay the description's. */
function only(lines: readonly string[], { start, end }: Section): string {
  return lines.map((l, i) => (i > start && i < end ? l : '')).join('\n');
}

/**
 * Reads the ICE side of an RTCPeerConnection's offer or answer (`pc.localDescription`, or its `sdp` text):
 * the first `m=application … webrtc-datachannel` section's candidates, ice-ufrag/ice-pwd and ice-options
 * (falling back to session-level lines, RFC 8839 §5.4), a=ice-lite, a=end-of-candidates, a=mid, a=fingerprint,
 * a=setup. Other sections and attributes are ignored. Throws IceSdpError with the line at fault: SYNTAX (not
 * SDP, no data-channel section, a malformed mid, fingerprint or setup), UFRAG/PWD (missing or malformed),
 * CANDIDATE, OPTIONS, FLAG, CONFLICT, LIMIT (over one of `limits`, {@link IceSdpLimits}). Linear in the length.
 */
export function fromSessionDescription(
  sdp: string | { readonly type?: string; readonly sdp?: string | null | undefined },
  limits: IceSdpLimits = {},
): ParsedSessionDescription {
  const text = typeof sdp === 'string' ? sdp : sdp !== null && typeof sdp === 'object' ? sdp.sdp : undefined;
  if (typeof text !== 'string') throw new IceSdpError('SYNTAX', 0, 'not an SDP string or an RTCSessionDescription');
  const bounds = resolveIceSdpLimits(limits);
  if (text.length > bounds.maxLength) throw new IceSdpError('LIMIT', 0, `${text.length} characters, over maxLength ${bounds.maxLength}`);
  // The length is checked once, here: each section below is read from a text as long as the whole.
  const sectionLimits = { ...bounds, maxLength: Infinity };
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[0] !== 'v=0') throw new IceSdpError('SYNTAX', 1, `an SDP description starts with v=0, not ${quote(lines[0] ?? '')}`);
  const mLines = lines.flatMap((l, i) => (l.startsWith('m=') ? [i] : []));
  const session: Section = { start: -1, end: mLines[0] ?? lines.length };
  const mLineIndex = mLines.findIndex((i) => {
    const f = lines[i].slice(2).split(' ');
    return f[0] === 'application' && f[2]?.toUpperCase().includes('DTLS/SCTP') === true && f.slice(3).includes(DATA_CHANNEL_FORMAT);
  });
  if (mLineIndex < 0) throw new IceSdpError('SYNTAX', 0, `no m=application ${DATA_CHANNEL_PROTO} ${DATA_CHANNEL_FORMAT} section`);
  const media: Section = { start: mLines[mLineIndex], end: mLines[mLineIndex + 1] ?? lines.length };

  const sessionIce = parseIceDescription(only(lines, session), sectionLimits);
  const mediaIce = parseIceDescription(only(lines, media), sectionLimits);
  const ufrag = mediaIce.ufrag ?? sessionIce.ufrag;
  const pwd = mediaIce.pwd ?? sessionIce.pwd;
  if (ufrag === undefined) throw new IceSdpError('UFRAG', media.start + 1, 'no a=ice-ufrag for the data channel section');
  if (pwd === undefined) throw new IceSdpError('PWD', media.start + 1, 'no a=ice-pwd for the data channel section');

  const midLine = attribute(lines, media, 'mid');
  if (midLine && !TOKEN.test(midLine.value)) throw new IceSdpError('SYNTAX', midLine.line, `a=mid ${quote(midLine.value)} is not a token`);
  const fingerprintLine = attribute(lines, media, 'fingerprint') ?? attribute(lines, session, 'fingerprint');
  if (fingerprintLine && !FINGERPRINT.test(fingerprintLine.value)) {
    throw new IceSdpError('SYNTAX', fingerprintLine.line, `a=fingerprint ${quote(fingerprintLine.value)} is not "<hash-function> XX:XX:…"`);
  }
  const setupLine = attribute(lines, media, 'setup') ?? attribute(lines, session, 'setup');
  if (setupLine && !SETUP_ROLES.includes(setupLine.value)) throw new IceSdpError('SYNTAX', setupLine.line, `a=setup ${quote(setupLine.value)} is not a DTLS setup role`);

  const mid = midLine?.value ?? null;
  // ice-lite is session level (RFC 8839 §5.3); read at media level too, as some endpoints write it there.
  const iceLite = sessionIce.lite || mediaIce.lite;
  const candidates = mediaIce.candidates.map((c) => {
    const own = c.extensions.find(([name]) => name === 'ufrag')?.[1];
    return candidateToInit(c, { sdpMLineIndex: mLineIndex, usernameFragment: own ?? ufrag, ...(mid === null ? {} : { sdpMid: mid }) });
  });
  const iceOptions = mediaIce.options.length > 0 ? mediaIce.options : sessionIce.options;
  return {
    // With the ice-options, so that setRemoteParameters(parameters) sees whether the peer renominates.
    parameters: { usernameFragment: ufrag, password: pwd, ...(iceLite ? { iceLite } : {}), ...(iceOptions.length > 0 ? { iceOptions } : {}) },
    candidates,
    endOfCandidates: mediaIce.endOfCandidates,
    mid,
    mLineIndex,
    iceOptions,
    iceLite,
    fingerprint: fingerprintLine?.value ?? null,
    setup: (setupLine?.value as DtlsSetupRole | undefined) ?? null,
  };
}
