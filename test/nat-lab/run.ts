// npm run test:nat-lab — icebridge across real Linux NATs (root only; see topology.ts and nat-modes.ts):
//   1. `icebridge nat-type` behind each NAT mode must name its mapping and filtering behaviour;
//   2. `icebridge peer` ↔ `icebridge peer` for every pair of NAT modes must connect — directly where the pair
//      allows it (predictDirect, itself checked against ICE on the simulator), through TURN where not.
// Prints the NAT × NAT table and saves it to test-artifacts/nat-lab.txt. Exit 0 when all is as expected,
// 1 otherwise; without root it says why it is skipped and exits 0.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { predictDirect } from '../../src/nat/index.js';
import { buildLabCli, killLabChildren, labNatType, runPeerPair, startLabServer, type LabServer, type PairResult } from './lab-processes.js';
import { NAT_MODES, profileOf } from './nat-modes.js';
import { LabTopology, labUnavailable, type LabNat } from './topology.js';

const ARTIFACT = fileURLToPath(new URL('../../test-artifacts/nat-lab.txt', import.meta.url));

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

async function main(): Promise<number> {
  const unavailable = labUnavailable();
  if (unavailable) {
    console.log(`nat-lab: SKIPPED — ${unavailable}. The lab builds network namespaces with NATs (iptables/nft); run it as root: sudo npm run test:nat-lab`);
    return 0;
  }
  const t0 = performance.now();
  const failures: string[] = [];
  const report: string[] = [];
  const log = (line = '') => {
    console.log(line);
    report.push(line);
  };
  await buildLabCli();
  const topology = new LabTopology();
  let server: LabServer | undefined;
  try {
    const left = NAT_MODES.map((mode) => topology.addNat(mode));
    const right = NAT_MODES.map((mode) => topology.addNat(mode));
    server = await startLabServer(topology.publicNs);
    log(`nat-lab: ${topology.nats.length} NATs (${NAT_MODES.map((m) => m.name).join(', ')} × 2), icebridge serve on 203.0.113.1 + 203.0.113.2 (RFC 5780, TURN)`);

    // 1. Classification, every NAT at once (separate namespaces, separate NAT state).
    log('');
    log('icebridge nat-type behind each NAT:');
    log(`  ${pad('NAT', 32)}${pad('mapping', 30)}${pad('filtering', 30)}${pad('classic', 22)}${pad('hairpin', 10)}time`);
    const types = await Promise.all(topology.nats.map((nat) => labNatType(nat)));
    types.forEach((t, i) => {
      const nat = topology.nats[i];
      const label = `${nat.mode.name} (${nat.publicAddress})`;
      if (!t.result) {
        failures.push(`nat-type behind ${label}: ${t.error}`);
        log(`  ${pad(label, 32)}ERROR ${t.error}`);
        return;
      }
      const r = t.result;
      const ok = r.mapping === nat.mode.mapping && r.filtering === nat.mode.filtering && r.classic === nat.mode.classic && r.natted;
      if (!ok) failures.push(`nat-type behind ${label}: got ${r.mapping}/${r.filtering} (${r.classic}), expected ${nat.mode.mapping}/${nat.mode.filtering} (${nat.mode.classic})`);
      const hairpin = r.hairpinning === undefined ? 'n/a' : r.hairpinning ? 'yes' : 'no';
      log(`  ${pad(label, 32)}${pad(r.mapping, 30)}${pad(r.filtering, 30)}${pad(r.classic, 22)}${pad(hairpin, 10)}${Math.round(t.ms)} ms${ok ? '' : '  ✗ WRONG'}`);
    });

    // 2. Every pair of modes, one pair at a time (connect times are not skewed by the others).
    const results = new Map<string, { result: PairResult; expected: 'direct' | 'relay' }>();
    for (const l of left) {
      for (const r of right) {
        const expected = predictDirect(profileOf(l.mode), profileOf(r.mode)) ? 'direct' : 'relay';
        const result = await runPeerPair(l, r);
        results.set(`${l.index}/${r.index}`, { result, expected });
        const label = `${l.mode.name} × ${r.mode.name}`;
        if (!result.connected) failures.push(`peer ${label}: did not connect: ${result.error}`);
        else if (result.path !== expected) failures.push(`peer ${label}: connected via ${result.path} (${result.localType}/${result.remoteType}), expected ${expected}`);
      }
    }
    printTable(log, left, right, results);
  } finally {
    await server?.stop().catch(() => {});
    killLabChildren();
    topology.destroy();
  }
  log('');
  log(failures.length === 0 ? `nat-lab: all as expected (${((performance.now() - t0) / 1000).toFixed(1)} s)` : `nat-lab: ${failures.length} FAILED`);
  for (const f of failures) log(`  ✗ ${f}`);
  mkdirSync(new URL('../../test-artifacts/', import.meta.url), { recursive: true });
  writeFileSync(ARTIFACT, `${report.join('\n')}\n`);
  console.log(`(saved to ${ARTIFACT})`);
  return failures.length === 0 ? 0 : 1;
}

function printTable(log: (line?: string) => void, left: LabNat[], right: LabNat[], results: Map<string, { result: PairResult; expected: 'direct' | 'relay' }>): void {
  const width = 24;
  log('');
  log('icebridge peer ↔ icebridge peer (rows: controlling peer\'s NAT, columns: controlled peer\'s NAT; path, time to connected):');
  log(`  ${pad('', 18)}${right.map((r) => pad(r.mode.name, width)).join('')}`);
  for (const l of left) {
    const cells = right.map((r) => {
      const { result, expected } = results.get(`${l.index}/${r.index}`)!;
      if (!result.connected) return pad(`FAILED (want ${expected})`, width);
      const mark = result.path === expected ? '' : ` ✗ want ${expected}`;
      return pad(`${result.path} ${Math.round(result.connectMs ?? NaN)} ms${mark}`, width);
    });
    log(`  ${pad(l.mode.name, 18)}${cells.join('')}`);
  }
  const all = [...results.values()];
  const connected = all.filter((x) => x.result.connected).length;
  const direct = all.filter((x) => x.result.connected && x.result.path === 'direct').length;
  log(`  ${connected}/${all.length} pairs connected: ${direct} direct, ${connected - direct} through the TURN relay`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killLabChildren();
    console.error(`nat-lab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
