// `icebridge serve --allow-origin O`: /config.json readable from page origin O (CORS, with its preflight) and
// from no other; and `icebridge stun --tcp` against serve's TCP listener. Everything on 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { finish, watch } from '../support/cli-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: the CLI compiles TypeScript at start, on a possibly busy machine. */
const WAIT_MS = 30_000;
const APP = 'http://localhost:5173';

function cli(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('icebridge serve --allow-origin', { timeout: 90_000 }, () => {
  it('answers the listed origin with CORS on /config.json (and its preflight), no other; stun --tcp reaches its TCP port', async () => {
    const child = cli(['serve', '--host', '127.0.0.1', '--port', '0', '--stun-port', '0', '--tcp-port', '0', '--no-webtransport', '--no-pages', '--allow-origin', APP]);
    const s = watch(child, WAIT_MS);
    try {
      const [, base] = await s.line(/listening on (http:\/\/127\.0\.0\.1:\d+\/)/);
      const [, tcpPort] = await s.line(/TURN over TCP listening on 127\.0\.0\.1:(\d+)/);
      const listed = await fetch(`${base}config.json`, { headers: { origin: APP } });
      assert.equal(listed.status, 200);
      assert.equal(listed.headers.get('access-control-allow-origin'), APP);
      assert.match(listed.headers.get('vary') ?? '', /Origin/);
      assert.ok(((await listed.json()) as { bridge: { credential: string } }).bridge.credential);
      const other = await fetch(`${base}config.json`, { headers: { origin: 'http://localhost:5174' } });
      assert.equal(other.status, 200);
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      await other.body?.cancel();
      const preflight = await fetch(`${base}config.json`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), APP);

      const stun = cli(['stun', `127.0.0.1:${tcpPort}`, '--tcp', '--json', '--timeout-ms', '5000']);
      stun.stdin.end();
      const r = await finish(stun, WAIT_MS);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const json = JSON.parse(r.stdout) as { mapped: string; server: string };
      assert.equal(json.server, `127.0.0.1:${tcpPort}`);
      assert.match(json.mapped, /^127\.0\.0\.1:\d+$/);
      child.kill('SIGINT');
      assert.equal((await s.exited).code, 0, s.output().stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
