// Like control.ts, for the servers of bench/bridge.ts and bench/turn-relay.ts, which answer more than
// stats: announce the port as one JSON line on stdout, answer {"cmd": name, ...} lines on stdin with
// {"type": name, ...} (or {"type":"error"}), and shut down when stdin closes or on SIGTERM/SIGINT — so no
// server outlives the bench run. Commands run one at a time, in order.
import { createInterface } from 'node:readline';

export type Command = (args: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface CommandServer {
  port: number;
  commands: Record<string, Command>;
  close: () => Promise<void> | void;
  /** Extra fields of the ready line. */
  ready?: Record<string, unknown>;
}

export function serveCommands(server: CommandServer): void {
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Whatever happens in close(), do not linger.
    setTimeout(() => process.exit(0), 3000).unref();
    try {
      await server.close();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let reply: Record<string, unknown>;
      let name = '?';
      try {
        const message = JSON.parse(line) as Record<string, unknown>;
        name = String(message.cmd);
        const command = Object.hasOwn(server.commands, name) ? server.commands[name] : undefined;
        if (command === undefined) throw new Error(`unknown command ${name}`);
        reply = { ...(await command(message)), type: name };
      } catch (err) {
        reply = { type: 'error', cmd: name, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
  });
  lines.on('close', () => void shutdown());
  process.stdout.write(`${JSON.stringify({ type: 'ready', port: server.port, pid: process.pid, ...server.ready })}\n`);
}
