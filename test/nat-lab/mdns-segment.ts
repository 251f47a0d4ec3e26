// One LAN segment in network namespaces for the mDNS tests and benchmark: a hub namespace holding a bridge,
// and peer namespaces each joined to it by a veth pair (10.77.0.<n>/24). Multicast stays inside: no
// namespace has a route out, and the machine's own interfaces are never touched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 15_000 });
}

export class MdnsSegment {
  readonly hub: string;
  readonly peers: { ns: string; address: string }[] = [];
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = () => this.destroy();

  constructor(count: number, readonly prefix = `md${process.pid % 100_000}`) {
    this.hub = `${prefix}-hub`;
    process.once('exit', this.onExit);
    try {
      this.addNs(this.hub);
      ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', this.hub, 'link', 'set', 'br0', 'up');
      for (let i = 0; i < count; i++) {
        const ns = `${prefix}-p${i}`;
        const address = `10.77.0.${i + 2}`;
        this.addNs(ns);
        // Created inside the hub namespace, so neither end ever exists in the machine's own namespace.
        ip('-n', this.hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        ip('-n', this.hub, 'link', 'set', `v${i}`, 'master', 'br0');
        ip('-n', this.hub, 'link', 'set', `v${i}`, 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
        this.peers.push({ ns, address });
      }
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** A process inside `ns`; killed when the segment is destroyed. */
  spawnIn(ns: string, command: string[], cwd: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...command], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  destroy(): void {
    process.off('exit', this.onExit);
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    for (const ns of this.created.reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 15_000 });
      } catch {
        // already gone
      }
    }
    this.created.length = 0;
  }

  private addNs(name: string): void {
    ip('netns', 'add', name);
    this.created.push(name);
  }
}

/** Why namespaces cannot be made here (with what to do), or undefined. */
export function segmentUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root: run it as root (sudo node --import tsx --test test/nat-lab/mdns-peers.test.ts)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    return '`ip` is missing: apt-get install -y iproute2';
  }
  return undefined;
}
