import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { verifyLeaf } from '../certs/verify.ts';
import { fingerprintSha256 } from '../certs/pem.ts';
import type { KeyAlgorithm } from '../certs/keys.ts';
import { dataDirLayout, loadRoot } from './data-dir.ts';
import { initBroker } from './init.ts';
import { SqliteStore } from './store/sqlite-store.ts';

const now = new Date('2030-01-01T00:00:00Z');

describe('initBroker', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'plexus-init-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the root CA, store and admin identity with private modes', async () => {
    const dataDir = join(root, 'nested', 'broker');
    const res = await initBroker({ dataDir, clusterset: 'acme.example', now });
    const l = dataDirLayout(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(l.caKey).mode & 0o777).toBe(0o600);
    expect(statSync(l.adminKey).mode & 0o777).toBe(0o600);
    expect(res.caFingerprint).toBe(fingerprintSha256(readFileSync(l.caCert, 'utf8')));
    expect(readFileSync(l.adminCa, 'utf8')).toBe(readFileSync(l.caCert, 'utf8'));

    const bundle = TrustBundle.fromPem(readFileSync(l.caCert, 'utf8'));
    const admin = await verifyLeaf({ certPem: readFileSync(l.adminCert, 'utf8'), bundle, now, usage: 'clientAuth', trustDomain: 'acme.example' });
    expect(admin.identity).toEqual({ trustDomain: 'acme.example', kind: 'admin', name: 'admin' });
    expect(res.adminIdentity).toBe('spiffe://acme.example/admin/admin');
    await expect(loadRoot(l)).resolves.toBeDefined();

    const store = SqliteStore.open(l.store);
    expect(store.clusterset).toBe('acme.example');
    store.close();
    expect(readdirSync(join(root, 'nested'))).toEqual(['broker']);
  });

  it('refuses to overwrite an existing clusterset and changes nothing', async () => {
    const dataDir = join(root, 'broker');
    await initBroker({ dataDir, clusterset: 'acme.example', now });
    const before = readFileSync(dataDirLayout(dataDir).caCert, 'utf8');
    await expect(initBroker({ dataDir, clusterset: 'other.example', now })).rejects.toMatchObject({ code: 'PLX_BROKER_ALREADY_INITIALIZED' });
    expect(readFileSync(dataDirLayout(dataDir).caCert, 'utf8')).toBe(before);
    expect(readdirSync(root)).toEqual(['broker']);
  });

  it('uses an existing empty directory but refuses a non-empty one', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await initBroker({ dataDir: empty, clusterset: 'acme.example', now });
    expect(statSync(empty).mode & 0o777).toBe(0o700);
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    await expect(initBroker({ dataDir: busy, clusterset: 'acme.example', now })).rejects.toMatchObject({ code: 'PLX_BROKER_DATA_DIR_NOT_EMPTY' });
    expect(readdirSync(busy)).toEqual(['notes.txt']);
  });

  it.each(['Acme.example', 'acme_example', '', '-acme.example'])('rejects clusterset %j', async (clusterset) => {
    const dataDir = join(root, 'broker');
    await expect(initBroker({ dataDir, clusterset, now })).rejects.toMatchObject({ code: 'PLX_BROKER_VALIDATION' });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('leaves nothing behind when it fails midway', async () => {
    const dataDir = join(root, 'broker');
    // The root CA files are written before the admin certificate fails to issue.
    await expect(initBroker({ dataDir, clusterset: 'acme.example', now, adminCertLifetimeSeconds: -1 })).rejects.toBeDefined();
    expect(readdirSync(root)).toEqual([]);
    await expect(initBroker({ dataDir, clusterset: 'acme.example', now, algorithm: 'P-384' as KeyAlgorithm })).rejects.toBeDefined();
    expect(readdirSync(root)).toEqual([]);
  });

  it('supports RSA-2048 roots', async () => {
    const dataDir = join(root, 'broker');
    await initBroker({ dataDir, clusterset: 'acme.example', now, algorithm: 'RSA-2048' });
    const { ca } = await loadRoot(dataDirLayout(dataDir));
    expect(ca.cert.publicKey.algorithm.name).toBe('RSASSA-PKCS1-v1_5');
  });
});
