import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IceCandidateError,
  TYPE_PREFERENCE,
  candidateFromInit,
  candidateKey,
  candidateToInit,
  candidateToJSON,
  computeFoundation,
  computePriority,
  formatCandidate,
  parseCandidate,
  type IceCandidate,
  type IceCandidateType,
} from '../../src/ice/candidate.js';
import { formatIp, parseIp } from '../../src/net/ip.js';

/** Lines as real implementations write them (addresses from the documentation ranges). */
const CHROMIUM_SRFLX =
  'candidate:842163049 1 udp 1677729535 203.0.113.5 60769 typ srflx raddr 10.0.0.2 rport 60769 generation 0 ufrag EsAw network-id 1 network-cost 10';
const CHROMIUM_HOST_V6 =
  'candidate:1467250027 1 udp 2122260223 2001:db8:85a3::8a2e:370:7334 46243 typ host generation 0 ufrag EsAw network-id 2 network-cost 50';
const CHROMIUM_TCP_PASSIVE =
  'candidate:2244089327 1 tcp 1518214911 192.168.1.2 50001 typ host tcptype passive generation 0 ufrag EsAw network-id 1';
const CHROMIUM_TCP_ACTIVE = 'candidate:1853887674 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active generation 0 network-id 1';
const CHROMIUM_RELAY =
  'candidate:3626914960 1 udp 41885439 198.51.100.7 53987 typ relay raddr 203.0.113.5 rport 60769 generation 0 ufrag EsAw network-id 1 network-cost 10';
const CHROMIUM_MDNS =
  'candidate:2395300328 1 udp 2113937151 5a1c8f2e-3b9b-4c6c-8d3b-2f1e0a9b7c6d.local 54321 typ host generation 0 ufrag EsAw network-cost 999';
const CHROMIUM_HIDDEN_RADDR = 'candidate:842163049 1 udp 1677729535 203.0.113.5 60769 typ srflx raddr 0.0.0.0 rport 0 generation 0';
const FIREFOX_HOST = 'candidate:0 1 UDP 2122252543 192.168.1.100 49203 typ host';
const FIREFOX_SRFLX = 'candidate:1 1 UDP 1686052607 203.0.113.5 49203 typ srflx raddr 192.168.1.100 rport 49203';
const FIREFOX_TCP = 'candidate:2 1 TCP 2105524479 192.168.1.100 9 typ host tcptype active';
const AIOICE_HOST = 'candidate:0fbc4f1b9fcd0d3cb1de6ea6a6c1b2d0 1 UDP 2130706431 192.168.1.5 50905 typ host';
const RFC8839_EXAMPLE = 'a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998';

describe('parseCandidate: lines from real implementations', () => {
  it('reads a Chromium server-reflexive candidate with its extensions in order', () => {
    assert.deepEqual(parseCandidate(CHROMIUM_SRFLX), {
      foundation: '842163049',
      component: 1,
      protocol: 'udp',
      priority: 1677729535,
      address: '203.0.113.5',
      port: 60769,
      type: 'srflx',
      relatedAddress: '10.0.0.2',
      relatedPort: 60769,
      extensions: [
        ['generation', '0'],
        ['ufrag', 'EsAw'],
        ['network-id', '1'],
        ['network-cost', '10'],
      ],
    });
  });

  it('reads IPv6 host, TCP passive and active, relay, mDNS and hidden-raddr candidates', () => {
    const v6 = parseCandidate(CHROMIUM_HOST_V6);
    assert.equal(v6.address, '2001:db8:85a3::8a2e:370:7334');
    assert.equal(v6.type, 'host');
    assert.equal(v6.relatedAddress, undefined);

    const passive = parseCandidate(CHROMIUM_TCP_PASSIVE);
    assert.equal(passive.protocol, 'tcp');
    assert.equal(passive.tcpType, 'passive');
    assert.deepEqual(passive.extensions[0], ['generation', '0']);

    const active = parseCandidate(CHROMIUM_TCP_ACTIVE);
    assert.equal(active.tcpType, 'active');
    assert.equal(active.port, 9);

    const relay = parseCandidate(CHROMIUM_RELAY);
    assert.equal(relay.type, 'relay');
    assert.equal(relay.relatedAddress, '203.0.113.5');
    assert.equal(relay.relatedPort, 60769);

    const mdns = parseCandidate(CHROMIUM_MDNS);
    assert.equal(mdns.address, '5a1c8f2e-3b9b-4c6c-8d3b-2f1e0a9b7c6d.local');

    const hidden = parseCandidate(CHROMIUM_HIDDEN_RADDR);
    assert.equal(hidden.relatedAddress, '0.0.0.0');
    assert.equal(hidden.relatedPort, 0);
  });

  it('reads Firefox and aioice lines with upper-case transports', () => {
    assert.equal(parseCandidate(FIREFOX_HOST).protocol, 'udp');
    assert.equal(parseCandidate(FIREFOX_HOST).foundation, '0');
    assert.equal(parseCandidate(FIREFOX_SRFLX).relatedAddress, '192.168.1.100');
    assert.equal(parseCandidate(FIREFOX_TCP).protocol, 'tcp');
    assert.equal(parseCandidate(FIREFOX_TCP).tcpType, 'active');
    const aioice = parseCandidate(AIOICE_HOST);
    assert.equal(aioice.foundation.length, 32);
    assert.equal(aioice.priority, 2130706431);
    assert.deepEqual(aioice.extensions, []);
  });

  it('accepts "a=", a trailing CRLF or LF, surrounding blanks and tabs between fields', () => {
    const expected = parseCandidate(RFC8839_EXAMPLE.slice(2));
    assert.deepEqual(parseCandidate(RFC8839_EXAMPLE), expected);
    assert.deepEqual(parseCandidate(`${RFC8839_EXAMPLE}\r\n`), expected);
    assert.deepEqual(parseCandidate(`${RFC8839_EXAMPLE}\n`), expected);
    assert.deepEqual(parseCandidate(`  ${RFC8839_EXAMPLE.replaceAll(' ', ' \t ')}  `), expected);
  });

  it('writes IPv6 addresses in RFC 5952 form', () => {
    const c = parseCandidate('candidate:1 1 udp 1 2001:DB8:0:0:0:0:0:1 5000 typ srflx raddr ::FFFF:192.0.2.1 rport 1');
    assert.equal(c.address, '2001:db8::1');
    assert.equal(c.relatedAddress, '::ffff:192.0.2.1');
  });
});

describe('formatCandidate', () => {
  it('gives back Chromium lines exactly', () => {
    for (const line of [CHROMIUM_SRFLX, CHROMIUM_HOST_V6, CHROMIUM_TCP_PASSIVE, CHROMIUM_TCP_ACTIVE, CHROMIUM_RELAY, CHROMIUM_MDNS, CHROMIUM_HIDDEN_RADDR]) {
      assert.equal(formatCandidate(parseCandidate(line)), line);
    }
  });

  it('writes the transport in lower case and nothing else differs', () => {
    for (const line of [FIREFOX_HOST, FIREFOX_SRFLX, FIREFOX_TCP, AIOICE_HOST]) {
      assert.equal(formatCandidate(parseCandidate(line)), line.replace(/ (UDP|TCP) /, (m) => m.toLowerCase()));
    }
  });

  it('puts raddr, rport and tcptype before the extensions, whatever order they were read in', () => {
    const c = parseCandidate('candidate:1 1 tcp 5 192.0.2.1 4000 typ srflx generation 0 tcptype so rport 4001 raddr 10.0.0.1');
    assert.equal(formatCandidate(c), 'candidate:1 1 tcp 5 192.0.2.1 4000 typ srflx raddr 10.0.0.1 rport 4001 tcptype so generation 0');
  });

  it('refuses to write what it would not read', () => {
    const good = parseCandidate(CHROMIUM_SRFLX);
    const bad: [Partial<IceCandidate>, string][] = [
      [{ foundation: '' }, 'FOUNDATION'],
      [{ foundation: 'a-b' }, 'FOUNDATION'],
      [{ component: 0 }, 'COMPONENT'],
      [{ component: 257 }, 'COMPONENT'],
      [{ priority: 2 ** 32 }, 'PRIORITY'],
      [{ priority: 1.5 }, 'PRIORITY'],
      [{ address: '[::1]' }, 'ADDRESS'],
      [{ address: 'a b' }, 'ADDRESS'],
      [{ port: 65536 }, 'PORT'],
      [{ port: 0 }, 'PORT'],
      [{ relatedPort: -1 }, 'RELATED'],
      [{ tcpType: 'passive' }, 'TCPTYPE'],
      [{ extensions: [['raddr', '1.2.3.4']] }, 'EXTENSION'],
      [{ extensions: [['ok', '']] }, 'EXTENSION'],
      [{ extensions: [['ok', 'a b']] }, 'EXTENSION'],
      [{ extensions: [['a b', 'x']] }, 'EXTENSION'],
    ];
    for (const [patch, code] of bad) {
      assert.throws(
        () => formatCandidate({ ...good, ...patch }),
        (e: unknown) => e instanceof IceCandidateError && e.code === code,
        JSON.stringify(patch),
      );
    }
  });
});

describe('parseCandidate: malformed lines are IceCandidateErrors with a stable code', () => {
  const base = 'candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host';
  const cases: [string, string][] = [
    ['', 'SYNTAX'],
    ['a=', 'SYNTAX'],
    ['candidate', 'SYNTAX'],
    ['candidat:1 1 udp 1 192.0.2.1 5000 typ host', 'SYNTAX'],
    ['candidate:1 1 udp 1 192.0.2.1 5000 typ', 'SYNTAX'],
    ['candidate:1 1 udp 1 192.0.2.1 5000 type host', 'SYNTAX'],
    ['candidate:1 1 udp 1 192.0.2.1 5000 host', 'SYNTAX'],
    ['candidate: 1 udp 1 192.0.2.1 5000 typ host x', 'FOUNDATION'],
    ['candidate:a=b 1 udp 1 192.0.2.1 5000 typ host', 'FOUNDATION'],
    [`candidate:${'f'.repeat(33)} 1 udp 1 192.0.2.1 5000 typ host`, 'FOUNDATION'],
    ['candidate:1 0 udp 1 192.0.2.1 5000 typ host', 'COMPONENT'],
    ['candidate:1 257 udp 1 192.0.2.1 5000 typ host', 'COMPONENT'],
    ['candidate:1 0001 udp 1 192.0.2.1 5000 typ host', 'COMPONENT'],
    ['candidate:1 -1 udp 1 192.0.2.1 5000 typ host', 'COMPONENT'],
    ['candidate:1 1 sctp 1 192.0.2.1 5000 typ host', 'TRANSPORT'],
    ['candidate:1 1 ssltcp 1 192.0.2.1 5000 typ host', 'TRANSPORT'],
    ['candidate:1 1 udp 4294967296 192.0.2.1 5000 typ host', 'PRIORITY'],
    ['candidate:1 1 udp 1e9 192.0.2.1 5000 typ host', 'PRIORITY'],
    ['candidate:1 1 udp -5 192.0.2.1 5000 typ host', 'PRIORITY'],
    ['candidate:1 1 udp 1 192.0.2.256 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 010.0.0.1 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 [2001:db8::1] 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 fe80::1%eth0 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 2001:db8:::1 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 -bad-.local 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 under_score.local 5000 typ host', 'ADDRESS'],
    ['candidate:1 1 udp 1 192.0.2.1 65536 typ host', 'PORT'],
    ['candidate:1 1 udp 1 192.0.2.1 0 typ host', 'PORT'],
    ['candidate:1 1 tcp 1 192.0.2.1 0 typ host tcptype passive', 'PORT'],
    ['candidate:1 1 udp 1 192.0.2.1 port typ host', 'PORT'],
    ['candidate:1 1 udp 1 192.0.2.1 5000 typ HOST', 'TYPE'],
    ['candidate:1 1 udp 1 192.0.2.1 5000 typ stun', 'TYPE'],
    [`${base} raddr`, 'EXTENSION'],
    [`${base} raddr 1.2.3`, 'RELATED'],
    [`${base} raddr 1.2.3.4 raddr 1.2.3.4`, 'RELATED'],
    [`${base} rport 70000`, 'RELATED'],
    [`${base} rport 1 rport 1`, 'RELATED'],
    [`${base} tcptype passive`, 'TCPTYPE'],
    ['candidate:1 1 tcp 1 192.0.2.1 9 typ host tcptype server', 'TCPTYPE'],
    ['candidate:1 1 tcp 1 192.0.2.1 9 typ host tcptype active tcptype active', 'TCPTYPE'],
    [`${base} generation`, 'EXTENSION'],
    [`${base} gen(eration) 0`, 'EXTENSION'],
    [`${base} generation \u00e9`, 'EXTENSION'],
    [`${base} generation 0\r\nx 1`, 'EXTENSION'],
  ];
  for (const [line, code] of cases) {
    it(`${code}: ${JSON.stringify(line).slice(0, 90)}`, () => {
      assert.throws(
        () => parseCandidate(line),
        (e: unknown) => e instanceof IceCandidateError && e instanceof TypeError && e.code === code && e.reason.length > 0,
      );
    });
  }

  it('refuses values that are not strings', () => {
    for (const v of [undefined, null, 42, {}]) {
      assert.throws(() => parseCandidate(v as unknown as string), IceCandidateError);
    }
  });

  it('stays linear on pathological input', () => {
    const started = performance.now();
    for (const text of [
      `candidate:${'\n'.repeat(200_000)}x`,
      `candidate:1 1 udp 1 192.0.2.1 5000 typ host${' '.repeat(200_000)}x`,
      `a=candidate:1 1 udp 1 192.0.2.1 5000 typ host ${'a 1 '.repeat(50_000)}`,
      `${' \t'.repeat(100_000)}candidate:`,
      `candidate:1 1 udp 1 ${'a.'.repeat(100_000)}local 5000 typ host`,
    ]) {
      try {
        parseCandidate(text);
      } catch (e) {
        assert.ok(e instanceof IceCandidateError);
      }
    }
    // Quadratic behaviour on 200 000 characters would take minutes; the margin allows for a loaded machine.
    assert.ok(performance.now() - started < 3000, 'took over 3 s');
  });
});

describe('computePriority (RFC 8445 §5.1.2.1)', () => {
  const formula = (type: IceCandidateType, local: number, component: number): number =>
    2 ** 24 * TYPE_PREFERENCE[type] + 2 ** 8 * local + (256 - component);

  it('uses the RFC 8445 §5.1.2.2 type preferences', () => {
    assert.deepEqual(TYPE_PREFERENCE, { host: 126, prflx: 110, srflx: 100, relay: 0 });
  });

  it('matches worked examples', () => {
    assert.equal(computePriority('host', 65535, 1), 2130706431);
    assert.equal(computePriority('host', 65535, 2), 2130706430);
    assert.equal(computePriority('prflx', 65535, 1), 1862270975);
    assert.equal(computePriority('srflx', 65535, 1), 1694498815); // RFC 8839 §5.1's example line
    assert.equal(computePriority('relay', 65535, 1), 16777215);
    assert.equal(computePriority('relay', 0, 256), 0);
    // Firefox's host and srflx, Chromium's host, and RFC 8421 §5's first IPv6 host line.
    assert.equal(computePriority('host', 32512, 1), 2122252543);
    assert.equal(computePriority('srflx', 32542, 1), 1686052607);
    assert.equal(computePriority('host', 32542, 1), 2122260223);
    assert.equal(computePriority('host', 60000, 1), 2129289471);
  });

  it('agrees with the formula everywhere and orders type over local preference over component', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<IceCandidateType>('host', 'srflx', 'prflx', 'relay'),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 1, max: 256 }),
        (type, local, component) => {
          const p = computePriority(type, local, component);
          assert.equal(p, formula(type, local, component));
          assert.ok(p >= 0 && p < 2 ** 31);
          if (local < 65535) assert.ok(computePriority(type, local + 1, 256) > p);
          if (type !== 'host') assert.ok(computePriority('host', 0, 256) > p);
        },
      ),
    );
  });

  it('throws RangeError outside the ranges', () => {
    for (const [type, local, component] of [
      ['host', -1, 1],
      ['host', 65536, 1],
      ['host', 1.5, 1],
      ['host', Number.NaN, 1],
      ['host', 1, 0],
      ['host', 1, 257],
      ['host', 1, 1.5],
      ['nat', 1, 1],
      ['toString', 1, 1],
    ] as const) {
      assert.throws(() => computePriority(type as IceCandidateType, local, component), RangeError);
    }
  });
});

describe('computeFoundation (RFC 8445 §5.1.1.3)', () => {
  it('is a short ice-char string, the same for the same inputs', () => {
    const f = computeFoundation('srflx', '10.0.0.2', 'udp', '198.51.100.1');
    assert.match(f, /^[A-Za-z0-9+/]{1,32}$/);
    assert.equal(computeFoundation('srflx', '10.0.0.2', 'udp', '198.51.100.1'), f);
  });

  it('is equal for the same address however it is written', () => {
    assert.equal(computeFoundation('host', '2001:db8::1', 'udp'), computeFoundation('host', '2001:DB8:0::0:1', 'udp'));
    assert.equal(
      computeFoundation('relay', '10.0.0.2', 'udp', '2001:db8::3478'),
      computeFoundation('relay', '10.0.0.2', 'udp', '2001:0db8::3478'),
    );
  });

  it('differs when the type, base IP, server IP or transport differs', () => {
    const f = computeFoundation('srflx', '10.0.0.2', 'udp', '198.51.100.1');
    assert.notEqual(computeFoundation('relay', '10.0.0.2', 'udp', '198.51.100.1'), f);
    assert.notEqual(computeFoundation('srflx', '10.0.0.3', 'udp', '198.51.100.1'), f);
    assert.notEqual(computeFoundation('srflx', '10.0.0.2', 'udp', '198.51.100.2'), f);
    assert.notEqual(computeFoundation('srflx', '10.0.0.2', 'tcp', '198.51.100.1'), f);
    assert.notEqual(computeFoundation('srflx', '10.0.0.2', 'udp'), f);
    assert.notEqual(computeFoundation('host', '10.0.0.2', 'udp'), computeFoundation('prflx', '10.0.0.2', 'udp'));
    assert.notEqual(computeFoundation('host', 'fe80::1%eth0', 'udp'), computeFoundation('host', 'fe80::1%eth1', 'udp'));
  });

  it('ignores the server for host and peer-reflexive candidates, which have none', () => {
    assert.equal(computeFoundation('host', '10.0.0.2', 'udp', '198.51.100.1'), computeFoundation('host', '10.0.0.2', 'udp'));
    assert.equal(computeFoundation('prflx', '10.0.0.2', 'udp', '198.51.100.1'), computeFoundation('prflx', '10.0.0.2', 'udp'));
  });

  it('does not collide across many distinct bases', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) seen.add(computeFoundation('host', formatIp(new Uint8Array([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])), 'udp'));
    assert.equal(seen.size, 5_000);
  });
});

describe('candidateKey', () => {
  it('is equal for the same component, transport and transport address only', () => {
    const k = candidateKey({ protocol: 'udp', address: '2001:db8::1', port: 5000, component: 1 });
    assert.equal(candidateKey({ protocol: 'udp', address: '2001:DB8:0::1', port: 5000, component: 1 }), k);
    assert.notEqual(candidateKey({ protocol: 'tcp', address: '2001:db8::1', port: 5000, component: 1 }), k);
    assert.notEqual(candidateKey({ protocol: 'udp', address: '2001:db8::1', port: 5001, component: 1 }), k);
    assert.notEqual(candidateKey({ protocol: 'udp', address: '2001:db8::1', port: 5000, component: 2 }), k);
    assert.notEqual(candidateKey({ protocol: 'udp', address: '2001:db8::2', port: 5000, component: 1 }), k);
    assert.equal(
      candidateKey({ protocol: 'udp', address: 'ABC.local', port: 1, component: 1 }),
      candidateKey({ protocol: 'udp', address: 'abc.local', port: 1, component: 1 }),
    );
  });

  it('de-duplicates a srflx candidate equal to its host candidate', () => {
    const host = parseCandidate('candidate:1 1 udp 2130706431 203.0.113.5 5000 typ host');
    const srflx = parseCandidate('candidate:2 1 udp 1694498815 203.0.113.5 5000 typ srflx raddr 203.0.113.5 rport 5000');
    assert.equal(candidateKey(host), candidateKey(srflx));
  });
});

describe('RTCIceCandidateInit', () => {
  it('writes the init like RTCIceCandidate.toJSON, taking the ufrag from the line', () => {
    const c = parseCandidate(CHROMIUM_SRFLX);
    assert.deepEqual(candidateToInit(c), { candidate: CHROMIUM_SRFLX, sdpMid: null, sdpMLineIndex: null, usernameFragment: 'EsAw' });
    assert.deepEqual(candidateToInit(c, { sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'zzzz' }), {
      candidate: CHROMIUM_SRFLX,
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'zzzz',
    });
    assert.equal(candidateToInit(parseCandidate(FIREFOX_HOST)).usernameFragment, null);
  });

  it('reads it back, with an empty candidate meaning end of candidates', () => {
    const c = parseCandidate(CHROMIUM_SRFLX);
    assert.deepEqual(candidateFromInit(candidateToInit(c, { sdpMid: '0' })), c);
    assert.equal(candidateFromInit({ candidate: '' }), null);
    assert.equal(candidateFromInit({ candidate: '', sdpMid: '0', usernameFragment: 'EsAw' }), null);
    assert.deepEqual(candidateFromInit({ candidate: `a=${FIREFOX_HOST}\r\n`, sdpMLineIndex: 0 }), parseCandidate(FIREFOX_HOST));
  });

  it('keeps usernameFragment as the ufrag extension, and refuses one that contradicts it', () => {
    const c = candidateFromInit({ candidate: FIREFOX_HOST, usernameFragment: 'abcd' });
    assert.deepEqual(c?.extensions, [['ufrag', 'abcd']]);
    assert.deepEqual(candidateFromInit({ candidate: CHROMIUM_SRFLX, usernameFragment: 'EsAw' }), parseCandidate(CHROMIUM_SRFLX));
    assert.throws(() => candidateFromInit({ candidate: CHROMIUM_SRFLX, usernameFragment: 'other' }), (e: unknown) => e instanceof IceCandidateError && e.code === 'UFRAG');
    assert.throws(() => candidateFromInit({ candidate: FIREFOX_HOST, usernameFragment: 'a b' }), (e: unknown) => e instanceof IceCandidateError && e.code === 'UFRAG');
    assert.throws(() => candidateFromInit({ candidate: 'candidate:x' }), IceCandidateError);
    assert.throws(() => candidateFromInit(null as unknown as { candidate: string }), IceCandidateError);
  });

  it('gives an RTCIceCandidate-like JSON view', () => {
    assert.deepEqual(candidateToJSON(parseCandidate(CHROMIUM_TCP_PASSIVE)), {
      candidate: CHROMIUM_TCP_PASSIVE,
      foundation: '2244089327',
      component: 'rtp',
      priority: 1518214911,
      address: '192.168.1.2',
      protocol: 'tcp',
      port: 50001,
      type: 'host',
      tcpType: 'passive',
      relatedAddress: null,
      relatedPort: null,
      usernameFragment: 'EsAw',
    });
    const rtcp = candidateToJSON(parseCandidate(FIREFOX_SRFLX.replace(' 1 UDP', ' 2 UDP')), 'wxyz');
    assert.equal(rtcp.component, 'rtcp');
    assert.equal(rtcp.relatedPort, 49203);
    assert.equal(rtcp.usernameFragment, 'wxyz');
    assert.equal(candidateToJSON(parseCandidate(FIREFOX_HOST.replace(' 1 UDP', ' 3 UDP'))).component, 3);
  });
});

// ---- property tests and fuzzing ----

const canonicalIp = fc.oneof(fc.ipV4(), fc.ipV6()).map((a) => formatIp(parseIp(a)));
const mdnsName = fc.uuid().map((u) => `${u}.local`);
const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~');
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }).filter((n) => !['raddr', 'rport', 'tcptype'].includes(n));
const vchars = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 });

const arbCandidate: fc.Arbitrary<IceCandidate> = fc
  .record({
    foundation: fc.stringMatching(/^[A-Za-z0-9+/]{1,32}$/),
    component: fc.integer({ min: 1, max: 256 }),
    protocol: fc.constantFrom('udp' as const, 'tcp' as const),
    priority: fc.integer({ min: 0, max: 0xffffffff }),
    address: fc.oneof(canonicalIp, mdnsName),
    port: fc.integer({ min: 1, max: 65535 }),
    type: fc.constantFrom<IceCandidateType>('host', 'srflx', 'prflx', 'relay'),
    related: fc.option(fc.record({ address: canonicalIp, port: fc.integer({ min: 0, max: 65535 }) }), { nil: undefined }),
    tcpType: fc.option(fc.constantFrom('active' as const, 'passive' as const, 'so' as const), { nil: undefined }),
    zeroPort: fc.boolean(),
    extensions: fc.array(fc.tuple(token, vchars), { maxLength: 5 }),
  })
  .map(({ related, tcpType, zeroPort, ...c }) => {
    const candidate: IceCandidate = { ...c };
    if (related) {
      candidate.relatedAddress = related.address;
      candidate.relatedPort = related.port;
    }
    if (c.protocol === 'tcp' && tcpType) candidate.tcpType = tcpType;
    if (zeroPort && candidate.tcpType === 'active') candidate.port = 0;
    return candidate;
  });

describe('candidate properties', () => {
  it('parse(format(c)) is c for random valid candidates, with and without "a=" and CRLF', () => {
    fc.assert(
      fc.property(arbCandidate, (c) => {
        const line = formatCandidate(c);
        assert.deepEqual(parseCandidate(line), c);
        assert.deepEqual(parseCandidate(`a=${line}\r\n`), c);
        assert.equal(formatCandidate(parseCandidate(line)), line);
        assert.deepEqual(candidateFromInit(candidateToInit(c)), c);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Anything: a candidate that formats and parses back to itself, or an IceCandidateError. Nothing else. */
function parseOrError(text: string): void {
  let c: IceCandidate;
  try {
    c = parseCandidate(text);
  } catch (e) {
    if (!(e instanceof IceCandidateError)) throw e;
    return;
  }
  assert.deepEqual(parseCandidate(formatCandidate(c)), c);
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('token' as const), at: fc.nat(), text: fc.constantFrom(' ', 'typ', 'raddr', 'rport', 'tcptype', '0', '65536', '::', '.local', 'UDP', 'so', '\r\n', '\t', '-1', '4294967296') }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(line: string, mutations: Mutation[]): string {
  let s = line;
  for (const m of mutations) {
    if (m.kind === 'swap') {
      const fields = s.split(' ');
      const a = m.a % fields.length;
      const b = m.b % fields.length;
      [fields[a], fields[b]] = [fields[b], fields[a]];
      s = fields.join(' ');
      continue;
    }
    const at = m.at % (s.length + 1);
    if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.length);
    else if (m.kind === 'replace') s = s.slice(0, at) + m.text + s.slice(at + m.text.length);
    else s = s.slice(0, at) + m.text + s.slice(at);
  }
  return s;
}

describe('candidate fuzzing: only a candidate or an IceCandidateError, ever', () => {
  const seeds = [CHROMIUM_SRFLX, CHROMIUM_HOST_V6, CHROMIUM_TCP_PASSIVE, CHROMIUM_TCP_ACTIVE, CHROMIUM_RELAY, CHROMIUM_MDNS, FIREFOX_SRFLX, FIREFOX_TCP, RFC8839_EXAMPLE];

  it('survives 15 000 mutations of real lines', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, ms) => parseOrError(mutate(seed, ms))),
      { numRuns: 15_000 },
    );
  });

  it('survives 6 000 random strings, with and without a candidate prefix', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'candidate:', 'a=candidate:'), fc.string({ unit: 'binary', maxLength: 120 }), (prefix, rest) => parseOrError(prefix + rest)),
      { numRuns: 6_000 },
    );
  });

  it('survives 3 000 random field lists', () => {
    const field = fc.oneof(fc.constantFrom('typ', 'host', 'relay', 'raddr', 'rport', 'tcptype', 'active', 'udp', 'tcp', '1', '0', '192.0.2.1', '::1'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(field, { maxLength: 14 }), (fields) => parseOrError(`candidate:${fields.join(' ')}`)),
      { numRuns: 3_000 },
    );
  });
});
