// The bridge tells the page about its own address changes, for real (issue 15): in a network namespace this
// test creates, with a veth pair inside it (10.77.9.1 on the first end, 10.88.9.1 on the other), one process runs a bridge
// bound to the wildcard, a page agent on it with gatherPolicy 'continual' and a Node peer on 10.88.9.1
// (test/nat-lab/bridge-address-page.ts). The page's host candidate starts at the bridge's first interface
// address, 10.77.9.1; `ip addr del` takes it away. The bridge's interface watcher sees it, tells the session
// (`host-addresses`), and the page moves its candidate and its selected pair to 10.88.9.1 — data flows on,
// no ICE restart. Root only, like the rest of the lab.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { segmentUnavailable } from './mdns-segment.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./bridge-address-page.ts', import.meta.url));
const NS = `ba${process.pid % 100_000}`;
const A = '10.77.9.1';
const B = '10.88.9.1';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe', timeout: 15_000 });
}

interface Event {
  at: number;
  event: string;
  address?: string;
  text?: string;
  state?: string;
  candidate?: string;
}

describe("the bridge's own address change, in a network namespace", () => {
  let child: ChildProcess | undefined;
  let devA = 'eth-a';
  let devB = 'eth-b';
  const events: Event[] = [];

  before(() => {
    const why = segmentUnavailable();
    assert.equal(why, undefined, why);
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    // Both ends inside the namespace: the machine's own interfaces are never touched.
    ip('-n', NS, 'link', 'add', 'eth-a', 'type', 'veth', 'peer', 'name', 'eth-b');
    // The bridge announces the interfaces in the kernel's order (by index): A goes on the first of the two.
    const order = execFileSync('ip', ['-n', NS, '-o', 'link', 'show'], { encoding: 'utf8' }).match(/eth-[ab]/g) ?? [];
    [devA, devB] = order[0] === 'eth-b' ? ['eth-b', 'eth-a'] : ['eth-a', 'eth-b'];
    ip('-n', NS, 'addr', 'add', `${A}/24`, 'dev', devA);
    ip('-n', NS, 'addr', 'add', `${B}/24`, 'dev', devB);
    ip('-n', NS, 'link', 'set', 'eth-a', 'up');
    ip('-n', NS, 'link', 'set', 'eth-b', 'up');
  });
  after(() => {
    child?.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore', timeout: 15_000 });
    } catch {
      // already gone
    }
  });

  const next = (test: (e: Event) => boolean, ms: number, what: string): Promise<Event> =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + ms;
      const poll = () => {
        const found = events.find(test);
        if (found) return resolve(found);
        if (Date.now() > deadline) return reject(new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(events).slice(0, 3000)}`));
        setTimeout(poll, 10);
      };
      poll();
    });

  it('an interface address that goes away moves the page to the one left, within seconds, data on it', { timeout: 60_000 }, async (t) => {
    child = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', SCRIPT, B], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        events.push(JSON.parse(l) as Event);
      } catch {
        stderr.push(l);
      }
    });
    child.once('exit', (code) => events.push({ at: Date.now(), event: 'exit', text: `${code} ${stderr.join('\n').slice(0, 2000)}` }));
    await next((e) => e.event === 'selected' || e.event === 'exit', 20_000, 'a first selected pair');
    const first = events.find((e) => e.event === 'selected');
    assert.equal(first?.address, A, JSON.stringify(events));
    await next((e) => e.event === 'received' && e.text === `from ${A}`, 5000, 'data from the first address');

    const removedAt = Date.now();
    ip('-n', NS, 'addr', 'del', `${A}/24`, 'dev', devA);
    const moved = await next((e) => e.event === 'selected' && e.address === B, 15_000, `the selected pair on ${B}`);
    await next((e) => e.event === 'received' && e.text === `from ${B}`, 5000, 'data from the new address');
    const candidates = events.filter((e) => e.event === 'candidate').map((e) => e.candidate ?? '');
    assert.ok(candidates.some((c) => c.includes(` ${B} `)), `a candidate at ${B} was trickled: ${candidates.join(' | ')}`);
    assert.ok(!events.some((e) => e.event === 'state' && e.state === 'failed'), JSON.stringify(events));
    t.diagnostic(`selected pair moved ${moved.at - removedAt} ms after ip addr del (interface poll 100 ms)`);
    child.stdin!.end();
  });
});
