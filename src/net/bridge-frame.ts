// The bridge's wire format: one binary frame per carrier message (a WebSocket message; on WebTransport, one
// datagram or one length-prefixed message on a stream), shared by the bridge and its clients. Integers are
// big-endian; addresses are [family u8: 4|6][4 or 16 network-order bytes]; "addr" below is that plus a port.
//
//   data      0x00 [socket u16][addr][port u16][payload…]                               both ways, the hot path
//   hello     0x01 [version u8][maxSockets u16][maxPayload u16][packets/s u32][bytes/s u32][idle ms u32]
//                  v2 adds [maxStreams u16][streamWindow u32][maxLookups u16][lookups/s u32][features u8]
//   bind      0x02 [request u32][family u8][port u16 (0 = any)]                          client → bridge
//   bound     0x03 [request u32][socket u16][addr][port u16][count u8] count × [address] bridge → client
//   close     0x04 [socket u16]  closes a socket or (v2) a stream or a listener           both ways
//   error     0x05 [flags u8: 1 request, 2 socket, 4 destination (v2)][request u32]?[socket u16]?
//                  [addr][port u16]?[code length u8][code ASCII][reason UTF-8…]          bridge → client
//   resolve   0x06 [request u32][flags u8: 1 A, 2 AAAA, 4 mDNS][length u8][name ASCII]   v2, client → bridge
//   resolved  0x07 [request u32][count u8] count × ([address][ttl s u32])                v2, bridge → client
//   connect   0x08 [request u32][flags u8: 1 TLS][addr][port u16][window u32]
//                  [length u8][TLS server name ASCII, may be empty]                      v2, client → bridge
//   connected 0x09 [request u32][stream u16][local addr][port u16][remote addr][port u16][window u32]
//                                                                                         v2, bridge → client
//   stream    0x0a [stream u16][bytes…]                                                  v2, both ways
//   end       0x0b [stream u16]  no more bytes this way (TCP FIN)                         v2, both ways
//   window    0x0c [stream u16][increment u32]  the other side may send that much more   v2, both ways
//   mdns-register   0x0d [request u32][address][length u8][name ASCII]                   v2, client → bridge
//   mdns-registered 0x0e [request u32]                                                   v2, bridge → client
//   mdns-unregister 0x0f [length u8][name ASCII]                                         v2, client → bridge
//   listen    0x10 [request u32][family u8][port u16 (0 = any)][window u32]              v2, client → bridge
//   listening 0x11 [request u32][listener u16][addr][port u16][count u8] count × [address]
//                                                                                         v2, bridge → client
//   accepted  0x12 [listener u16][stream u16][local addr][port u16][remote addr][port u16][window u32]
//                                                                                         v2, bridge → client
//   host-addresses 0x13 [socket u16][count u8] count × [address]                        v2, bridge → client
//
// Versions: the bridge's hello names the session's version. A v2 client asks for v2 by offering the
// WebSocket subprotocol BRIDGE_SUBPROTOCOL_V2; without it the session is v1 and carries v1 frames only.
// Stream flow control is credit-based (like HTTP/2's WINDOW_UPDATE, RFC 9113 §6.9): each side starts with
// the window the other announced and may send no more stream bytes than it was granted, so neither side
// ever has to buffer more than it offered. Every fixed-layout frame has an exact length: trailing bytes are
// an error, so a future layout cannot be misread as this one.
export * from './bridge-frame-types.js';
export { encodeBridgeFrame, encodeDataFrame, encodeStreamFrame } from './bridge-frame-encode.js';
export { decodeBridgeFrame } from './bridge-frame-decode.js';
