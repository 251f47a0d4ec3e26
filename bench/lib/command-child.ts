// A bench child process spoken to in JSON lines: {"cmd": name, ...} in, {"type": name, ...} out (or
// {"type":"error","message"}), one command at a time — the servers of bench/servers/ and the load
// generators of bench/load/. Tracked by processes.ts, so it is killed at the end of the run and on error.
//
// With ICEBRIDGE_BENCH_CPU_PROF=<dir> in the environment, children started with `profile: true` (the
// icebridge processes under test) run under `node --cpu-prof` and write a .cpuprofile into <dir> when they
// exit; summarise one with `node --import tsx bench/lib/cpu-profile.ts <file>`.
import type { ChildProcess } from 'node:child_process';
import { JsonLines, spawnNodeScript, stopChild } from './processes.js';

export interface CommandChildOptions {
  args?: readonly string[];
  /** Run under --cpu-prof when ICEBRIDGE_BENCH_CPU_PROF names a directory. */
  profile?: boolean;
  readyTimeoutMs?: number;
}

export class CommandChild {
  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
    readonly io: JsonLines,
    /** The child's ready line: port, pid and whatever else it announces. */
    readonly ready: Record<string, unknown>,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(label: string, script: string, options: CommandChildOptions = {}): Promise<CommandChild> {
    const profileDir = process.env.ICEBRIDGE_BENCH_CPU_PROF;
    const nodeFlags = options.profile && profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawnNodeScript(script, options.args ?? [], nodeFlags);
    const io = new JsonLines(child, label);
    try {
      const ready = await io.next((m) => m.type === 'ready', options.readyTimeoutMs ?? 30_000);
      return new CommandChild(label, child, io, ready);
    } catch (err) {
      await stopChild(child);
      throw err;
    }
  }

  /** Sends a command and waits for its answer; an error answer or a silent child throws. */
  async call<T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    this.io.send({ ...args, cmd });
    const reply = await this.io.next((m) => m.type === cmd || m.type === 'error', timeoutMs);
    if (reply.type === 'error') throw new Error(`${this.label}: ${String(reply.message)}`);
    return reply as T;
  }

  stop(): Promise<void> {
    // Graceful first: a profiled child writes its profile on the way out.
    return stopChild(this.child, 5000);
  }
}
