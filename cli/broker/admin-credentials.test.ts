import '../../certs/setup.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import type { Identity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { encodePkcs12 } from '../../certs/pkcs12.ts';
import { T0 } from '../../test/support/test-certs.ts';
import { resolveAdminCredentials, type AdminAccessFlags } from './admin-credentials.ts';
import { p12InLine } from './admin-p12-refresh.ts';

const PASSWORD = 'pw';
const password = async () => PASSWORD;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('resolveAdminCredentials: flags > env > data dir', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let other: CertificateAuthority;
  let admin: { keyPem: string; certPem: string };

  async function identity(id: Identity, issuer = ca): Promise<{ keyPem: string; certPem: string }> {
    const keys = await generateKeyPair('P-256');
    const leaf = await issueCertificate({ ca: issuer, publicKey: keys.publicKey, commonName: id.name, identity: id, usages: ['clientAuth'], lifetimeSeconds: 3600, now: T0 });
    return { keyPem: await exportPrivateKeyPem(keys.privateKey), certPem: leaf.certPem };
  }

  function p12(name: string, id: { keyPem: string; certPem: string }, caPem: string | null = ca.certPem): string {
    const file = join(dir, name);
    writeFileSync(file, encodePkcs12({ ...id, ...(caPem ? { caPem } : {}), password: PASSWORD, friendlyName: name, iterations: 1024 }));
    return file;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-admin-creds-'));
    ca = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
    other = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
    admin = await identity({ trustDomain: 'acme', kind: 'admin', name: 'admin' });
    // A data dir as `broker init` + `broker start` leave it, with another identity than the .p12's.
    const d = await identity({ trustDomain: 'acme', kind: 'admin', name: 'admin' });
    mkdirSync(join(dir, 'data', 'admin'), { recursive: true });
    writeFileSync(join(dir, 'data', 'admin', 'admin.crt'), d.certPem);
    writeFileSync(join(dir, 'data', 'admin', 'admin.key'), d.keyPem);
    writeFileSync(join(dir, 'data', 'admin', 'ca.crt'), ca.certPem);
    writeFileSync(join(dir, 'data', 'broker.json'), JSON.stringify({ url: 'https://127.0.0.1:7443', pid: 1, startedAt: T0.toISOString() }));
    mkdirSync(join(dir, 'stopped'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const resolve = (flags: AdminAccessFlags) => resolveAdminCredentials(flags, { password });

  it('takes the identity from the .p12 over the data dir, and the URL from --broker over broker.json', async () => {
    const file = p12('admin.p12', admin);
    const fromP12 = await resolve({ dataDir: join(dir, 'data'), adminP12: file, broker: 'https://broker.example:7443' });
    expect([fromP12.baseUrl, fromP12.certPem, fromP12.caPem.trim(), fromP12.p12?.file]).toEqual(['https://broker.example:7443', admin.certPem, ca.certPem.trim(), file]);
    // The URL still comes from broker.json when only the identity is given otherwise.
    expect((await resolve({ dataDir: join(dir, 'data'), adminP12: file })).baseUrl).toBe('https://127.0.0.1:7443');
    const local = await resolve({ dataDir: join(dir, 'data') });
    expect(local.p12).toBeUndefined();
    expect(local.certPem).not.toBe(admin.certPem);
  });

  it('no identity, no URL, and a data dir whose broker is not running each have their code', async () => {
    expect(await codeOf(resolve({ broker: 'https://b:1' }))).toBe('PLX_CLI_ADMIN_NO_IDENTITY');
    expect(await codeOf(resolve({ adminP12: '', dataDir: '' }))).toBe('PLX_CLI_ADMIN_NO_IDENTITY');
    expect(await codeOf(resolve({ adminP12: p12('a2.p12', admin) }))).toBe('PLX_CLI_ADMIN_NO_BROKER');
    expect(await codeOf(resolve({ dataDir: join(dir, 'stopped') }))).toBe('PLX_BROKER_UNREACHABLE');
  });

  it('refuses a person, a cluster, the metrics reader and admin/admin2 as PLX_CLI_ADMIN_NOT_ADMIN (exact identity, not by kind or prefix)', async () => {
    const ids: Identity[] = [
      { trustDomain: 'acme', kind: 'user', name: 'admin' },
      { trustDomain: 'acme', kind: 'cluster', name: 'admin' },
      { trustDomain: 'acme', kind: 'admin', name: 'metrics' },
      { trustDomain: 'acme', kind: 'admin', name: 'admin2' },
    ];
    for (const id of ids) {
      const file = p12(`${id.kind}-${id.name}.p12`, await identity(id));
      expect([id, await codeOf(resolve({ adminP12: file, broker: 'https://b:1' }))]).toEqual([id, 'PLX_CLI_ADMIN_NOT_ADMIN']);
    }
  });

  it('a .p12 without roots, an unreadable one and a wrong password have the PLX_CLI_P12_* codes', async () => {
    expect(await codeOf(resolve({ adminP12: p12('bare.p12', admin, null), broker: 'https://b:1' }))).toBe('PLX_CLI_P12_UNREADABLE');
    expect(await codeOf(resolve({ adminP12: join(dir, 'absent.p12'), broker: 'https://b:1' }))).toBe('PLX_CLI_P12_UNREADABLE');
    const file = p12('admin3.p12', admin);
    expect(await codeOf(resolveAdminCredentials({ adminP12: file, broker: 'https://b:1' }, { password: async () => 'wrong' }))).toBe('PLX_CLI_P12_BAD_PASSWORD');
  });

  it('passes --p12-password-file to the password source and asks only when a .p12 is used', async () => {
    const asked: (string | undefined)[] = [];
    const src = { password: async (f: string | undefined) => { asked.push(f); return PASSWORD; } };
    await resolveAdminCredentials({ adminP12: p12('admin4.p12', admin), broker: 'https://b:1', p12PasswordFile: 'pass.txt' }, src);
    await resolveAdminCredentials({ dataDir: join(dir, 'data') }, src);
    expect(asked).toEqual(['pass.txt']);
  });

  it('p12InLine: in line only with exactly the bundle and a certificate from the issuing root', async () => {
    const fp = fingerprintSha256(ca.certPem);
    const fpOther = fingerprintSha256(other.certPem);
    expect(p12InLine({ certPem: admin.certPem, caPem: ca.certPem }, { bundleFingerprints: [fp], issuingFingerprint: fp })).toBe(true);
    // Phase 1: the bundle grew. Phase 3: another root issues. Phase 5: the old root left.
    expect(p12InLine({ certPem: admin.certPem, caPem: ca.certPem }, { bundleFingerprints: [fp, fpOther], issuingFingerprint: fp })).toBe(false);
    expect(p12InLine({ certPem: admin.certPem, caPem: ca.certPem + other.certPem }, { bundleFingerprints: [fp, fpOther], issuingFingerprint: fpOther })).toBe(false);
    const reissued = await identity({ trustDomain: 'acme', kind: 'admin', name: 'admin' }, other);
    expect(p12InLine({ certPem: reissued.certPem, caPem: ca.certPem + other.certPem }, { bundleFingerprints: [fp, fpOther], issuingFingerprint: fpOther })).toBe(true);
    expect(p12InLine({ certPem: reissued.certPem, caPem: ca.certPem + other.certPem }, { bundleFingerprints: [fpOther], issuingFingerprint: fpOther })).toBe(false);
  });
});
