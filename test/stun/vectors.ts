// RFC 5769 STUN test vectors, byte for byte, each line commented as in the RFC. Shared by the Node tests
// and the browser tests, so this file imports nothing.

/** Hex bytes from a listing: `//` comments and whitespace are ignored. */
export function hexListing(listing: string): Uint8Array {
  const digits = listing.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error('bad hex listing');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The password of §2.1-§2.3 (short-term credentials). */
export const SHORT_TERM_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

/** RFC 5769 §2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT. */
export const SAMPLE_REQUEST = {
  software: 'STUN test client',
  priority: 0x6e0001ff,
  iceControlled: 0x932ff9b151263b36n,
  username: 'evtj:h6vY',
  password: SHORT_TERM_PASSWORD,
  transactionId: 'b7e7a701bc34d686fa87dfae',
  bytes: hexListing(`
    00 01 00 58  // Request type and message length
    21 12 a4 42  // Magic cookie
    b7 e7 a7 01  // }
    bc 34 d6 86  // }  Transaction ID
    fa 87 df ae  // }
    80 22 00 10  // SOFTWARE attribute header
    53 54 55 4e  // }
    20 74 65 73  // }  User-agent...
    74 20 63 6c  // }  ...name
    69 65 6e 74  // }
    00 24 00 04  // PRIORITY attribute header
    6e 00 01 ff  // ICE priority value
    80 29 00 08  // ICE-CONTROLLED attribute header
    93 2f f9 b1  // }  Pseudo-random tie breaker...
    51 26 3b 36  // }   ...for ICE control
    00 06 00 09  // USERNAME attribute header
    65 76 74 6a  // }
    3a 68 36 76  // }  Username (9 bytes) and padding (3 bytes)
    59 20 20 20  // }
    00 08 00 14  // MESSAGE-INTEGRITY attribute header
    9a ea a7 0c  // }
    bf d8 cb 56  // }
    78 1e f2 b5  // }  HMAC-SHA1 fingerprint
    b2 d3 f2 49  // }
    c1 b5 71 a2  // }
    80 28 00 04  // FINGERPRINT attribute header
    e5 7a 3b cf  // CRC32 fingerprint
  `),
};

/** RFC 5769 §2.2 Sample IPv4 Response. */
export const SAMPLE_IPV4_RESPONSE = {
  software: 'test vector',
  mappedAddress: { address: '192.0.2.1', port: 32853 },
  password: SHORT_TERM_PASSWORD,
  transactionId: 'b7e7a701bc34d686fa87dfae',
  bytes: hexListing(`
    01 01 00 3c  // Response type and message length
    21 12 a4 42  // Magic cookie
    b7 e7 a7 01  // }
    bc 34 d6 86  // }  Transaction ID
    fa 87 df ae  // }
    80 22 00 0b  // SOFTWARE attribute header
    74 65 73 74  // }
    20 76 65 63  // }  UTF-8 server name
    74 6f 72 20  // }
    00 20 00 08  // XOR-MAPPED-ADDRESS attribute header
    00 01 a1 47  // Address family (IPv4) and xor'd mapped port number
    e1 12 a6 43  // Xor'd mapped IPv4 address
    00 08 00 14  // MESSAGE-INTEGRITY attribute header
    2b 91 f5 99  // }
    fd 9e 90 c3  // }
    8c 74 89 f9  // }  HMAC-SHA1 fingerprint
    2a f9 ba 53  // }
    f0 6b e7 d7  // }
    80 28 00 04  // FINGERPRINT attribute header
    c0 7d 4c 96  // CRC32 fingerprint
  `),
};

/** RFC 5769 §2.3 Sample IPv6 Response. */
export const SAMPLE_IPV6_RESPONSE = {
  software: 'test vector',
  mappedAddress: { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
  password: SHORT_TERM_PASSWORD,
  transactionId: 'b7e7a701bc34d686fa87dfae',
  bytes: hexListing(`
    01 01 00 48  // Response type and message length
    21 12 a4 42  // Magic cookie
    b7 e7 a7 01  // }
    bc 34 d6 86  // }  Transaction ID
    fa 87 df ae  // }
    80 22 00 0b  // SOFTWARE attribute header
    74 65 73 74  // }
    20 76 65 63  // }  UTF-8 server name
    74 6f 72 20  // }
    00 20 00 14  // XOR-MAPPED-ADDRESS attribute header
    00 02 a1 47  // Address family (IPv6) and xor'd mapped port number
    01 13 a9 fa  // }
    a5 d3 f1 79  // }  Xor'd mapped IPv6 address
    bc 25 f4 b5  // }
    be d2 b9 d9  // }
    00 08 00 14  // MESSAGE-INTEGRITY attribute header
    a3 82 95 4e  // }
    4b e6 7b f1  // }
    17 84 c9 7c  // }  HMAC-SHA1 fingerprint
    82 92 c2 75  // }
    bf e3 ed 41  // }
    80 28 00 04  // FINGERPRINT attribute header
    c8 fb 0b 4c  // CRC32 fingerprint
  `),
};

/**
 * RFC 5769 §2.4 Sample Request with Long-Term Authentication. The password is "TheMatrIX" after SASLprep
 * (the RFC gives "The<U+00AD>M<U+00AA>tr<U+2168>" before); the username is unaffected by it.
 */
export const SAMPLE_LONG_TERM_REQUEST = {
  username: '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9',
  password: 'TheMatrIX',
  nonce: 'f//499k954d6OL34oL9FSTvy64sA',
  realm: 'example.org',
  transactionId: '78ad3433c6ad72c029da412e',
  bytes: hexListing(`
    00 01 00 60  // Request type and message length
    21 12 a4 42  // Magic cookie
    78 ad 34 33  // }
    c6 ad 72 c0  // }  Transaction ID
    29 da 41 2e  // }
    00 06 00 12  // USERNAME attribute header
    e3 83 9e e3  // }
    83 88 e3 83  // }
    aa e3 83 83  // }  Username value (18 bytes) and padding (2 bytes)
    e3 82 af e3  // }
    82 b9 00 00  // }
    00 15 00 1c  // NONCE attribute header
    66 2f 2f 34  // }
    39 39 6b 39  // }
    35 34 64 36  // }
    4f 4c 33 34  // }  Nonce value
    6f 4c 39 46  // }
    53 54 76 79  // }
    36 34 73 41  // }
    00 14 00 0b  // REALM attribute header
    65 78 61 6d  // }
    70 6c 65 2e  // }  Realm value (11 bytes) and padding (1 byte)
    6f 72 67 00  // }
    00 08 00 14  // MESSAGE-INTEGRITY attribute header
    f6 70 24 65  // }
    6d d6 4a 3e  // }
    02 b8 e0 71  // }  HMAC-SHA1 fingerprint
    2e 85 c9 a2  // }
    8c a8 96 66  // }
  `),
};

/**
 * RFC 8489 Appendix B.1: long-term request with USERHASH and MESSAGE-INTEGRITY-SHA256 (same username,
 * realm and password as RFC 5769 §2.4).
 */
export const SAMPLE_SHA256_REQUEST = {
  username: '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9',
  password: 'TheMatrIX',
  nonce: 'obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA',
  realm: 'example.org',
  transactionId: '78ad3433c6ad72c029da412e',
  bytes: hexListing(`
    00 01 00 9c  // Request type and message length
    21 12 a4 42  // Magic cookie
    78 ad 34 33  // }
    c6 ad 72 c0  // }  Transaction ID
    29 da 41 2e  // }
    00 1e 00 20  // USERHASH attribute header
    4a 3c f3 8f  // }
    ef 69 92 bd  // }
    a9 52 c6 78  // }
    04 17 da 0f  // }  Userhash value (32 bytes)
    24 81 94 15  // }
    56 9e 60 b2  // }
    05 c4 6e 41  // }
    40 7f 17 04  // }
    00 15 00 29  // NONCE attribute header
    6f 62 4d 61  // }
    74 4a 6f 73  // }
    32 41 41 41  // }
    43 66 2f 2f  // }
    34 39 39 6b  // }  Nonce value and padding (3 bytes)
    39 35 34 64  // }
    36 4f 4c 33  // }
    34 6f 4c 39  // }
    46 53 54 76  // }
    79 36 34 73  // }
    41 00 00 00  // }
    00 14 00 0b  // REALM attribute header
    65 78 61 6d  // }
    70 6c 65 2e  // }  Realm value (11 bytes) and padding (1 byte)
    6f 72 67 00  // }
    00 1c 00 20  // MESSAGE-INTEGRITY-SHA256 attribute header
    e4 68 6c 8f  // }
    0e de b5 90  // }
    13 e0 70 90  // }
    01 0a 93 ef  // }  HMAC-SHA256 value
    cc bc cc 54  // }
    4c 0a 45 d9  // }
    f8 30 aa 6d  // }
    6f 73 5a 01  // }
  `),
};

/**
 * Appendix B.1 corrected. As published, its length field is 0x9c — the whole datagram, header included —
 * where RFC 8489 §5 gives 0x88, so a conforming decoder rejects it (LENGTH_MISMATCH); its HMAC was computed
 * over that wrong length (it matches SHA-256(username:realm:password) as the key with 0x9c in the header).
 * Here the length is 0x88 and MESSAGE-INTEGRITY-SHA256 was recomputed with node:crypto over the corrected
 * bytes, with the same key; USERHASH, NONCE and REALM are the RFC's.
 */
export const SAMPLE_SHA256_REQUEST_CORRECTED = {
  ...SAMPLE_SHA256_REQUEST,
  bytes: (() => {
    const bytes = SAMPLE_SHA256_REQUEST.bytes.slice();
    bytes[3] = 0x88; // message length: 136 bytes of attributes
    bytes.set(
      hexListing(`
        23 41 12 fb  // }
        d4 e2 7f 98  // }
        3e b4 03 28  // }
        36 f9 98 21  // }  HMAC-SHA256 value over the corrected header
        6f 5b 23 f8  // }
        d9 27 75 3f  // }
        bc 4f 88 2b  // }
        fb df 0d ec  // }
      `),
      bytes.length - 32,
    );
    return bytes;
  })(),
};
