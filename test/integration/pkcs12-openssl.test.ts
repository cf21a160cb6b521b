// The PKCS#12 that `plexus login --p12` and `plexus broker admin-p12` write, read by the
// real OpenSSL: the password opens it (and a wrong one does not), the algorithms are the
// modern ones, and the key, the certificate and the clusterset root come back out as put in.
import '../../certs/setup.ts';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair, type KeyAlgorithm } from '../../certs/keys.ts';
import { encodePkcs12 } from '../../certs/pkcs12.ts';

const OPENSSL = '/usr/bin/openssl';
let dir: string;
let ca: CertificateAuthority;

function openssl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'plexus-p12-'));
  ca = (await createRootCa({ clusterset: 'acme.example', now: new Date() })).ca;
  writeFileSync(path.join(dir, 'right.txt'), 'correct horse battery\n');
  writeFileSync(path.join(dir, 'wrong.txt'), 'correct horse battery staple\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['P-256', 'RSA-2048'] as KeyAlgorithm[])('PKCS#12 with a %s key, read by openssl pkcs12', (alg) => {
  let keyPem: string;
  let certPem: string;
  let file: string;
  beforeAll(async () => {
    const keys = await generateKeyPair(alg);
    certPem = (await issueCertificate({ ca, publicKey: keys.publicKey, commonName: 'alice', identity: { trustDomain: 'acme.example', kind: 'user', name: 'alice' }, usages: ['clientAuth'], lifetimeSeconds: 3600, now: new Date() })).certPem;
    keyPem = await exportPrivateKeyPem(keys.privateKey);
    file = path.join(dir, `alice-${alg}.p12`);
    writeFileSync(file, encodePkcs12({ keyPem, certPem, caPem: ca.certPem, password: 'correct horse battery', friendlyName: 'alice (acme.example)' }));
  });

  it('opens with the password and names the algorithms: PBES2/PBKDF2/AES-256-CBC with hmacWithSHA256, MAC sha256', () => {
    const r = openssl('pkcs12', '-info', '-noout', '-in', file, '-passin', 'file:right.txt');
    expect(r.status, r.stderr).toBe(0);
    const info = r.stderr + r.stdout;
    expect(info).toMatch(/MAC: sha256, Iteration 100000/);
    expect(info).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256/);
    expect(info.match(/Certificate bag/g)).toHaveLength(2);
  });

  it('does not open with a wrong password (MAC verify error), nor with -passin of an empty one', () => {
    const wrong = openssl('pkcs12', '-info', '-noout', '-in', file, '-passin', 'file:wrong.txt');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/Mac verify error/);
    const empty = openssl('pkcs12', '-info', '-noout', '-in', file, '-passin', 'pass:');
    expect(empty.status).not.toBe(0);
  });

  it('gives back the same key, the leaf with its friendly name, and the clusterset root as the only CA certificate', () => {
    const keyOut = openssl('pkcs12', '-in', file, '-passin', 'file:right.txt', '-nocerts', '-nodes');
    expect(keyOut.status, keyOut.stderr).toBe(0);
    const pkcs8 = (pem: string) => createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
    expect(pkcs8(keyOut.stdout.slice(keyOut.stdout.indexOf('-----BEGIN')))).toEqual(pkcs8(keyPem));
    expect(keyOut.stdout).toMatch(/friendlyName: alice \(acme\.example\)/);

    const leafOut = openssl('pkcs12', '-in', file, '-passin', 'file:right.txt', '-clcerts', '-nokeys');
    expect(leafOut.status, leafOut.stderr).toBe(0);
    expect(new X509Certificate(leafOut.stdout.slice(leafOut.stdout.indexOf('-----BEGIN'))).fingerprint256).toBe(new X509Certificate(certPem).fingerprint256);

    const caOut = openssl('pkcs12', '-in', file, '-passin', 'file:right.txt', '-cacerts', '-nokeys');
    expect(caOut.status, caOut.stderr).toBe(0);
    expect(caOut.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(new X509Certificate(caOut.stdout.slice(caOut.stdout.indexOf('-----BEGIN'))).fingerprint256).toBe(new X509Certificate(ca.certPem).fingerprint256);
  });
});
