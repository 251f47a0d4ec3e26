// The lab network, built from Linux network namespaces (root only):
//
//   public namespace: a bridge with 203.0.113.1 and 203.0.113.2 (the RFC 5780 server's two addresses),
//                     a black-hole default route (a TURN server sending to a private peer address must see
//                     the datagram dropped, not ENETUNREACH)
//   per NAT: a NAT namespace (WAN 203.0.113.x on a veth to the bridge, LAN 10.n.0.1, forwarding, the
//            mode's iptables/nft rules) and a host namespace behind it (10.n.0.2, default via 10.n.0.1)
//
// Only documentation addresses (RFC 5737) and private ones, and only inside namespaces created here; every
// namespace is deleted by destroy(), which also runs on exit and on SIGINT/SIGTERM.
import { execFileSync } from 'node:child_process';
import type { NatMode } from './nat-modes.js';

export const SERVER_A1 = '203.0.113.1';
export const SERVER_A2 = '203.0.113.2';

export interface LabNat {
  readonly index: number;
  readonly mode: NatMode;
  /** The NAT's namespace and public address. */
  readonly natNs: string;
  readonly publicAddress: string;
  /** The host behind it: its namespace and private address. */
  readonly hostNs: string;
  readonly hostAddress: string;
}

function run(command: string, args: string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export class LabTopology {
  readonly publicNs: string;
  readonly nats: LabNat[] = [];
  private readonly created: string[] = [];
  private destroyed = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.destroy();
    process.kill(process.pid, signal);
  };
  private readonly onExit = () => this.destroy();

  /** `prefix` keeps concurrent labs (the test run and the benchmark) apart. */
  constructor(readonly prefix = `nl${process.pid % 100_000}`) {
    this.publicNs = `${prefix}-pub`;
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    try {
      this.addNamespace(this.publicNs);
      const ip = (...args: string[]) => run('ip', ['-n', this.publicNs, ...args]);
      ip('link', 'set', 'lo', 'up');
      ip('link', 'add', 'br0', 'type', 'bridge');
      ip('link', 'set', 'br0', 'up');
      ip('addr', 'add', `${SERVER_A1}/24`, 'dev', 'br0');
      ip('addr', 'add', `${SERVER_A2}/24`, 'dev', 'br0');
      ip('route', 'add', 'blackhole', 'default');
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** A NAT of `mode` with one host behind it. */
  addNat(mode: NatMode): LabNat {
    const index = this.nats.length;
    const natNs = `${this.prefix}-n${index}`;
    const hostNs = `${this.prefix}-h${index}`;
    const publicAddress = `203.0.113.${11 + index}`;
    const lan = `10.${index + 1}.0`;
    const hostAddress = `${lan}.2`;
    const wan = `w${index}`;
    try {
      this.addNamespace(natNs);
      this.addNamespace(hostNs);
      const pub = (...args: string[]) => run('ip', ['-n', this.publicNs, ...args]);
      const nat = (...args: string[]) => run('ip', ['-n', natNs, ...args]);
      const host = (...args: string[]) => run('ip', ['-n', hostNs, ...args]);
      pub('link', 'add', `b${index}`, 'type', 'veth', 'peer', 'name', wan, 'netns', natNs);
      pub('link', 'set', `b${index}`, 'master', 'br0', 'up');
      nat('link', 'set', 'lo', 'up');
      nat('addr', 'add', `${publicAddress}/24`, 'dev', wan);
      nat('link', 'set', wan, 'up');
      nat('link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', hostNs);
      nat('addr', 'add', `${lan}.1/24`, 'dev', 'lan0');
      nat('link', 'set', 'lan0', 'up');
      nat('route', 'add', 'blackhole', 'default');
      host('link', 'set', 'lo', 'up');
      host('addr', 'add', `${hostAddress}/24`, 'dev', 'eth0');
      host('link', 'set', 'eth0', 'up');
      host('route', 'add', 'default', 'via', `${lan}.1`);
      run('ip', ['netns', 'exec', natNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      for (const rule of mode.iptables(wan, hostAddress)) run('ip', ['netns', 'exec', natNs, 'iptables', ...rule]);
      if (mode.nft) run('ip', ['netns', 'exec', natNs, 'nft', '-f', '-'], mode.nft(wan, hostAddress));
    } catch (err) {
      this.destroy();
      throw err;
    }
    const entry: LabNat = { index, mode, natNs, publicAddress, hostNs, hostAddress };
    this.nats.push(entry);
    return entry;
  }

  /** Deletes every namespace this lab created (their interfaces, rules and processes' sockets go with them). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const ns of this.created.reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 15_000 });
      } catch {
        // already gone
      }
    }
    this.created.length = 0;
  }

  private addNamespace(name: string): void {
    run('ip', ['netns', 'add', name]);
    this.created.push(name);
  }
}

/** Why the lab cannot run here, or undefined when it can: root, and the commands it needs. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'it needs root (network namespaces, iptables, nft)';
  for (const [command, flag] of [['ip', '-V'], ['iptables', '--version'], ['nft', '--version']]) {
    try {
      execFileSync(command, [flag], { stdio: 'ignore', timeout: 5000 });
    } catch {
      return `\`${command}\` is missing (apt-get install -y iproute2 iptables nftables)`;
    }
  }
  // Root in a container without CAP_SYS_ADMIN cannot create namespaces: find out before building anything.
  const probe = `nlprobe${process.pid % 100_000}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe', timeout: 5000 });
  } catch (err) {
    return `network namespaces cannot be created here (${String((err as { stderr?: string }).stderr ?? err).trim()}): an unprivileged container?`;
  }
  execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore', timeout: 5000 });
  return undefined;
}
