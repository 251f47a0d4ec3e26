// Interop: coturn's test client `turnutils_uclient` against icebridge's TURN server, on loopback only, with
// coturn's `turnutils_peer` as the echoing peer. uclient allocates, authenticates (401 → long-term
// credentials), creates permissions, sends Send indications through the relay to the peer and expects every
// echo back as a Data indication.
//
// Flags: -c (no RTCP allocations — those use EVEN-PORT R=1 and RESERVATION-TOKEN, which the server
// deliberately does not implement) and -s (Send/Data indications — uclient's channel numbers use the old
// RFC 5766 range 0x4000–0x7FFF, which RFC 8656 §12 narrowed to 0x4000–0x4FFF, so its ChannelBinds get 400).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { startTurnServer, type RunningTurnServer } from '../../src/node/turn-server.js';

const INSTALL_HINT = 'turnutils_uclient and turnutils_peer come with coturn: install it with `apt-get install -y coturn`';
const RUN_TIMEOUT_S = 30;
const children = new Set<ChildProcess>();
let server: RunningTurnServer | undefined;

function requireTool(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  assert.equal(found.status, 0, `${name} not found. ${INSTALL_HINT}`);
}

/** A UDP port on 127.0.0.1 nothing listens on (bound, then released). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind({ address: '127.0.0.1', port: 0 }, resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs a command under `timeout` (which kills it after `seconds`, and passes on a SIGTERM); `after` stops what is left. */
function run(command: string, args: string[], seconds = RUN_TIMEOUT_S): { child: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const child = spawn('timeout', ['-k', '2', String(seconds), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (output += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (output += t));
  const done = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, output });
    }),
  );
  return { child, done };
}

/** uclient's summary lines: messages sent and received, and the loss it computed. */
function summary(output: string) {
  const counts = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output); // the final totals, not the per-interval lines
  const lost = /Total lost packets (\d+) \(([\d.]+)%\)/.exec(output);
  assert.ok(counts && lost, `no summary in uclient's output:\n${output.slice(-3000)}`);
  return { sent: Number(counts[1]), received: Number(counts[2]), lost: Number(lost[1]), lossPercent: Number(lost[2]) };
}

describe('turnutils_uclient → icebridge TURN server', { timeout: 120_000 }, () => {
  let peerPort = 0;

  before(async () => {
    requireTool('turnutils_uclient');
    requireTool('turnutils_peer');
    server = await startTurnServer({ port: 0, hosts: ['127.0.0.1'], realm: 'icebridge.test', users: { u: 'p' }, allowLoopback: true });
    peerPort = await freeUdpPort();
    run('turnutils_peer', ['-p', String(peerPort), '-L', '127.0.0.1'], 110);
  });

  after(async () => {
    // SIGTERM to `timeout`, which passes it on to the tool (a SIGKILL would orphan the tool instead).
    const closed = [...children].map((child) => new Promise((resolve) => child.once('close', resolve)));
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(closed);
    await server?.close();
  });

  it('allocates, relays to turnutils_peer and back with 0 % loss (3 clients × 10 messages)', async () => {
    const port = server!.addresses[0].port;
    const { done } = run('turnutils_uclient', ['-c', '-s', '-u', 'u', '-w', 'p', '-e', '127.0.0.1', '-r', String(peerPort), '-n', '10', '-m', '3', '-l', '120', '-p', String(port), '127.0.0.1']);
    const { code, output } = await done;
    assert.equal(code, 0, `uclient exit ${code}:\n${output.slice(-3000)}`);
    const s = summary(output);
    assert.equal(s.sent, 30, output.slice(-2000));
    assert.equal(s.received, 30, output.slice(-2000));
    assert.equal(s.lost, 0);
    assert.equal(s.lossPercent, 0);
    const c = server!.engine.counters;
    assert.ok(c.allocations.created >= 3, `allocations created: ${c.allocations.created}`);
    assert.ok(c.relayed.packetsToPeers >= 30 && c.relayed.packetsToClients >= 30, JSON.stringify(c.relayed));
    assert.equal(c.dropped['internal-error'], 0);
  });

  it('relays between uclient sessions themselves (-y, client to client) with 0 % loss', async () => {
    const port = server!.addresses[0].port;
    const { done } = run('turnutils_uclient', ['-y', '-c', '-s', '-u', 'u', '-w', 'p', '-n', '10', '-m', '2', '-p', String(port), '127.0.0.1']);
    const { code, output } = await done;
    assert.equal(code, 0, `uclient exit ${code}:\n${output.slice(-3000)}`);
    const s = summary(output);
    assert.ok(s.sent >= 20, output.slice(-2000));
    assert.equal(s.received, s.sent);
    assert.equal(s.lossPercent, 0);
    assert.equal(server!.engine.counters.dropped['internal-error'], 0);
  });

  it('is refused with a wrong password (uclient fails, nothing is allocated)', async () => {
    const port = server!.addresses[0].port;
    const before = server!.engine.counters.allocations.created;
    const { done } = run('turnutils_uclient', ['-c', '-s', '-u', 'u', '-w', 'wrong', '-e', '127.0.0.1', '-r', String(peerPort), '-n', '1', '-m', '1', '-p', String(port), '127.0.0.1'], 10);
    const { output } = await done;
    assert.match(output, /401|Unauthorized|Unauthenticated|cannot|error/i);
    assert.equal(server!.engine.counters.allocations.created, before);
  });
});
