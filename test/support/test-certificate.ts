// What tests of TLS and of names share: a self-signed certificate made by openssl, and a resolver that
// answers from a zone of the test's own (so no name ever leaves the machine).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A P-256 self-signed certificate for `name` (CN and subjectAltName), valid 2 days: PEM files in `dir`. It is
 * an end-entity certificate (CA:FALSE): rustls (the WebTransport carrier's Deno child) refuses a CA certificate
 * as a server's own (CaUsedAsEndEntity), which `openssl req -x509` makes by default; Node accepts either.
 */
export function selfSignedCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  args.push('-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-addext', 'basicConstraints=critical,CA:FALSE');
  args.push('-keyout', key, '-out', cert);
  const run = spawnSync('openssl', args, { encoding: 'utf8', timeout: 15_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('openssl not found: the TLS tests make their certificate with it — install it with `apt-get install -y openssl`');
  }
  if (run.error || run.status !== 0) throw new Error(`openssl req failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr}`);
  return { cert, key };
}

/** A bridge `resolve` option answering from `zone` (name → address); any other name is ENOTFOUND. */
export function zoneResolver(zone: Record<string, string>): (name: string) => Promise<string[]> {
  return async (name) => {
    const address = zone[name.toLowerCase().replace(/\.$/, '')];
    if (address === undefined) throw Object.assign(new Error(`${name} is not in the test zone`), { code: 'ENOTFOUND' });
    return [address];
  };
}
