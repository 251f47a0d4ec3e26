// The `icebridge` command. Each subcommand lives in its own file and returns an exit code.
import { bridgeUsage, runBridge } from './bridge.js';
import { runDecode } from './decode.js';
import { natTypeUsage, runNatType } from './nat-type.js';
import { peerUsage, runPeer } from './peer.js';
import { runServe, serveUsage } from './serve.js';
import { runStun, stunUsage } from './stun.js';
import { runToken, tokenUsage } from './token.js';
import { runTurn, turnUsage } from './turn.js';

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
    'Run `icebridge <command> --help` for the options of one command.',
  ].join('\n');
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`icebridge: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`Usage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // node:util parseArgs throws for unknown options and missing values: a usage error, exit 2.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`icebridge ${name}: ${(err as Error).message}\n\nUsage: ${command.usage}`);
      return 2;
    }
    throw err;
  }
}
