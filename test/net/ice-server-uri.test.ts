import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIceServerUri, IceServerUriError, parseIceServerUri } from '../../src/net/ice-server-uri.js';

describe('STUN/TURN URIs (RFC 7064, RFC 7065)', () => {
  const good: [string, ReturnType<typeof parseIceServerUri>][] = [
    ['stun:example.org', { scheme: 'stun', host: 'example.org', port: 3478, transport: 'udp' }],
    ['stun:192.0.2.1:1234', { scheme: 'stun', host: '192.0.2.1', port: 1234, transport: 'udp' }],
    ['stuns:example.org', { scheme: 'stuns', host: 'example.org', port: 5349, transport: 'tls' }],
    ['stun:[2001:db8::1]:3479', { scheme: 'stun', host: '2001:db8::1', port: 3479, transport: 'udp' }],
    ['stun:[::1]', { scheme: 'stun', host: '::1', port: 3478, transport: 'udp' }],
    ['turn:example.org?transport=tcp', { scheme: 'turn', host: 'example.org', port: 3478, transport: 'tcp' }],
    ['turn:127.0.0.1:3478?transport=udp', { scheme: 'turn', host: '127.0.0.1', port: 3478, transport: 'udp' }],
    ['turns:example.org:443?transport=tcp', { scheme: 'turns', host: 'example.org', port: 443, transport: 'tls' }],
    ['TURN:Example.org', { scheme: 'turn', host: 'Example.org', port: 3478, transport: 'udp' }],
  ];
  for (const [uri, expected] of good) {
    it(`parses ${uri}`, () => assert.deepEqual(parseIceServerUri(uri), expected));
  }

  const bad = [
    'http://example.org',
    'stun://example.org',
    'stun:',
    'stun:host:0',
    'stun:host:65536',
    'stun:host:abc',
    'stun:[::1',
    'stun:[192.0.2.1]',
    'stun:host?transport=udp',
    'turn:host?transport=sctp',
    'turns:host?transport=udp',
    'stun:ho st',
    // Bracketed text that is not an IPv6 address, and dotted digits that are not IPv4: found by fuzzing
    // (issue 17); before, they went to the resolver and timed out after 39.8 s.
    'stun:[::65536]',
    'turn:[2001Xdb8::1]',
    'turn:[1:2:3:4:5:6:7:8:9]',
    'stun:[fe80::1%]',
    'stun:300.1.1.1',
    'stun:1.2.3',
  ];
  for (const uri of bad) {
    it(`rejects ${JSON.stringify(uri)} with a typed error`, () => assert.throws(() => parseIceServerUri(uri), IceServerUriError));
  }

  it('formats what it parses', () => {
    for (const uri of ['stun:[2001:db8::1]:3479', 'turn:example.org:3478?transport=tcp', 'turns:h:5349']) {
      assert.equal(formatIceServerUri(parseIceServerUri(uri)), uri);
    }
  });
});
