// The WebTransport carrier's development certificate: what Chromium accepts by hash alone (W3C WebTransport
// serverCertificateHashes: ECDSA P-256, valid less than 14 days), made with the openssl CLI rather than
// hand-written ASN.1, its SHA-256 taken over the DER by node:crypto.
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIp } from '../src/net/ip.js';

/** A development certificate lives 13 days (W3C WebTransport: serverCertificateHashes need < 14) and is replaced a day early. */
export const DEV_CERT_DAYS = 13;
export const DEV_CERT_ROTATE_BEFORE_MS = 24 * 3600 * 1000;
export interface CertificateHash {
  algorithm: 'sha-256';
  /** Base64 of the SHA-256 of the certificate's DER. */
  value: string;
}

/** A self-signed ECDSA P-256 certificate valid DEV_CERT_DAYS, with SANs for `host`, localhost and loopback. */
export function makeDevelopmentCertificate(host: string): { cert: string; key: string; hash: CertificateHash; notAfter: number } {
  const dir = mkdtempSync(join(tmpdir(), 'icebridge-wt-'));
  try {
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    const san = new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
    if (isIp(host) && host !== '0.0.0.0' && host !== '::') san.add(`IP:${host}`);
    else if (!isIp(host)) san.add(`DNS:${host}`);
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', String(DEV_CERT_DAYS)];
    args.push('-subj', '/CN=icebridge development', '-addext', `subjectAltName=${[...san].join(',')}`, '-keyout', keyFile, '-out', certFile);
    const run = spawnSync('openssl', args, { encoding: 'utf8', timeout: 15_000 });
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('openssl not found: it makes the WebTransport development certificate');
    if (run.error || run.status !== 0) throw new Error(`openssl req failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr}`);
    const cert = readFileSync(certFile, 'utf8');
    const x509 = new X509Certificate(cert);
    return {
      cert,
      key: readFileSync(keyFile, 'utf8'),
      hash: { algorithm: 'sha-256', value: createHash('sha256').update(x509.raw).digest('base64') },
      notAfter: Date.parse(x509.validTo),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
