// The `icebridge` command. Each subcommand lives in its own file and returns an exit code.
import { bridgeUsage, runBridge } from './bridge.js';
import { runDecode } from './decode.js';
import { natTypeUsage, runNatType } from './nat-type.js';
import { peerUsage } from './peer-args.js';
import { runPeer } from './peer.js';
import { runServe, serveUsage } from './serve.js';
import { runStun, stunUsage } from './stun.js';
import { runToken, tokenUsage } from './token.js';
import { runTurn, turnUsage } from './turn.js';
import { EXIT_USAGE, UsageError } from './args.js';
import { packageVersion } from './version.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => Promise<string>;
}

interface Command {
  summary: string;
  usage: string;
  run: (args: string[], io: CliIO) => Promise<number>;
}

const commands: Record<string, Command> = {
  decode: {
    summary: 'decode a STUN message given as hex and print it as JSON',
    usage: 'icebridge decode <hex | ->   (- reads hex from stdin)',
    run: runDecode,
  },
  stun: {
    summary: 'ask a STUN server for this machine\'s mapped address',
    usage: stunUsage,
    run: runStun,
  },
  serve: {
    summary: 'run the STUN and TURN server (one UDP port; TCP and TLS with --tcp-port, --tls-port)',
    usage: serveUsage,
    run: (args, io) => runServe(args, io),
  },
  token: {
    summary: 'mint a time-limited bridge/TURN credential (TURN REST API) and print it as JSON',
    usage: tokenUsage,
    run: runToken,
  },
  bridge: {
    summary: 'run the WebSocket-to-UDP bridge that gives browser pages UDP sockets',
    usage: bridgeUsage,
    run: (args, io) => runBridge(args, io),
  },
  turn: {
    summary: 'allocate a TURN relay, bind a channel to a peer and check that its echo comes back',
    usage: turnUsage,
    run: runTurn,
  },
  'nat-type': {
    summary: 'find out how the NAT in front of this machine behaves (RFC 5780: mapping, filtering, hairpinning)',
    usage: natTypeUsage,
    run: runNatType,
  },
  peer: {
    summary: 'run an ICE agent whose signalling is RFC 8839 lines on stdin/stdout (pipe two together to connect)',
    usage: peerUsage,
    run: (args, io) => runPeer(args, io),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'icebridge — STUN, TURN and ICE for Node and the browser',
    '',
    'Usage: icebridge <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `icebridge help <command>` (or `icebridge <command> --help`) for the options of one command,',
    '`icebridge --version` for the version.',
    '',
    'Exit codes: 0 success, 1 runtime failure (no answer, refused, timed out), 2 usage error.',
  ].join('\n');
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout(packageVersion());
    return 0;
  }
  if (name === 'help' && rest.length > 0) {
    // `icebridge help <command>`: that command's help, not the global one.
    const command = commands[rest[0]];
    if (!command || rest.length > 1) {
      io.stderr(`icebridge help: ${command ? 'give one command' : `unknown command '${rest[0]}'`}\nRun \`icebridge help\` for the commands.`);
      return EXIT_USAGE;
    }
    io.stdout(`Usage: ${command.usage}`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) {
      io.stderr(help());
      return EXIT_USAGE;
    }
    io.stdout(help());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`icebridge: unknown command '${name}'\nRun \`icebridge help\` for the commands.`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`Usage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // One line naming the option, then where to read the rest (not the whole usage text).
    if (err instanceof UsageError) {
      io.stderr(`icebridge ${name}: ${err.message}\nRun \`icebridge help ${name}\` for its options.`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
