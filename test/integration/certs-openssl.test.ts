// An independent check of certs/ with the real OpenSSL: what we issue must verify with
// `openssl verify` (also with -x509_strict and TLS purposes), what OpenSSL reads back must
// be the identities we meant, CSRs and keys must travel both ways, and Node's TLS stack
// must complete an mTLS handshake with our certificates over a real socket.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, createServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa } from '../../certs/ca.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { createCsr, readCsr } from '../../certs/csr.ts';
import { CertError } from '../../certs/errors.ts';
import type { Identity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { ExtendedUsage } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from '../../certs/keys.ts';
import type { KeyAlgorithm } from '../../certs/keys.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';

const OPENSSL = '/usr/bin/openssl';
const ALGS: KeyAlgorithm[] = ['P-256', 'RSA-2048'];
// OpenSSL checks validity against the real clock, so these certificates are issued at it.
const now = new Date();

let dir: string;
const roots = {} as Record<KeyAlgorithm, CertificateAuthority>;
let rotated: CertificateAuthority;
let foreign: CertificateAuthority;

function openssl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function issueLeaf(o: {
  ca: CertificateAuthority;
  alg: KeyAlgorithm;
  commonName: string;
  identity: Identity;
  organizations?: string[];
  usages: ExtendedUsage[];
  dnsNames?: string[];
  ipAddresses?: string[];
}) {
  const keys = await generateKeyPair(o.alg);
  const csr = await readCsr(
    await createCsr({ keys, commonName: o.commonName, identity: o.identity, ...(o.organizations ? { organizations: o.organizations } : {}) }),
  );
  const issued = await issueCertificate({
    ca: o.ca,
    publicKey: csr.publicKey,
    commonName: csr.commonName,
    organizations: csr.organizations,
    ...(csr.identity ? { identity: csr.identity } : {}),
    usages: o.usages,
    dnsNames: o.dnsNames ?? [],
    ipAddresses: o.ipAddresses ?? [],
    lifetimeSeconds: 3600,
    now,
  });
  return { ...issued, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** `openssl x509 -ext …` output as { "X509v3 Key Usage": { critical, value } }. */
function parseExtensions(text: string): Record<string, { critical: boolean; value: string }> {
  const out: Record<string, { critical: boolean; value: string }> = {};
  let current: { critical: boolean; value: string } | undefined;
  for (const line of text.split('\n')) {
    const header = /^(X509v3 [^:]+):\s*(critical)?\s*$/.exec(line);
    if (header) {
      current = { critical: header[2] === 'critical', value: '' };
      out[header[1]!] = current;
    } else if (current && line.trim()) {
      current.value += (current.value ? '\n' : '') + line.trim();
    }
  }
  return out;
}

/** "subject=O = dev, O = system:masters, CN = alice" → [["O","dev"],["O","system:masters"],["CN","alice"]]. */
function parseSubject(text: string): [string, string][] {
  const line = text.split('\n').find((l) => l.startsWith('subject='))!;
  return line
    .slice('subject='.length)
    .split(', ')
    .map((rdn) => rdn.split(' = ') as [string, string]);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'plexus-certs-openssl-'));
  for (const alg of ALGS) roots[alg] = (await createRootCa({ clusterset: 'acme', now, algorithm: alg })).ca;
  rotated = (await createRootCa({ clusterset: 'acme', now })).ca;
  foreign = (await createRootCa({ clusterset: 'acme', now })).ca;
  write('bundle.pem', TrustBundle.fromPem(roots['P-256'].certPem + roots['RSA-2048'].certPem + rotated.certPem).toPem());
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(ALGS.flatMap((c) => ALGS.map((l) => [c, l] as const)))('a %s root issuing %s leaves', (rootAlg, leafAlg) => {
  const tag = `${rootAlg}-${leafAlg}`;

  it('cluster identity: openssl verify accepts it (plain, strict, as TLS client and server)', async () => {
    const leaf = await issueLeaf({
      ca: roots[rootAlg],
      alg: leafAlg,
      commonName: 'c1',
      identity: { trustDomain: 'acme', kind: 'cluster', name: 'c1' },
      usages: ['clientAuth', 'serverAuth'],
    });
    write(`root-${tag}.pem`, roots[rootAlg].certPem);
    write(`cluster-${tag}.pem`, leaf.certPem);
    for (const extra of [[], ['-x509_strict'], ['-purpose', 'sslclient'], ['-purpose', 'sslserver']]) {
      const r = openssl('verify', ...extra, '-CAfile', `root-${tag}.pem`, `cluster-${tag}.pem`);
      expect(r.stderr).toBe('');
      expect([r.status, r.stdout.trim()]).toEqual([0, `cluster-${tag}.pem: OK`]);
    }
    const bundled = openssl('verify', '-CAfile', 'bundle.pem', `cluster-${tag}.pem`);
    expect(bundled.status).toBe(0);

    const shown = openssl('x509', '-in', `cluster-${tag}.pem`, '-noout', '-subject', '-ext', 'subjectAltName,extendedKeyUsage,keyUsage,basicConstraints');
    expect(shown.status).toBe(0);
    expect(parseSubject(shown.stdout)).toEqual([['CN', 'c1']]);
    const ext = parseExtensions(shown.stdout);
    expect(ext['X509v3 Subject Alternative Name']).toEqual({ critical: false, value: 'URI:spiffe://acme/cluster/c1' });
    expect(ext['X509v3 Basic Constraints']).toEqual({ critical: true, value: 'CA:FALSE' });
    expect(ext['X509v3 Key Usage']).toEqual({
      critical: true,
      value: leafAlg === 'RSA-2048' ? 'Digital Signature, Key Encipherment' : 'Digital Signature',
    });
    expect(ext['X509v3 Extended Key Usage']?.value).toBe('TLS Web Server Authentication, TLS Web Client Authentication');
  });

  it('user identity with groups: CN is the user, each group is an O=', async () => {
    const leaf = await issueLeaf({
      ca: roots[rootAlg],
      alg: leafAlg,
      commonName: 'alice@example.com',
      identity: { trustDomain: 'acme', kind: 'user', name: 'alice@example.com' },
      organizations: ['dev', 'system:masters'],
      usages: ['clientAuth'],
    });
    write(`user-${tag}.pem`, leaf.certPem);
    const r = openssl('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'bundle.pem', `user-${tag}.pem`);
    expect([r.status, r.stdout.trim()]).toEqual([0, `user-${tag}.pem: OK`]);
    expect(openssl('verify', '-purpose', 'sslserver', '-CAfile', 'bundle.pem', `user-${tag}.pem`).status).not.toBe(0);

    const shown = openssl('x509', '-in', `user-${tag}.pem`, '-noout', '-subject', '-ext', 'subjectAltName,extendedKeyUsage,keyUsage,basicConstraints');
    expect(parseSubject(shown.stdout)).toEqual([
      ['O', 'dev'],
      ['O', 'system:masters'],
      ['CN', 'alice@example.com'],
    ]);
    const ext = parseExtensions(shown.stdout);
    expect(ext['X509v3 Subject Alternative Name']?.value).toBe('URI:spiffe://acme/user/alice@example.com');
    expect(ext['X509v3 Extended Key Usage']?.value).toBe('TLS Web Client Authentication');
  });
});

describe('openssl and the trust bundle', () => {
  it('reads the root as a CA with a distinct, dated subject', () => {
    write('root-check.pem', roots['P-256'].certPem);
    const shown = openssl('x509', '-in', 'root-check.pem', '-noout', '-subject', '-ext', 'basicConstraints,keyUsage,subjectKeyIdentifier');
    const subject = parseSubject(shown.stdout);
    expect(subject[0]).toEqual(['O', 'plexus']);
    expect(subject[1]![1]).toMatch(/^Plexus root CA \(acme\) \d{4}-\d{2}-\d{2} [0-9a-f]{8}$/);
    const ext = parseExtensions(shown.stdout);
    expect(ext['X509v3 Basic Constraints']).toEqual({ critical: true, value: 'CA:TRUE' });
    expect(ext['X509v3 Key Usage']).toEqual({ critical: true, value: 'Certificate Sign, CRL Sign' });
    expect(ext['X509v3 Subject Key Identifier']?.value).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    write('rotated.pem', rotated.certPem);
    expect(parseSubject(openssl('x509', '-in', 'rotated.pem', '-noout', '-subject').stdout)).not.toEqual(subject);
  });

  it('accepts a leaf of the rotated root only through the multi-root bundle', async () => {
    const leaf = await issueLeaf({ ca: rotated, alg: 'P-256', commonName: 'c2', identity: { trustDomain: 'acme', kind: 'cluster', name: 'c2' }, usages: ['clientAuth'] });
    write('rotated-leaf.pem', leaf.certPem);
    write('old-root.pem', roots['P-256'].certPem);
    expect(openssl('verify', '-CAfile', 'bundle.pem', 'rotated-leaf.pem').status).toBe(0);
    expect(openssl('verify', '-CAfile', 'old-root.pem', 'rotated-leaf.pem').status).not.toBe(0);
  });

  it('rejects a leaf from a foreign CA, as does verifyLeaf', async () => {
    const leaf = await issueLeaf({ ca: foreign, alg: 'P-256', commonName: 'c1', identity: { trustDomain: 'acme', kind: 'cluster', name: 'c1' }, usages: ['clientAuth'] });
    write('foreign-leaf.pem', leaf.certPem);
    write('root-only.pem', roots['P-256'].certPem);
    for (const ca of ['root-only.pem', 'bundle.pem']) {
      const r = openssl('verify', '-CAfile', ca, 'foreign-leaf.pem');
      expect(r.status).not.toBe(0);
    }
    const bundle = TrustBundle.fromPem(roots['P-256'].certPem + roots['RSA-2048'].certPem + rotated.certPem);
    const err = await verifyLeaf({ certPem: leaf.certPem, bundle, now, usage: 'clientAuth' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertError);
    expect((err as CertError).code).toBe('PLX_CERTS_UNTRUSTED');
  });
});

describe('CSRs and keys travel both ways', () => {
  it('openssl verifies the self-signature of our CSRs', async () => {
    for (const alg of ALGS) {
      const csr = await createCsr({ keys: await generateKeyPair(alg), commonName: 'c1', identity: { trustDomain: 'acme', kind: 'cluster', name: 'c1' } });
      write(`csr-${alg}.pem`, csr);
      const r = openssl('req', '-in', `csr-${alg}.pem`, '-noout', '-verify');
      expect(r.status).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/verify OK/i);
    }
  });

  it.each([
    ['P-256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['RSA-2048', ['-newkey', 'rsa:2048']],
  ] as const)('readCsr accepts an OpenSSL %s CSR, and openssl verifies what we issue from it', async (alg, keyArgs) => {
    const r = openssl(
      'req', '-new', ...keyArgs, '-nodes', '-keyout', `ossl-${alg}.key`, '-out', `ossl-${alg}.csr`,
      '-subj', '/O=dev/CN=bob', '-addext', 'subjectAltName=URI:spiffe://acme/user/bob',
    );
    expect(r.status).toBe(0);
    const csrPem = readFileSync(path.join(dir, `ossl-${alg}.csr`), 'utf8');
    const csr = await readCsr(csrPem);
    expect([csr.commonName, csr.organizations, csr.identity, csr.algorithm]).toEqual(['bob', ['dev'], { trustDomain: 'acme', kind: 'user', name: 'bob' }, alg]);
    const issued = await issueCertificate({
      ca: roots['P-256'], publicKey: csr.publicKey, commonName: csr.commonName, organizations: csr.organizations,
      identity: csr.identity!, usages: ['clientAuth'], lifetimeSeconds: 600, now,
    });
    write(`ossl-${alg}.pem`, issued.certPem);
    expect(openssl('verify', '-x509_strict', '-CAfile', 'bundle.pem', `ossl-${alg}.pem`).status).toBe(0);
    // OpenSSL's PKCS#8 key loads here, and it is the key the certificate names.
    const keyPem = readFileSync(path.join(dir, `ossl-${alg}.key`), 'utf8');
    await expect(importPrivateKeyPem(keyPem)).resolves.toMatchObject({ type: 'private' });
    const match = openssl('x509', '-in', `ossl-${alg}.pem`, '-noout', '-pubkey');
    const fromKey = openssl('pkey', '-in', `ossl-${alg}.key`, '-pubout');
    expect(match.stdout).toBe(fromKey.stdout);
  });
});

describe('a real mTLS handshake over a socket', () => {
  it('succeeds with a P-256 server and an RSA client, and refuses a foreign client', async () => {
    const server = await issueLeaf({
      ca: roots['P-256'], alg: 'P-256', commonName: 'broker', identity: { trustDomain: 'acme', kind: 'admin', name: 'broker' },
      usages: ['serverAuth'], dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'],
    });
    const client = await issueLeaf({
      ca: roots['RSA-2048'], alg: 'RSA-2048', commonName: 'c1', identity: { trustDomain: 'acme', kind: 'cluster', name: 'c1' }, usages: ['clientAuth'],
    });
    const intruder = await issueLeaf({
      ca: foreign, alg: 'P-256', commonName: 'c1', identity: { trustDomain: 'acme', kind: 'cluster', name: 'c1' }, usages: ['clientAuth'],
    });
    const ca = TrustBundle.fromPem(roots['P-256'].certPem + roots['RSA-2048'].certPem).toPem();
    const peers: string[] = [];
    const srv = createServer({ key: server.keyPem, cert: server.certPem, ca, requestCert: true, rejectUnauthorized: true }, (s) => {
      peers.push((s.getPeerCertificate() as { subjectaltname?: string }).subjectaltname ?? '');
      s.end('ok');
    });
    srv.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as { port: number }).port;
    // Resolves with what the server sent; under TLS 1.3 a refused client certificate shows
    // up on the client as an error or as a bare close, depending on timing.
    const dial = (leaf: { keyPem: string; certPem: string }) =>
      new Promise<string>((resolve) => {
        const sock: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', key: leaf.keyPem, cert: leaf.certPem, ca });
        let data = '';
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => (data += d));
        sock.on('error', () => {});
        sock.on('close', () => resolve(data));
      });
    try {
      expect(await dial(client)).toBe('ok');
      expect(peers).toEqual(['URI:spiffe://acme/cluster/c1']);
      expect(await dial(intruder)).toBe('');
      expect(peers).toHaveLength(1);
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  });
});
