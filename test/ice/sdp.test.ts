import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IceCandidateError, parseCandidate } from '../../src/ice/candidate.js';
import { IceSdpError, formatIceDescription, parseIceAttributeLine, parseIceDescription, type IceDescription } from '../../src/ice/sdp.js';

/** A Chromium data-channel offer, trimmed; CRLF line endings as on the wire. */
const CHROMIUM_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=candidate:842163049 1 udp 1677729535 203.0.113.5 60769 typ srflx raddr 10.0.0.2 rport 60769 generation 0 network-cost 999',
  'a=candidate:2395300328 1 udp 2113937151 5a1c8f2e-3b9b-4c6c-8d3b-2f1e0a9b7c6d.local 54321 typ host generation 0 network-cost 999',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P+Qd0ZpP8WGOc0kVo6ZLBZsS',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 4D:2C:1E:6B:7B:1C:8E:4B:7E:3E:6A:3C:45:9C:31:8C:6D:7A:5B:0A:8F:6E:90:4A:3D:2B:1C:0F:9E:8D:7C:6B',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  'a=end-of-candidates',
  '',
].join('\r\n');

describe('parseIceAttributeLine', () => {
  it('recognises each ICE attribute, with or without "a=" and a line ending', () => {
    assert.deepEqual(parseIceAttributeLine('a=ice-ufrag:8hhY\r\n'), { kind: 'ufrag', value: '8hhY' });
    assert.deepEqual(parseIceAttributeLine('ice-pwd:asd88fgpdd777uzjYhagZg'), { kind: 'pwd', value: 'asd88fgpdd777uzjYhagZg' });
    assert.deepEqual(parseIceAttributeLine('a=ice-options:trickle ice2'), { kind: 'options', values: ['trickle', 'ice2'] });
    assert.deepEqual(parseIceAttributeLine('a=ice-options:ice2 rtp+ecn'), { kind: 'options', values: ['ice2', 'rtp+ecn'] });
    assert.deepEqual(parseIceAttributeLine('a=ice-lite'), { kind: 'lite' });
    assert.deepEqual(parseIceAttributeLine('a=end-of-candidates\n'), { kind: 'end-of-candidates' });
    const line = 'a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998';
    assert.deepEqual(parseIceAttributeLine(line), { kind: 'candidate', candidate: parseCandidate(line) });
    assert.deepEqual(parseIceAttributeLine('a=mid:0\r\n'), { kind: 'other', line: 'a=mid:0' });
    assert.deepEqual(parseIceAttributeLine('m=audio 9 UDP/TLS/RTP/SAVPF 111'), { kind: 'other', line: 'm=audio 9 UDP/TLS/RTP/SAVPF 111' });
    assert.deepEqual(parseIceAttributeLine('a=ICE-UFRAG:8hhY'), { kind: 'other', line: 'a=ICE-UFRAG:8hhY' });
  });

  it('throws IceSdpError with the line number it is given', () => {
    const cases: [string, string][] = [
      ['a=ice-ufrag:abc', 'UFRAG'],
      ['a=ice-ufrag:ab-cd', 'UFRAG'],
      ['a=ice-ufrag', 'UFRAG'],
      [`a=ice-ufrag:${'u'.repeat(257)}`, 'UFRAG'],
      ['a=ice-pwd:tooshort', 'PWD'],
      ['a=ice-pwd', 'PWD'],
      ['a=ice-options:', 'OPTIONS'],
      ['a=ice-options:   ', 'OPTIONS'],
      ['a=ice-options:tr\u00efckle', 'OPTIONS'],
      ['a=ice-lite:yes', 'FLAG'],
      ['a=end-of-candidates:', 'FLAG'],
      ['a=candidate:1 1 udp 1 192.0.2.1 0 typ host', 'CANDIDATE'],
    ];
    for (const [line, code] of cases) {
      assert.throws(
        () => parseIceAttributeLine(line, 7),
        (e: unknown) => e instanceof IceSdpError && e.code === code && e.line === 7 && e instanceof TypeError,
        line,
      );
    }
  });

  it('keeps the candidate error as the cause', () => {
    try {
      parseIceAttributeLine('a=candidate:1 1 udp 1 192.0.2.1 0 typ host', 3);
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof IceSdpError);
      assert.ok(e.cause instanceof IceCandidateError);
      assert.equal(e.cause.code, 'PORT');
      assert.match(e.message, /line 3/);
    }
  });
});

describe('parseIceDescription', () => {
  it('reads the ICE attributes of a whole Chromium offer, skipping the rest', () => {
    const d = parseIceDescription(CHROMIUM_OFFER);
    assert.equal(d.ufrag, 'EsAw');
    assert.equal(d.pwd, 'P+Qd0ZpP8WGOc0kVo6ZLBZsS');
    assert.deepEqual(d.options, ['trickle']);
    assert.equal(d.lite, false);
    assert.equal(d.endOfCandidates, true);
    assert.deepEqual(
      d.candidates.map((c) => [c.type, c.address]),
      [
        ['srflx', '203.0.113.5'],
        ['host', '5a1c8f2e-3b9b-4c6c-8d3b-2f1e0a9b7c6d.local'],
      ],
    );
    assert.deepEqual(parseIceDescription(CHROMIUM_OFFER.replaceAll('\r\n', '\n')), d);
  });

  it('refuses the first unknown line when strict, naming it', () => {
    assert.throws(
      () => parseIceDescription(CHROMIUM_OFFER, { strict: true }),
      (e: unknown) => e instanceof IceSdpError && e.code === 'UNKNOWN' && e.line === 1 && /v=0/.test(e.reason),
    );
    const fragment = 'a=ice-ufrag:EsAw\r\na=ice-pwd:P+Qd0ZpP8WGOc0kVo6ZLBZsS\r\n\r\na=ice-lite\r\na=mid:0\r\n';
    assert.throws(
      () => parseIceDescription(fragment, { strict: true }),
      (e: unknown) => e instanceof IceSdpError && e.code === 'UNKNOWN' && e.line === 5,
    );
    assert.equal(parseIceDescription(fragment).lite, true);
  });

  it('numbers lines from 1, counting blank lines, in errors of every kind', () => {
    const text = (bad: string): string => ['a=ice-ufrag:EsAw', '', 'a=ice-options:trickle', bad, 'a=end-of-candidates'].join('\r\n');
    const cases: [string, string][] = [
      ['a=ice-pwd:short', 'PWD'],
      ['a=ice-ufrag:EsA', 'UFRAG'],
      ['a=ice-ufrag:Other', 'CONFLICT'],
      ['a=candidate:1 1 udp 1 192.0.2.1 5000 typ nat', 'CANDIDATE'],
      ['a=candidate:1 1 udp 1 192.0.2.1', 'CANDIDATE'],
      ['a=ice-lite:1', 'FLAG'],
    ];
    for (const [bad, code] of cases) {
      assert.throws(
        () => parseIceDescription(text(bad)),
        (e: unknown) => e instanceof IceSdpError && e.code === code && e.line === 4,
        bad,
      );
    }
  });

  it('accepts repeated ice-ufrag/ice-pwd that agree, as a BUNDLE offer has them, and merges options', () => {
    const d = parseIceDescription(
      ['a=ice-ufrag:EsAw', 'a=ice-options:trickle', 'm=audio 9 x 0', 'a=ice-ufrag:EsAw', 'a=ice-options:trickle ice2', 'a=ice-lite'].join('\n'),
    );
    assert.equal(d.ufrag, 'EsAw');
    assert.deepEqual(d.options, ['trickle', 'ice2']);
    assert.equal(d.lite, true);
    assert.throws(
      () => parseIceDescription('a=ice-pwd:asd88fgpdd777uzjYhagZg\na=ice-pwd:asd88fgpdd777uzjYhagZh'),
      (e: unknown) => e instanceof IceSdpError && e.code === 'CONFLICT' && e.line === 2,
    );
  });

  it('gives an empty description for an empty text', () => {
    assert.deepEqual(parseIceDescription(''), { options: [], lite: false, candidates: [], endOfCandidates: false });
    assert.throws(() => parseIceDescription(undefined as unknown as string), IceSdpError);
  });
});

describe('formatIceDescription', () => {
  const description: IceDescription = {
    ufrag: '8hhY',
    pwd: 'asd88fgpdd777uzjYhagZg',
    options: ['trickle', 'ice2'],
    lite: true,
    candidates: [
      parseCandidate('candidate:1 1 udp 2130706431 192.0.2.3 45664 typ host'),
      parseCandidate('candidate:2 1 udp 1694498815 203.0.113.141 8998 typ srflx raddr 192.0.2.3 rport 45664'),
    ],
    endOfCandidates: true,
  };

  it('writes lines in the documented order', () => {
    assert.deepEqual(formatIceDescription(description), [
      'a=ice-ufrag:8hhY',
      'a=ice-pwd:asd88fgpdd777uzjYhagZg',
      'a=ice-options:trickle ice2',
      'a=ice-lite',
      'a=candidate:1 1 udp 2130706431 192.0.2.3 45664 typ host',
      'a=candidate:2 1 udp 1694498815 203.0.113.141 8998 typ srflx raddr 192.0.2.3 rport 45664',
      'a=end-of-candidates',
    ]);
    assert.deepEqual(formatIceDescription({ options: [], lite: false, candidates: [], endOfCandidates: false }), []);
  });

  it('round-trips through parseIceDescription, strictly', () => {
    assert.deepEqual(parseIceDescription(formatIceDescription(description).join('\r\n'), { strict: true }), description);
  });

  it('refuses values it would not read back, naming the output line', () => {
    const bad: [Partial<IceDescription>, string, number][] = [
      [{ ufrag: 'abc' }, 'UFRAG', 1],
      [{ pwd: 'short' }, 'PWD', 2],
      [{ options: ['has space'] }, 'OPTIONS', 3],
      [{ options: [''] }, 'OPTIONS', 3],
      [{ candidates: [{ ...description.candidates[0] }, { ...description.candidates[1], port: 70000 }] }, 'CANDIDATE', 6],
    ];
    for (const [patch, code, line] of bad) {
      assert.throws(
        () => formatIceDescription({ ...description, ...patch }),
        (e: unknown) => e instanceof IceSdpError && e.code === code && e.line === line,
        JSON.stringify(patch),
      );
    }
  });
});

describe('SDP fuzzing: a description or an IceSdpError, never anything else', () => {
  const lines = CHROMIUM_OFFER.split('\r\n');
  const line = fc.oneof(fc.constantFrom(...lines), fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `a=${s}`), fc.string({ maxLength: 30 }));
  const prefix = fc.constantFrom('a=candidate:', 'a=ice-ufrag:', 'a=ice-pwd:', 'a=ice-options:', 'a=ice-lite', 'a=end-of-candidates', '');

  it('survives 3 000 random texts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(line, fc.tuple(prefix, fc.string({ maxLength: 40 })).map(([p, s]) => p + s)), { maxLength: 12 }), fc.boolean(), (ls, strict) => {
        const text = ls.join(strict ? '\n' : '\r\n');
        try {
          const d = parseIceDescription(text, { strict });
          // Whatever was read writes back and reads back the same.
          assert.deepEqual(parseIceDescription(formatIceDescription(d).join('\r\n'), { strict: true }), d);
        } catch (e) {
          if (!(e instanceof IceSdpError)) throw e;
          assert.ok(e.line >= 1 && e.line <= text.split('\n').length);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
