// Child processes of a bench run: every one is tracked and killed at the end, on error, and on SIGINT/SIGTERM.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, so `--import tsx` resolves the same way for every child. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const running = new Set<ChildProcess>();
const cleanups = new Set<() => void>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous; kill() is (it only sends the signal).
  process.on('exit', () => {
    killAll('SIGKILL');
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // Best effort on the way out.
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll('SIGKILL');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * Registers synchronous cleanup (a temporary directory) to run at exit, also after SIGINT; returns a function
 * that runs it now and unregisters it.
 */
export function atExit(cleanup: () => void): () => void {
  installHandlers();
  cleanups.add(cleanup);
  return () => {
    if (cleanups.delete(cleanup)) cleanup();
  };
}

/** Sends `signal` to every child still running (by its own pid, never by name). */
export function killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  installHandlers();
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], ...options });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // A failed spawn is reported through 'error'; without a listener it would crash the run.
  child.once('error', () => running.delete(child));
  return child;
}

/** Runs a TypeScript file of bench/ in its own Node process (own event loop, own core). */
export function spawnNodeScript(scriptFromRoot: string, args: readonly string[] = [], nodeFlags: readonly string[] = []): ChildProcess {
  return spawnTracked(process.execPath, [...nodeFlags, '--import', 'tsx', scriptFromRoot, ...args]);
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. Resolves once it has exited. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

/**
 * Newline-delimited JSON over a child's stdin/stdout. Lines that are not JSON objects (a server's log) are
 * kept, the last few, for error messages.
 */
export class JsonLines {
  readonly recentOutput: string[] = [];
  private readonly messages: Record<string, unknown>[] = [];
  private readonly waiters: (() => void)[] = [];
  private buffered = '';
  private exited: string | undefined;

  constructor(private readonly child: ChildProcess, private readonly label: string) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.onData(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.keep(chunk));
    child.once('exit', (code, signal) => {
      this.exited = `exited (code ${code}, signal ${signal})`;
      this.wake();
    });
    child.once('error', (err) => {
      this.exited = `could not start: ${err.message}`;
      this.wake();
    });
  }

  send(message: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  /** The next message for which `accept` is true (earlier ones are dropped), or an error after `timeoutMs`. */
  async next(accept: (m: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.messages.length > 0) {
        const m = this.messages.shift()!;
        if (accept(m)) return m;
      }
      if (this.exited !== undefined) throw new Error(`${this.label} ${this.exited}; last output:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no answer within ${timeoutMs} ms; last output:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  tail(): string {
    return this.recentOutput.slice(-15).join('\n');
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line.startsWith('{')) {
        try {
          this.messages.push(JSON.parse(line) as Record<string, unknown>);
          this.wake();
          continue;
        } catch {
          // Not ours: fall through and keep it as output.
        }
      }
      this.keep(line);
    }
    // A chatty child must not grow this without bound.
    if (this.buffered.length > 1 << 16) this.buffered = this.buffered.slice(-4096);
  }

  private keep(text: string): void {
    for (const line of text.split('\n')) if (line.trim() !== '') this.recentOutput.push(line);
    if (this.recentOutput.length > 200) this.recentOutput.splice(0, this.recentOutput.length - 100);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
