import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { candidateFromInit, formatCandidate, parseCandidate, type IceCandidate, type IceCandidateType } from '../../src/ice/candidate.js';
import { IceSdpError } from '../../src/ice/sdp.js';
import { DUMMY_FINGERPRINT, fromSessionDescription, toSessionDescription, type SessionDescriptionOptions, type SessionIceDescription } from '../../src/ice/session-description.js';
import { formatIp, parseIp } from '../../src/net/ip.js';

// Real descriptions, as Chromium 156 (headless, Linux) gave them for `createDataChannel('x')`; CRLF as on the wire.
const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;
const CHROMIUM_SESSION = ['v=0', 'o=- 7646911131253551653 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS'];
const CHROMIUM_MEDIA_HEAD = ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0'];
const CHROMIUM_DTLS = [
  'a=fingerprint:sha-256 14:20:F5:A4:26:71:A6:6F:02:30:4A:6F:74:5D:2C:D9:A6:C0:3B:33:18:77:BC:BE:71:90:95:7E:67:CD:7E:52',
];
/** createOffer()'s result, before any candidate was gathered. */
const CHROMIUM_OFFER_INITIAL = crlf([
  ...CHROMIUM_SESSION,
  ...CHROMIUM_MEDIA_HEAD,
  'a=ice-ufrag:VVhK',
  'a=ice-pwd:EKftft8mDyb450WjApYcnLJg',
  'a=ice-options:trickle',
  ...CHROMIUM_DTLS,
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
]);
/** localDescription once gathering completed: mDNS host candidates before the ICE credentials. */
const CHROMIUM_OFFER_GATHERED = crlf([
  ...CHROMIUM_SESSION,
  ...CHROMIUM_MEDIA_HEAD,
  'a=candidate:1902488242 1 udp 2113937151 e3240007-9606-4a38-b360-964661068560.local 46407 typ host generation 0 network-cost 999',
  'a=candidate:1981269506 1 udp 2113942271 97f63f5e-ed10-4ba8-8aa1-53944f5434a9.local 47950 typ host generation 0 network-cost 999',
  'a=ice-ufrag:VVhK',
  'a=ice-pwd:EKftft8mDyb450WjApYcnLJg',
  'a=ice-options:trickle',
  ...CHROMIUM_DTLS,
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
]);
/** Another RTCPeerConnection's answer to that offer. */
const CHROMIUM_ANSWER = crlf([
  'v=0',
  'o=- 8488535660649568979 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  ...CHROMIUM_MEDIA_HEAD,
  'a=candidate:674710346 1 udp 2113937151 e3240007-9606-4a38-b360-964661068560.local 54463 typ host generation 0 network-cost 999',
  'a=candidate:793063418 1 udp 2113942271 97f63f5e-ed10-4ba8-8aa1-53944f5434a9.local 46868 typ host generation 0 network-cost 999',
  'a=ice-ufrag:CQ0D',
  'a=ice-pwd:l4wpjXU4Nf7ZghB1B2L0znm4',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 7E:56:D0:77:FB:8F:21:EE:71:FB:9A:15:39:3E:36:E9:75:3C:ED:EE:F8:81:BD:10:63:7B:B2:42:4C:B4:43:02',
  'a=setup:active',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
]);
/** addTransceiver('audio') + createDataChannel('x'), mDNS off: the data channel is the second m-section (mid 1). Codec lines trimmed. */
const CHROMIUM_AUDIO_AND_DATA = crlf([
  'v=0',
  'o=- 1448558415461991850 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=audio 40343 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'c=IN IP4 192.0.2.2',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:4002151424 1 udp 2113937151 192.0.2.2 40343 typ host generation 0 network-cost 999',
  'a=candidate:636304864 1 udp 2113942271 fd00::2 60300 typ host generation 0 network-cost 999',
  'a=ice-ufrag:juHA',
  'a=ice-pwd:KhcE54BmIZHaUFmUVXVuFnbU',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 25:CB:64:1A:37:51:3C:6A:BE:03:A5:74:8D:83:26:71:BA:3B:FD:27:8C:E4:F0:08:FB:5C:0C:27:C1:30:08:6F',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'm=application 50676 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 192.0.2.2',
  'a=candidate:4002151424 1 udp 2113937151 192.0.2.2 50676 typ host generation 0 network-cost 999',
  'a=candidate:636304864 1 udp 2113942271 fd00::2 47216 typ host generation 0 network-cost 999',
  'a=ice-ufrag:juHA',
  'a=ice-pwd:KhcE54BmIZHaUFmUVXVuFnbU',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 25:CB:64:1A:37:51:3C:6A:BE:03:A5:74:8D:83:26:71:BA:3B:FD:27:8C:E4:F0:08:FB:5C:0C:27:C1:30:08:6F',
  'a=setup:actpass',
  'a=mid:1',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
]);

const PARAMS = { usernameFragment: 'ib4x', password: 'abcdefghijklmnopqrstuv' };
const HOST = 'candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host';
const SRFLX = 'candidate:2 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 127.0.0.1 rport 50000';

function sdpError(code: string, line?: number, reason?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof IceSdpError, `not an IceSdpError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (line !== undefined) assert.equal(e.line, line, e.message);
    if (reason) assert.match(e.reason, reason);
    return true;
  };
}

describe('fromSessionDescription on Chromium descriptions', () => {
  it('reads an offer before gathering: credentials, options, DTLS lines, no candidates', () => {
    const d = fromSessionDescription(CHROMIUM_OFFER_INITIAL);
    assert.deepEqual(d.parameters, { usernameFragment: 'VVhK', password: 'EKftft8mDyb450WjApYcnLJg', iceOptions: ['trickle'] });
    assert.deepEqual(d.candidates, []);
    assert.equal(d.endOfCandidates, false);
    assert.equal(d.mid, '0');
    assert.equal(d.mLineIndex, 0);
    assert.deepEqual(d.iceOptions, ['trickle']);
    assert.equal(d.iceLite, false);
    assert.equal(d.fingerprint, CHROMIUM_DTLS[0].slice('a=fingerprint:'.length));
    assert.equal(d.setup, 'actpass');
  });

  it('gives the gathered candidates as RTCIceCandidateInit with sdpMid, sdpMLineIndex and usernameFragment', () => {
    const d = fromSessionDescription({ type: 'offer', sdp: CHROMIUM_OFFER_GATHERED });
    assert.equal(d.candidates.length, 2);
    assert.deepEqual(d.candidates[0], {
      candidate: 'candidate:1902488242 1 udp 2113937151 e3240007-9606-4a38-b360-964661068560.local 46407 typ host generation 0 network-cost 999',
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'VVhK',
    });
    // The inits are what addRemoteCandidate takes: they parse, and keep their ICE generation.
    const c = candidateFromInit(d.candidates[1]);
    assert.ok(c);
    assert.equal(c.port, 47950);
    assert.deepEqual(c.extensions.at(-1), ['ufrag', 'VVhK']);
  });

  it("reads an answer's setup", () => {
    const d = fromSessionDescription(CHROMIUM_ANSWER);
    assert.equal(d.setup, 'active');
    assert.equal(d.parameters.usernameFragment, 'CQ0D');
    assert.equal(d.candidates.length, 2);
  });

  it('picks the data channel section of a description with audio too', () => {
    const d = fromSessionDescription(CHROMIUM_AUDIO_AND_DATA);
    assert.equal(d.mid, '1');
    assert.equal(d.mLineIndex, 1);
    assert.deepEqual(
      d.candidates.map((c) => [c.candidate.split(' ')[5], c.sdpMid, c.sdpMLineIndex]),
      [['50676', '1', 1], ['47216', '1', 1]],
    );
  });

  it('falls back to session-level ICE and DTLS lines, and lets media-level ones win', () => {
    const sdp = crlf([
      'v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0',
      'a=ice-ufrag:sess', 'a=ice-pwd:sessionpasswordsession1', 'a=ice-options:trickle', 'a=ice-lite', 'a=setup:passive', `a=fingerprint:${DUMMY_FINGERPRINT}`,
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=ice-pwd:mediapasswordmediapass1', `a=${HOST}`, 'a=end-of-candidates',
    ]);
    const d = fromSessionDescription(sdp);
    assert.deepEqual(d.parameters, { usernameFragment: 'sess', password: 'mediapasswordmediapass1', iceLite: true, iceOptions: ['trickle'] });
    assert.deepEqual(d.iceOptions, ['trickle']);
    assert.equal(d.iceLite, true);
    assert.equal(d.setup, 'passive');
    assert.equal(d.fingerprint, DUMMY_FINGERPRINT);
    assert.equal(d.mid, null);
    assert.equal(d.endOfCandidates, true);
    assert.equal(d.candidates[0].sdpMid, null);
  });
});

describe('fromSessionDescription refuses bad input with IceSdpError', () => {
  const lines = CHROMIUM_OFFER_GATHERED.split('\r\n');
  const replaced = (prefix: string, line: string | null): string =>
    lines.flatMap((l) => (l.startsWith(prefix) ? (line === null ? [] : [line]) : [l])).join('\r\n');
  const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix)) + 1;

  it('names the line at fault, counted in the whole description', () => {
    assert.throws(() => fromSessionDescription('hello'), sdpError('SYNTAX', 1));
    assert.throws(() => fromSessionDescription(replaced('a=candidate:1981269506', 'a=candidate:1 1 udp 1 300.1.1.1 1 typ host')), sdpError('CANDIDATE', at('a=candidate:1981269506')));
    assert.throws(() => fromSessionDescription(replaced('a=ice-ufrag', 'a=ice-ufrag:no')), sdpError('UFRAG', at('a=ice-ufrag')));
    assert.throws(() => fromSessionDescription(replaced('a=fingerprint', 'a=fingerprint:sha-256 nothex')), sdpError('SYNTAX', at('a=fingerprint'), /fingerprint/));
    assert.throws(() => fromSessionDescription(replaced('a=setup', 'a=setup:sometimes')), sdpError('SYNTAX', at('a=setup'), /setup/));
    assert.throws(() => fromSessionDescription(replaced('a=mid', 'a=mid:a b')), sdpError('SYNTAX', at('a=mid'), /mid/));
    assert.throws(() => fromSessionDescription(`${CHROMIUM_OFFER_GATHERED}a=ice-ufrag:other\r\n`), sdpError('CONFLICT', lines.length));
  });

  it('needs a data channel section and its credentials', () => {
    assert.throws(() => fromSessionDescription(replaced('m=application', 'm=audio 9 UDP/TLS/RTP/SAVPF 111')), sdpError('SYNTAX', 0, /webrtc-datachannel/));
    assert.throws(() => fromSessionDescription(replaced('a=ice-ufrag', null)), sdpError('UFRAG', at('m=')));
    assert.throws(() => fromSessionDescription(replaced('a=ice-pwd', null)), sdpError('PWD', at('m=')));
    // Credentials of another section do not count for the data channel.
    const audioOnlyCreds = CHROMIUM_AUDIO_AND_DATA.replace(/(m=application[^]*?)a=ice-ufrag:juHA\r\n/, '$1');
    assert.throws(() => fromSessionDescription(audioOnlyCreds), sdpError('UFRAG'));
  });

  it('refuses what is not SDP text', () => {
    for (const input of [undefined, null, 42, {}, { sdp: null }]) {
      assert.throws(() => fromSessionDescription(input as unknown as string), sdpError('SYNTAX', 0));
    }
  });
});

describe('toSessionDescription', () => {
  it('writes an offer a browser takes: session frame, one data-channel section, ICE and DTLS lines', () => {
    const sdp = toSessionDescription({ parameters: PARAMS, candidates: [HOST, `a=${SRFLX}`], endOfCandidates: true }, { role: 'offer', sessionId: '42' });
    assert.ok(sdp.endsWith('\r\n') && !sdp.replaceAll('\r\n', '').includes('\n'), 'CRLF line endings');
    assert.deepEqual(sdp.split('\r\n'), [
      'v=0',
      'o=- 42 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:ib4x',
      'a=ice-pwd:abcdefghijklmnopqrstuv',
      'a=ice-options:trickle',
      `a=fingerprint:${DUMMY_FINGERPRINT}`,
      'a=setup:actpass',
      'a=mid:0',
      'a=sctp-port:5000',
      'a=max-message-size:262144',
      `a=${HOST}`,
      `a=${SRFLX}`,
      'a=end-of-candidates',
      '',
    ]);
  });

  it('answers passive by default, follows the given mid, and writes ice-lite at session level', () => {
    const sdp = toSessionDescription({ parameters: { ...PARAMS, iceLite: true }, candidates: [] }, { role: 'answer', mid: 'data' });
    const lines = sdp.split('\r\n');
    assert.ok(lines.includes('a=setup:passive'));
    assert.ok(lines.includes('a=group:BUNDLE data') && lines.includes('a=mid:data'));
    assert.ok(lines.indexOf('a=ice-lite') < lines.findIndex((l) => l.startsWith('m=')), 'a=ice-lite before the m= line');
    assert.ok(!lines.includes('a=end-of-candidates'));
    assert.match(lines[1], /^o=- [0-9]+ 2 IN IP4 127\.0\.0\.1$/);
    assert.ok(toSessionDescription({ parameters: PARAMS, candidates: [] }, { role: 'answer', setup: 'active' }).includes('a=setup:active\r\n'));
  });

  it('takes RTCIceCandidateInit, parsed candidates and lines alike; an empty init is end of candidates', () => {
    const parsed = parseCandidate(SRFLX);
    const sdp = toSessionDescription(
      { parameters: PARAMS, candidates: [{ candidate: HOST, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'ib4x' }, parsed, { candidate: '' }] },
      { role: 'offer' },
    );
    const d = fromSessionDescription(sdp);
    assert.deepEqual(d.candidates.map((c) => c.candidate), [`${HOST} ufrag ib4x`, SRFLX]);
    assert.equal(d.endOfCandidates, true);
  });

  it('refuses bad input with IceSdpError', () => {
    const ok: SessionIceDescription = { parameters: PARAMS, candidates: [HOST] };
    const to = (d: Partial<SessionIceDescription>, o: Partial<SessionDescriptionOptions> = {}): string =>
      toSessionDescription({ ...ok, ...d }, { role: 'offer', ...o } as SessionDescriptionOptions);
    assert.throws(() => to({}, { role: 'pranswer' as 'offer' }), sdpError('SYNTAX', 0, /role/));
    assert.throws(() => to({}, { role: 'answer', setup: 'actpass' }), sdpError('SYNTAX', 0, /actpass/));
    assert.throws(() => to({}, { fingerprint: 'sha-256' }), sdpError('SYNTAX', 0, /fingerprint/));
    assert.throws(() => to({}, { mid: 'a b' }), sdpError('SYNTAX', 0, /mid/));
    assert.throws(() => to({}, { sctpPort: 70000 }), sdpError('SYNTAX', 0, /sctpPort/));
    assert.throws(() => to({}, { sessionId: '-1' }), sdpError('SYNTAX', 0, /sessionId/));
    // Credentials are checked by sdp.ts's formatter; the line is where it would have been written.
    assert.throws(() => to({ parameters: { usernameFragment: 'x', password: PARAMS.password } }), sdpError('UFRAG', 8));
    assert.throws(() => to({ parameters: { usernameFragment: 'ib4x', password: 'short' } }), sdpError('PWD', 9));
    assert.throws(() => to({ parameters: { password: PARAMS.password } as typeof PARAMS }), sdpError('UFRAG', 0));
    assert.throws(() => to({}, { iceOptions: ['trickle', 'no space'] }), sdpError('OPTIONS', 10));
    assert.throws(() => to({ candidates: [HOST, 'candidate:1 1 udp 1 host'] }), sdpError('CANDIDATE', 0, /candidates\[1\]/));
    assert.throws(() => to({ candidates: [{ candidate: HOST, usernameFragment: '!' }] }), sdpError('CANDIDATE', 0, /candidates\[0\]/));
    assert.throws(() => to({ candidates: ['a=ice-lite'] }), sdpError('CANDIDATE', 0));
    assert.throws(() => to({ candidates: [`${HOST} ufrag old1`] }), sdpError('CONFLICT', 0, /another ICE generation/));
    // What no TypeScript caller can write: a missing options or description, candidates that are no array (taken as none).
    assert.throws(() => toSessionDescription(ok, undefined as unknown as SessionDescriptionOptions), sdpError('SYNTAX', 0, /role/));
    assert.throws(() => toSessionDescription(null as unknown as SessionIceDescription, { role: 'offer' }), sdpError('SYNTAX', 0, /the description must be/));
    assert.throws(() => to({ candidates: HOST as unknown as string[] }), sdpError('SYNTAX', 0, /candidates must be an array/));
  });
});

// ---- properties ----

const iceChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';
const iceString = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...iceChars), minLength: min, maxLength: max });
const canonicalIp = fc.oneof(fc.ipV4(), fc.ipV6()).map((a) => formatIp(parseIp(a)));
const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~');
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 8 });
const arbCandidate: fc.Arbitrary<IceCandidate> = fc
  .record({
    foundation: iceString(1, 32),
    component: fc.integer({ min: 1, max: 2 }),
    priority: fc.integer({ min: 0, max: 0xffffffff }),
    address: fc.oneof(canonicalIp, fc.uuid().map((u) => `${u}.local`)),
    port: fc.integer({ min: 1, max: 65535 }),
    type: fc.constantFrom<IceCandidateType>('host', 'srflx', 'prflx', 'relay'),
    related: fc.option(fc.record({ address: canonicalIp, port: fc.integer({ min: 0, max: 65535 }) }), { nil: undefined }),
    extensions: fc.array(fc.tuple(token.filter((n) => !['raddr', 'rport', 'tcptype', 'ufrag'].includes(n)), token), { maxLength: 3 }),
  })
  .map(({ related, ...c }) => ({ ...c, protocol: 'udp' as const, ...(related ? { relatedAddress: related.address, relatedPort: related.port } : {}) }));
const fingerprintArb = fc
  .tuple(fc.constantFrom('sha-1', 'sha-256', 'sha-512'), fc.uint8Array({ minLength: 20, maxLength: 64 }))
  .map(([h, b]) => `${h} ${Array.from(b, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':')}`);

describe('session description properties', () => {
  it('from(to(d)) gives back the parameters, candidates, end of candidates, mid, options, lite, fingerprint and setup', () => {
    fc.assert(
      fc.property(
        fc.record({
          ufrag: iceString(4, 32),
          pwd: iceString(22, 64),
          lite: fc.boolean(),
          candidates: fc.array(arbCandidate, { maxLength: 6 }),
          endOfCandidates: fc.boolean(),
          role: fc.constantFrom('offer' as const, 'answer' as const),
          mid: fc.option(token, { nil: undefined }),
          options: fc.option(fc.uniqueArray(fc.constantFrom('trickle', 'ice2', 'renomination'), { minLength: 1 }), { nil: undefined }),
          fingerprint: fc.option(fingerprintArb, { nil: undefined }),
          active: fc.boolean(),
        }),
        (p) => {
          const setup = p.role === 'offer' ? 'actpass' : p.active ? 'active' : 'passive';
          const sdp = toSessionDescription(
            { parameters: { usernameFragment: p.ufrag, password: p.pwd, iceLite: p.lite }, candidates: p.candidates.map(formatCandidate), endOfCandidates: p.endOfCandidates },
            { role: p.role, setup, ...(p.mid === undefined ? {} : { mid: p.mid }), ...(p.options ? { iceOptions: p.options } : {}), ...(p.fingerprint ? { fingerprint: p.fingerprint } : {}) },
          );
          const d = fromSessionDescription(sdp);
          assert.deepEqual(d.parameters, { usernameFragment: p.ufrag, password: p.pwd, ...(p.lite ? { iceLite: true } : {}), iceOptions: p.options ?? ['trickle'] });
          assert.deepEqual(d.candidates.map((c) => parseCandidate(c.candidate)), p.candidates);
          assert.ok(d.candidates.every((c) => c.sdpMid === (p.mid ?? '0') && c.sdpMLineIndex === 0 && c.usernameFragment === p.ufrag));
          assert.equal(d.endOfCandidates, p.endOfCandidates);
          assert.equal(d.mid, p.mid ?? '0');
          assert.deepEqual(d.iceOptions, p.options ?? ['trickle']);
          assert.equal(d.iceLite, p.lite);
          assert.equal(d.fingerprint, p.fingerprint ?? DUMMY_FINGERPRINT);
          assert.equal(d.setup, setup);
          // And the result of reading is good input for writing: the same description again.
          const again = toSessionDescription({ ...d, parameters: d.parameters }, { role: p.role, setup, mid: d.mid ?? '0', iceOptions: d.iceOptions, fingerprint: d.fingerprint ?? DUMMY_FINGERPRINT, sessionId: sdp.split(' ')[1] });
          assert.equal(again.replace(/ ufrag [^ \r]+/g, ''), sdp);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a damaged Chromium description reads or throws IceSdpError, nothing else', () => {
    const lines = CHROMIUM_OFFER_GATHERED.split('\r\n');
    fc.assert(
      fc.property(fc.nat(lines.length - 1), fc.nat(200), fc.string({ maxLength: 4 }), (index, at, text) => {
        const damaged = [...lines];
        const line = damaged[index];
        const cut = at % (line.length + 1);
        damaged[index] = line.slice(0, cut) + text + line.slice(cut + text.length);
        try {
          fromSessionDescription(damaged.join('\r\n'));
        } catch (e) {
          if (!(e instanceof IceSdpError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
