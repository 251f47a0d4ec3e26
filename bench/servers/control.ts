// The control side every server child of bench/stun-server.ts shares: announce the port as one JSON line on
// stdout, answer {"cmd":"stats"} lines on stdin, and shut down when stdin closes (the parent went away) or
// on SIGTERM/SIGINT — so no server outlives the bench run.
import { createInterface } from 'node:readline';

export interface ServerControl {
  port: number;
  stats?: () => Record<string, unknown>;
  close: () => Promise<void> | void;
}

export function serveControl(control: ServerControl): void {
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Whatever happens in close(), do not linger.
    setTimeout(() => process.exit(0), 1000).unref();
    try {
      await control.close();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.includes('"stats"')) process.stdout.write(`${JSON.stringify({ type: 'stats', ...control.stats?.() })}\n`);
  });
  lines.on('close', () => void shutdown());
  process.stdout.write(`${JSON.stringify({ type: 'ready', port: control.port, pid: process.pid })}\n`);
}
