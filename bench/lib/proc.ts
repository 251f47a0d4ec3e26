// What /proc says about a process or a socket: CPU time of any process (all its threads), and the kernel's
// drop counter of a UDP socket (datagrams that arrived to a full receive buffer), so a benchmark can say
// where loss happened rather than only that it did.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks: number | undefined;

export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of a process in ms (fields 14 and 15 of /proc/<pid>/stat); null where /proc is not readable. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond();
  } catch {
    return null;
  }
}

export function threadCount(pid: number): number | null {
  try {
    const match = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** This process's own CPU time in ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Kernel receive-buffer drops of every IPv4 UDP socket bound to `port` on any address (last column of
 * /proc/net/udp), summed; null where the table is not readable. Sockets of other network namespaces are
 * not seen, which is fine on loopback.
 */
export function udpDrops(port: number): number | null {
  try {
    const lines = readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    let drops = 0;
    let found = false;
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13) continue;
      if (cols[1].endsWith(`:${hex}`)) {
        found = true;
        drops += Number(cols[cols.length - 1]);
      }
    }
    return found ? drops : null;
  } catch {
    return null;
  }
}

/** A CPU-time stopwatch over some processes: `stop()` gives ms of CPU each used since `start`. */
export function cpuWindow(pids: readonly number[]): () => (number | null)[] {
  const before = pids.map(processCpuMs);
  return () => pids.map((pid, i) => {
    const after = processCpuMs(pid);
    const b = before[i];
    return after === null || b === null ? null : after - b;
  });
}
