// mDNS over node:dgram: one multicast socket per interface the agent gathers on (port 5353, SO_REUSEADDR,
// joined to 224.0.0.251 or ff02::fb on that interface only), and a Node MdnsService that opens them on first
// use. Sockets and timers are unref'd: a name still resolving never holds the process open.
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Clock, TimerHandle } from '../net/clock.js';
import type { DatagramHandler, DatagramSocket } from '../net/datagram-socket.js';
import type { TransportAddress } from '../net/transport-address.js';
import { MDNS_IPV4_GROUP, MDNS_IPV6_GROUP, MDNS_PORT } from '../mdns/mdns-names.js';
import { MdnsService, type MdnsHostNames, type MdnsSocket } from '../mdns/mdns-service.js';
import type { MdnsEngineOptions } from '../mdns/mdns-engine.js';

/** The real clock, with timers that do not keep the event loop alive. */
export const unrefClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, at) => setTimeout(callback, Math.max(0, at - performance.now())).unref() as unknown as TimerHandle,
  clearTimer: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};

/** An interface to run mDNS on: its address (what the agent gathers on) and, for IPv6, its name. */
export interface MdnsInterface {
  address: string;
  family: 'IPv4' | 'IPv6';
  interfaceName?: string;
}

class MulticastSocket implements DatagramSocket {
  ondatagram: DatagramHandler | null = null;
  onclose: ((reason?: Error) => void) | null = null;
  /** Datagrams the OS refused to send; dropped, never thrown. */
  sendErrors = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    readonly localAddress: TransportAddress,
  ) {
    socket.on('message', (msg, rinfo) => this.ondatagram?.(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address.split('%')[0], port: rinfo.port }));
    socket.on('error', () => this.sendErrors++);
    socket.on('close', () => this.onclose?.());
  }

  send(bytes: Uint8Array, to: TransportAddress): void {
    if (this.closed) return;
    // Destinations are literals (the group, or a querier's address): no name is ever looked up here.
    this.socket.send(bytes, to.port, to.address, (err) => {
      if (err) this.sendErrors++;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** The name of the interface holding `address` (IPv6 group membership is per interface index). */
function interfaceNameOf(address: string): string | undefined {
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    if ((infos ?? []).some((i) => i.address.split('%')[0] === address)) return name;
  }
  return undefined;
}

/**
 * One socket on 5353 for `iface`, joined to its family's group there and sending multicast out of it with
 * TTL/hop limit 255 (RFC 6762 §11). Rejects if the interface cannot do multicast.
 */
export function openMulticastSocket(iface: MdnsInterface): Promise<MdnsSocket> {
  const v6 = iface.family === 'IPv6';
  const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: v6 });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // already closed
      }
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ port: MDNS_PORT, address: v6 ? '::' : '0.0.0.0', exclusive: false }, () => {
      try {
        const ifname = iface.interfaceName ?? interfaceNameOf(iface.address);
        // IPv6 names the interface by scope (`::%eth0`); IPv4 by its address.
        const local = v6 ? `::%${ifname ?? ''}` : iface.address;
        socket.addMembership(v6 ? MDNS_IPV6_GROUP : MDNS_IPV4_GROUP, local);
        socket.setMulticastInterface(local);
        socket.setMulticastTTL(255);
        socket.setMulticastLoopback(true);
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      socket.off('error', onError);
      socket.unref();
      resolve({ socket: new MulticastSocket(socket, { address: iface.address, port: MDNS_PORT }), family: iface.family });
    });
  });
}

export interface NodeMdnsOptions extends MdnsEngineOptions {
  /** Told about an interface mDNS could not be run on (the others are still used). */
  onSocketError?: (iface: MdnsInterface, error: Error) => void;
}

/**
 * MdnsHostNames for one Node ICE agent: nothing is opened until the first name is resolved or registered;
 * then one multicast socket per interface of `interfaces()` (one per IPv6 interface). `release()` sends the
 * goodbyes and closes them.
 */
export function lazyNodeMdns(interfaces: () => MdnsInterface[], options: NodeMdnsOptions = {}): MdnsHostNames {
  let service: MdnsService | undefined;
  let released = false;
  const open = (): MdnsService => {
    if (service) return service;
    const seen = new Set<string>();
    const wanted = interfaces().filter((i) => {
      const key = i.family === 'IPv6' ? `6|${i.interfaceName ?? interfaceNameOf(i.address)}` : `4|${i.address}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    let s: MdnsService | undefined;
    // Resolutions wait for the sockets (`ready`), so the first query is not sent to no socket at all.
    const ready = Promise.allSettled(wanted.map((i) => openMulticastSocket(i))).then((results) =>
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') s!.addSocket(r.value);
        else options.onSocketError?.(wanted[i], r.reason instanceof Error ? r.reason : new Error(String(r.reason)));
      }),
    );
    s = new MdnsService({ ...options, clock: unrefClock, ready });
    service = s;
    if (released) s.close();
    return s;
  };
  return {
    resolve: (name) => open().resolve(name),
    register: (address, name) => open().register(address, name),
    unregister: (name) => service?.unregister(name),
    release: () => {
      released = true;
      service?.close();
    },
  };
}
