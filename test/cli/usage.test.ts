// The CLI's conventions, as a user meets them: `--version`, `help <command>`, every usage error as one line
// naming the option (and what was typed), exit 2 for usage errors and 1 for runtime failures.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { finish, type CliResult } from '../support/cli-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: several start at once, each compiling TypeScript on a possibly busy machine (the ~50 runs took 120 s under a loaded CI run). */
const RUN_TIMEOUT_MS = 30_000;

function icebridge(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ICEBRIDGE_SECRET: '' },
  });
  child.stdin!.end();
  return finish(child, RUN_TIMEOUT_MS);
}

/** The first stderr line, which must say it all. */
const firstLine = (r: CliResult) => r.stderr.split('\n')[0];

describe('icebridge CLI conventions', { concurrency: 4, timeout: 300_000 }, () => {
  it('--version prints the package.json version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
    const r = await icebridge(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  it('help <command> prints that command\'s help, not the global one', async () => {
    for (const command of ['stun', 'token', 'bridge', 'serve', 'turn', 'nat-type', 'peer', 'decode']) {
      const r = await icebridge(['help', command]);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: icebridge ${command}`), command);
      assert.doesNotMatch(r.stdout, /^Commands:/m, `${command}: the global help`);
    }
    const global = await icebridge(['help']);
    assert.equal(global.code, 0);
    assert.match(global.stdout, /^Commands:/m);
    assert.match(global.stdout, /2 usage error/);
    const none = await icebridge([]);
    assert.equal(none.code, 2, 'no command is a usage error');
    assert.match(none.stderr, /^Commands:/m);
    const unknown = await icebridge(['help', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(firstLine(unknown), /^icebridge help: unknown command 'frobnicate'$/);
  });

  // [args, the first stderr line]: each a usage error, exit 2, the option named in one line.
  const usageErrors: [string[], RegExp][] = [
    [['stun', '127.0.0.1:3478', '--timeout-ms', '-5'], /^icebridge stun: --timeout-ms must be a positive integer, got "-5"$/],
    [['stun', '127.0.0.1:3478', '--rto-ms', 'soon'], /^icebridge stun: --rto-ms must be a positive integer, got "soon"$/],
    [['stun', '127.0.0.1:3478', '--timeout-ms'], /^icebridge stun: --timeout-ms needs a value$/],
    [['stun', '127.0.0.1:3478', '--frobnicate'], /^icebridge stun: unknown option --frobnicate$/],
    [['stun', '127.0.0.1:3478', '--json=yes'], /^icebridge stun: --json takes no value$/],
    [['stun'], /^icebridge stun: missing the STUN server/],
    [['stun', 'http://stun.example:3478'], /^icebridge stun: "http:\/\/stun\.example:3478" is not a STUN server/],
    [['stun', 'stun:[::1:3478'], /^icebridge stun: "stun:\[::1:3478" is not a STUN server: unclosed '\['/],
    [['stun', 'stun://127.0.0.1'], /^icebridge stun: "stun:\/\/127\.0\.0\.1" is not a STUN server: no '\/\/'/],
    [['stun', 'turn:127.0.0.1:3478'], /^icebridge stun: "turn:127\.0\.0\.1:3478" is a TURN URI; .*--tcp/],
    [['stun', 'turns:127.0.0.1'], /^icebridge stun: "turns:127\.0\.0\.1" is a TURN URI/],
    [['stun', 'stuns:127.0.0.1', '--tcp'], /^icebridge stun: --tcp is for stun: servers/],
    [['token', '--user', 'u'], /^icebridge token: missing --secret \(or set ICEBRIDGE_SECRET\)$/],
    [['token', '--secret', 's'], /^icebridge token: missing --user$/],
    [['token', '--secret', 's', '--user', 'u', '--ttl', '-5'], /^icebridge token: --ttl must be a positive integer, got "-5"$/],
    [['token', '--secret', 's', '--user', 'u', '--ttl', '1.5'], /^icebridge token: --ttl must be a positive integer, got "1\.5"$/],
    [['token', '--secret', 's', '--user', 'u', '--bridge', 'http://x'], /^icebridge token: --bridge must be a ws:\/\/ or wss:\/\/ URL, got "http:\/\/x"$/],
    [['bridge', '--port', '0'], /^icebridge bridge: missing --secret \(or set ICEBRIDGE_SECRET\); --allow-anonymous /],
    [['bridge', '--secret', 's', '--allow-origin', 'notaurl'], /^icebridge bridge: --allow-origin must be an origin .*, got "notaurl"$/],
    [['bridge', '--secret', 's', '--allow-origin', 'https://app.example/path'], /^icebridge bridge: --allow-origin must be an origin .*no path.*, got "https:\/\/app\.example\/path"$/],
    [['bridge', '--secret', 's', '--max-sessions', '0'], /^icebridge bridge: --max-sessions must be a positive integer, got "0"$/],
    [['bridge', '--secret', 's', '--port', '70000'], /^icebridge bridge: --port must be a port \(0\.\.65535\), got "70000"$/],
    [['bridge', '--secret', 's', 'extra'], /^icebridge bridge: unexpected argument "extra"$/],
    [['serve', '--allow-origin', 'notaurl'], /^icebridge serve: --allow-origin must be an origin .*, got "notaurl"$/],
    [['serve', '--allow-origin', 'http://localhost:5173', '--no-bridge'], /^icebridge serve: --allow-origin .*--no-bridge/],
    [['serve', '--port', '-1'], /^icebridge serve: --port must be a port \(0\.\.65535\), got "-1"$/],
    [['serve', '--deny', 'x'], /^icebridge serve: --deny must be a CIDR block .*, got "x"$/],
    [['serve', '--relay-address', 'relay.example'], /^icebridge serve: --relay-address must be an IP address, got "relay\.example"$/],
    [['bridge', '--secret', 's', '--allow', '10.0.0.0/33'], /^icebridge bridge: --allow must be a CIDR block .*, got "10\.0\.0\.0\/33"$/],
    [['token', '--secret', 's', '--user', 'u'.repeat(600)], /^icebridge token: --user must be at most \d+ characters, got 600$/],
    [['serve', '--max-bps', '0'], /^icebridge serve: --max-bps must be a positive integer, got "0"$/],
    [['turn', 'turn:127.0.0.1'], /^icebridge turn: missing --username, --credential and --peer$/],
    [['turn', 'turn:127.0.0.1', '--username', 'u', '--credential', 'c'], /^icebridge turn: missing --peer$/],
    [['turn', 'stun:127.0.0.1', '--username', 'u', '--credential', 'c', '--peer', '127.0.0.1:9'], /^icebridge turn: "stun:127\.0\.0\.1" is not a turn: or turns: URI$/],
    [['turn', 'turn:127.0.0.1?transport=sctp', '--username', 'u', '--credential', 'c', '--peer', '127.0.0.1:9'], /^icebridge turn: "turn:127\.0\.0\.1\?transport=sctp" is not a TURN URI: /],
    [['turn', 'turn:127.0.0.1', '--username', 'u', '--credential', 'c', '--peer', 'nowhere'], /^icebridge turn: --peer must be host:port .*, got "nowhere"$/],
    [['turn', 'turn:127.0.0.1', '--username', 'u', '--credential', 'c', '--peer', '127.0.0.1:9', '--timeout-ms', '0'], /^icebridge turn: --timeout-ms must be a positive integer, got "0"$/],
    [['nat-type'], /^icebridge nat-type: missing --server/],
    [['nat-type', '--server', 'turn:127.0.0.1'], /^icebridge nat-type: "turn:127\.0\.0\.1" is a TURN URI/],
    [['nat-type', '--server', '127.0.0.1:3478', '--timeout-ms', '-1'], /^icebridge nat-type: --timeout-ms must be a positive integer, got "-1"$/],
    [['peer'], /^icebridge peer: missing --role/],
    [['peer', '--role', 'sideways'], /^icebridge peer: --role must be controlling or controlled, got "sideways"$/],
    [['peer', '--role', 'controlling', '--ice-server', 'http://x'], /^icebridge peer: --ice-server "http:\/\/x" is not a STUN\/TURN URI: /],
    [['peer', '--role', 'controlling', '--timeout-ms', '-5'], /^icebridge peer: --timeout-ms must be a positive integer, got "-5"$/],
    [['peer', '--role', 'controlling', '--address', 'nope'], /^icebridge peer: --address must be an IP address, got "nope"$/],
    [['peer', '--role', 'controlling', '--address', '192.0.2.77'], /^icebridge peer: --address must be an address of this machine, got "192\.0\.2\.77"$/],
    [['decode'], /^icebridge decode: missing the message as hex/],
    [['frobnicate'], /^icebridge: unknown command 'frobnicate'$/],
    // Several mistakes: every one named, in the same one line, not only the first.
    [['stun', '127.0.0.1:3478', '--frobnicate', '--nope'], /^icebridge stun: unknown options --frobnicate, --nope$/],
    [
      ['bridge', '--secret', 's', '--port', '70000', '--max-sessions', '0', '--allow', '10.0.0.0/33'],
      /^icebridge bridge: --port must be a port \(0\.\.65535\), got "70000"; --max-sessions must be a positive integer, got "0"; --allow must be a CIDR block .*, got "10\.0\.0\.0\/33"$/,
    ],
    [['bridge', '--port', 'x'], /^icebridge bridge: missing --secret .*; --port must be a port \(0\.\.65535\), got "x"$/],
    [
      ['serve', '--port', '-1', '--user', 'bob', '--relay-ports', '9-1', '--deny', 'x'],
      /^icebridge serve: --port must be a port .*, got "-1"; --user takes NAME:PASSWORD, got "bob"; --relay-ports must be MIN-MAX within 1-65535, got "9-1"; --deny must be a CIDR block .*, got "x"$/,
    ],
    [['token', '--ttl', '0'], /^icebridge token: missing --secret \(or set ICEBRIDGE_SECRET\); missing --user; --ttl must be a positive integer, got "0"$/],
    [
      ['peer', '--role', 'sideways', '--policy', 'some', '--gather-policy', 'x'],
      /^icebridge peer: --role must be controlling or controlled, got "sideways"; --policy must be all or relay, got "some"; --gather-policy must be once or continual, got "x"$/,
    ],
    [
      ['turn', 'turn:127.0.0.1', '--peer', 'nowhere', '--timeout-ms', '0'],
      /^icebridge turn: missing --username and --credential; --peer must be host:port .*, got "nowhere"; --timeout-ms must be a positive integer, got "0"$/,
    ],
    [['nat-type', '--server', '127.0.0.1:3478', '--timeout-ms', '-1', '--rto-ms', 'x'], /^icebridge nat-type: --timeout-ms must be .*, got "-1"; --rto-ms must be .*, got "x"$/],
  ];
  for (const [args, expected] of usageErrors) {
    it(`usage error, exit 2: icebridge ${args.join(' ')}`, async () => {
      const r = await icebridge(args);
      assert.equal(r.code, 2, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(firstLine(r), expected);
      assert.doesNotMatch(r.stderr, /^Usage:/m, 'one line, not the whole usage text');
      assert.doesNotMatch(r.stderr, /ambiguous|ERR_PARSE_ARGS|at .*\.ts:\d+/, 'no raw parseArgs text, no stack');
      assert.match(r.stderr, new RegExp(`Run \`icebridge help${args[0] === 'frobnicate' ? '' : ` ${args[0]}`}\``));
    });
  }

  it('a runtime failure exits 1: no answer, unreachable bridge, unreadable CA file', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind({ address: '127.0.0.1', port: 0 }, resolve));
    const port = s.address().port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const stun = await icebridge(['stun', `127.0.0.1:${port}`, '--timeout-ms', '300']);
    assert.equal(stun.code, 1, stun.stderr);
    assert.match(firstLine(stun), /^icebridge stun: /);
    const bridged = await icebridge(['stun', `127.0.0.1:${port}`, '--bridge', 'ws://127.0.0.1:1/', '--timeout-ms', '2000']);
    assert.equal(bridged.code, 1, bridged.stderr);
    const ca = await icebridge(['bridge', '--secret', 's', '--port', '0', '--host', '127.0.0.1', '--tls-ca', '/nonexistent/ca.pem']);
    assert.equal(ca.code, 1, ca.stderr);
    assert.match(firstLine(ca), /^icebridge bridge: cannot read --tls-ca: /);
  });
});
