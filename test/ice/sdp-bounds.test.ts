// The SDP readers on hostile sizes (issue 17): linear in the text's length, and bounded by IceSdpLimits
// so a 1 MB description from the other side is refused before it is read. The time bounds are generous
// (a second against the 21 s the quadratic ice-options reader took on 1 MB): they catch a quadratic
// path, not a slow machine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ICE_SDP_LIMITS, IceSdpError, parseIceDescription, type IceSdpLimits } from '../../src/ice/sdp.js';
import { fromSessionDescription } from '../../src/ice/session-description.js';

const MB = 1 << 20;
const LIFTED: IceSdpLimits = { maxLength: Infinity, maxCandidates: Infinity, maxIceOptions: Infinity };
const UFRAG = 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijabcdefghijab\r\n';

/** Units repeated until the text is at least `size` characters. */
function fill(unit: (i: number) => string, size = MB): string {
  const parts: string[] = [];
  for (let i = 0, length = 0; length < size; i++) {
    const u = unit(i);
    parts.push(u);
    length += u.length;
  }
  return parts.join('');
}

const candidate = (i: number): string => `a=candidate:${i} 1 udp ${i} 10.0.${(i >> 8) & 255}.${i & 255} ${1024 + (i % 60000)} typ host\r\n`;

/** 1 MB descriptions, one per way a reader could go quadratic: one line or many, tags, candidates, extensions, blanks. */
const SHAPES: Record<string, string> = {
  'distinct ice-options on one line': `a=ice-options:${fill((i) => `t${i} `)}`,
  'one distinct ice-option per line': fill((i) => `a=ice-options:t${i}\r\n`),
  'the same ice-option repeated': fill(() => 'a=ice-options:trickle trickle\r\n'),
  candidates: fill(candidate),
  'one candidate with 100 k extensions': `a=candidate:1 1 udp 1 10.0.0.1 9 typ host${fill((i) => ` e${i} v`)}`,
  'lines that are no ICE attribute': fill(() => 'a=x\r\n'),
  'blank lines': '\n'.repeat(MB),
  'one line of spaces': `a=ice-options:x${' '.repeat(MB)}`,
};

function sdp(body: string): string {
  return `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${body}`;
}

const SESSION_SHAPES: Record<string, string> = {
  '50 k media sections before the data channel': sdp(`${fill((i) => `m=audio ${i} RTP/AVP 0\r\n`)}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n${UFRAG}`),
  'a data channel with 18 k candidates': sdp(`m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n${UFRAG}${fill(candidate)}`),
  'a data channel with 145 k distinct ice-options': sdp(`a=ice-options:${fill((i) => `t${i} `)}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n${UFRAG}`),
};

/** Runs `parse`, and fails unless it returns or throws an IceSdpError (never anything else) within `boundMs`. */
function timed(parse: () => unknown, boundMs: number): { ms: number; error?: IceSdpError } {
  const start = performance.now();
  let error: IceSdpError | undefined;
  try {
    parse();
  } catch (e) {
    if (!(e instanceof IceSdpError)) throw e;
    error = e;
  }
  const ms = performance.now() - start;
  assert.ok(ms < boundMs, `took ${ms.toFixed(0)} ms, bound ${boundMs} ms`);
  return { ms, ...(error ? { error } : {}) };
}

describe('SDP readers on 1 MB descriptions', () => {
  for (const [name, text] of Object.entries(SHAPES)) {
    it(`parseIceDescription refuses ${name} by default, with LIMIT, before reading it`, () => {
      const { error } = timed(() => parseIceDescription(text), 100);
      assert.equal(error?.code, 'LIMIT');
      assert.match(error.message, /over maxLength 262144/);
    });
    it(`parseIceDescription reads ${name} in linear time with the limits lifted`, () => {
      const { error } = timed(() => parseIceDescription(text, LIFTED), 2000);
      assert.equal(error, undefined, error?.message);
    });
  }
  for (const [name, text] of Object.entries(SESSION_SHAPES)) {
    it(`fromSessionDescription refuses ${name} by default and reads it in linear time with the limits lifted`, () => {
      assert.equal(timed(() => fromSessionDescription(text), 100).error?.code, 'LIMIT');
      const { error } = timed(() => fromSessionDescription(text, LIFTED), 2000);
      assert.equal(error, undefined, error?.message);
    });
  }
});

describe('IceSdpLimits', () => {
  it('has the documented defaults', () => {
    assert.deepEqual({ ...ICE_SDP_LIMITS }, { maxLength: 262_144, maxCandidates: 1_000, maxIceOptions: 64 });
    assert.ok(Object.isFrozen(ICE_SDP_LIMITS));
  });

  it('maxLength: exactly the limit is read, one character more is refused', () => {
    const text = `a=ice-options:trickle\r\n${'\n'.repeat(100)}`;
    assert.deepEqual(parseIceDescription(text, { maxLength: text.length }).options, ['trickle']);
    assert.throws(() => parseIceDescription(`${text}\n`, { maxLength: text.length }), { name: 'IceSdpError', code: 'LIMIT', line: 0 });
  });

  it('maxCandidates: the limit is read, the next candidate is refused with its line', () => {
    const text = [0, 1, 2, 3].map(candidate).join('');
    assert.equal(parseIceDescription(text, { maxCandidates: 4 }).candidates.length, 4);
    assert.throws(() => parseIceDescription(text, { maxCandidates: 3 }), { code: 'LIMIT', line: 4 });
    // ~2 000 candidates in 100 KB: the default refuses the 1 001st.
    assert.throws(() => parseIceDescription(fill(candidate, 100_000)), { code: 'LIMIT', line: 1001 });
  });

  it('maxIceOptions counts distinct tags across lines; repeats are free', () => {
    const text = 'a=ice-options:a b\r\na=ice-options:b c a\r\na=ice-options:c\r\n';
    assert.deepEqual(parseIceDescription(text, { maxIceOptions: 3 }).options, ['a', 'b', 'c']);
    assert.throws(() => parseIceDescription(text, { maxIceOptions: 2 }), { code: 'LIMIT', line: 2 });
    assert.deepEqual(parseIceDescription('a=ice-options:x x x x\r\n'.repeat(1000), { maxIceOptions: 1 }).options, ['x']);
  });

  it('fromSessionDescription takes the same limits', () => {
    const text = sdp(`m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n${UFRAG}a=ice-options:trickle ice2\r\n${[0, 1].map(candidate).join('')}`);
    assert.equal(fromSessionDescription(text).candidates.length, 2);
    assert.throws(() => fromSessionDescription(text, { maxCandidates: 1 }), { code: 'LIMIT' });
    assert.throws(() => fromSessionDescription(text, { maxIceOptions: 1 }), { code: 'LIMIT' });
    assert.throws(() => fromSessionDescription(text, { maxLength: text.length - 1 }), { code: 'LIMIT', line: 0 });
  });

  it('a limit that is not a positive number is the caller’s RangeError, not the text’s', () => {
    for (const bad of [0, -1, Number.NaN, '5', null]) {
      assert.throws(() => parseIceDescription('', { maxCandidates: bad as number }), RangeError, String(bad));
      assert.throws(() => fromSessionDescription(sdp(''), { maxLength: bad as number }), RangeError, String(bad));
    }
  });
});

/** The reader before it was made linear, as a model: ice-options deduplicated with `includes`. */
function modelOptions(lines: readonly string[][]): string[] {
  const out: string[] = [];
  for (const tags of lines) for (const t of tags) if (!out.includes(t)) out.push(t);
  return out;
}

describe('ice-options with a Set (property)', () => {
  it('gives the tags in first-seen order without repeats, as the list did, and refuses exactly past maxIceOptions', () => {
    const tag = fc.constantFrom('trickle', 'ice2', 'renomination', 'google-ice', 'a', 'b', 'c', 'x-1');
    fc.assert(
      fc.property(fc.array(fc.array(tag, { minLength: 1, maxLength: 5 }), { maxLength: 8 }), fc.integer({ min: 1, max: 9 }), (lines, max) => {
        const text = lines.map((tags) => `a=ice-options:${tags.join(' ')}`).join('\r\n');
        const expected = modelOptions(lines);
        if (expected.length <= max) assert.deepEqual(parseIceDescription(text, { maxIceOptions: max }).options, expected);
        else assert.throws(() => parseIceDescription(text, { maxIceOptions: max }), { code: 'LIMIT' });
      }),
      { numRuns: 2000 },
    );
  });
});
