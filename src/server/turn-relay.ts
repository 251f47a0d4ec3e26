// The data path of the TURN server: Send indications and ChannelData from the client go out of the relay
// socket to the peer (RFC 8656 §11.2, §12.6); datagrams from permitted peers come back as ChannelData when
// a channel is bound to the peer, as Data indications otherwise (§11.3, §12.7). Every datagram dropped is
// counted with its reason; the bytes-per-second quota covers both directions.
import type { Millis } from '../net/clock.js';
import type { TransportAddress } from '../net/transport-address.js';
import { familyOf } from '../net/transport-address.js';
import { StunMethod } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import { createStunMessage, type StunMessage } from '../stun/message.js';
import { CHANNEL_DATA_HEADER, CHANNEL_MAX_RFC5766, decodeChannelData, writeChannelData } from '../turn/channel-data.js';
import { allocateOutput } from './output-slab.js';
import type { StunServer } from './stun-server.js';
import { canonicalIp, peerKey, type RelayHalf, type TurnAllocation } from './turn-allocation.js';
import type { TurnServerCounters } from './turn-server-counters.js';

/**
 * The largest DATA value a Data indication can carry: the 16-bit message length (at most 0xFFFC, a
 * multiple of 4) less XOR-PEER-ADDRESS (4 + 20 for IPv6) and DATA's own 4-byte header.
 */
const MAX_DATA_INDICATION_PAYLOAD = 0xfffc - 24 - 4;
const MAX_CHANNEL_DATA_PAYLOAD = 0xffff;

/**
 * Whether the relay may send to `ip` (canonical) and `port` under a permission it holds: false for the
 * server's own addresses but on the relayed ports of live allocations (see checkPeer in turn-requests.ts).
 */
export type PeerReachable = (ip: string, port: number) => boolean;

/**
 * encodeChannelData's bytes (RFC 8656 §12.4), carved out of the output slab rather than a buffer of their
 * own per datagram: they go straight to the client's socket. The caller has checked the length; the channel
 * number was checked when it was bound.
 */
function channelDataMessage(channel: number, data: Uint8Array): Uint8Array {
  return writeChannelData(allocateOutput(CHANNEL_DATA_HEADER + data.length), channel, data);
}

export class TurnRelay {
  constructor(
    private readonly stun: StunServer,
    private readonly counters: TurnServerCounters,
    private readonly reachable: PeerReachable = () => true,
    /** The highest channel number accepted in ChannelData (ChannelBind enforces the same). */
    private readonly channelMax = CHANNEL_MAX_RFC5766,
  ) {}

  /** RFC 8656 §11.2: a Send indication (never authenticated, never refreshes a permission). */
  fromClientSend(allocation: TurnAllocation | undefined, message: StunMessage, now: Millis): void {
    if (allocation === undefined) {
      this.counters.dropped['no-allocation']++;
      return;
    }
    const peer = message.get('XOR-PEER-ADDRESS');
    const data = message.get('DATA');
    // DONT-FRAGMENT cannot be honoured, so it counts as an unknown comprehension-required attribute.
    if (
      peer === undefined ||
      data === undefined ||
      message.unknownComprehensionRequired.length > 0 ||
      message.has('DONT-FRAGMENT') ||
      peer.port === 0
    ) {
      this.counters.dropped['bad-send']++;
      return;
    }
    // RFC 8656 §11.2 / §9: the relay of the peer's family (a dual allocation has two).
    const half = allocation.relay(familyOf(peer.address));
    if (half === undefined) {
      this.counters.dropped['bad-send']++;
      return;
    }
    const ip = canonicalIp(peer.address);
    // A permission on one of the server's own addresses covers only the relayed ports there.
    if (!allocation.hasPermission(ip, now) || !this.reachable(ip, peer.port)) {
      this.counters.dropped['no-permission']++;
      return;
    }
    this.toPeer(allocation, half, peer, data, now);
  }

  /** RFC 8656 §12.6: ChannelData from the client, on a bound channel, goes to its peer. */
  fromClientChannel(allocation: TurnAllocation | undefined, bytes: Uint8Array, now: Millis): void {
    let channel: number;
    let data: Uint8Array;
    try {
      ({ channel, data } = decodeChannelData(bytes, this.channelMax));
    } catch {
      this.counters.dropped['bad-channel-data']++;
      return;
    }
    if (allocation === undefined) {
      this.counters.dropped['no-allocation']++;
      return;
    }
    const binding = allocation.channel(channel, now);
    if (binding === undefined) {
      this.counters.dropped['no-channel']++;
      return;
    }
    // Checked at ChannelBind, and again here: the relayed address it named may have been deallocated since.
    if (!this.reachable(binding.peer.address, binding.peer.port)) {
      this.counters.dropped['no-permission']++;
      return;
    }
    const half = allocation.relay(familyOf(binding.peer.address));
    if (half === undefined) {
      this.counters.dropped['no-channel']++;
      return;
    }
    // No copy: a socket's datagram stays valid until its handler returns, and the driver sends what the
    // engine queued before that (EngineDriver polls right after handleDatagram).
    this.toPeer(allocation, half, binding.peer, data, now);
  }

  /** RFC 8656 §11.3 / §12.7: a datagram from a peer at the relayed transport address. */
  fromPeer(allocation: TurnAllocation, bytes: Uint8Array, from: TransportAddress, now: Millis): void {
    this.counters.peerDatagrams++;
    const ip = canonicalIp(from.address);
    if (!allocation.hasPermission(ip, now)) {
      this.counters.dropped['no-permission']++;
      return;
    }
    const binding = allocation.channelForPeer(peerKey(ip, from.port), now);
    if (bytes.length > (binding !== undefined ? MAX_CHANNEL_DATA_PAYLOAD : MAX_DATA_INDICATION_PAYLOAD)) {
      this.counters.dropped['too-large']++;
      return;
    }
    if (!allocation.bucket.take(bytes.length, now)) {
      this.counters.dropped['rate-limited']++;
      return;
    }
    let message: Uint8Array;
    try {
      message =
        binding !== undefined
          ? channelDataMessage(binding.channel, bytes)
          : encodeStunMessage(
              createStunMessage({
                method: StunMethod.Data,
                class: 'indication',
                attributes: [
                  ['XOR-PEER-ADDRESS', { address: from.address, port: from.port }],
                  ['DATA', bytes],
                ],
              }),
            );
    } catch {
      this.counters.dropped['encode-failed']++;
      return;
    }
    allocation.traffic.packetsToClient++;
    allocation.traffic.bytesToClient += bytes.length;
    this.counters.relayed.packetsToClients++;
    this.counters.relayed.bytesToClients += bytes.length;
    this.stun.send({ socket: allocation.client.socket, to: allocation.client.from, bytes: message });
  }

  private toPeer(allocation: TurnAllocation, half: RelayHalf, peer: TransportAddress, data: Uint8Array, now: Millis): void {
    if (!allocation.bucket.take(data.length, now)) {
      this.counters.dropped['rate-limited']++;
      return;
    }
    allocation.traffic.packetsToPeers++;
    allocation.traffic.bytesToPeers += data.length;
    this.counters.relayed.packetsToPeers++;
    this.counters.relayed.bytesToPeers += data.length;
    this.stun.send({ socket: half.socket, to: peer, bytes: data });
  }
}
