// `plexus broker init`: creates a clusterset's root of trust, store and admin identity in
// a fresh data directory. Everything is written into a temporary directory beside the
// target and renamed into place at the end, so a failure leaves nothing half-written and
// an existing clusterset is never overwritten.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createRootCa, type CertificateAuthority } from '../certs/ca.ts';
import { CertError } from '../certs/errors.ts';
import { formatIdentity, validateTrustDomain, type Identity } from '../certs/identity.ts';
import { issueCertificate } from '../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair, type KeyAlgorithm } from '../certs/keys.ts';
import { fingerprintSha256 } from '../certs/pem.ts';
import { dataDirLayout, type DataDirLayout } from './data-dir.ts';
import { BrokerError, isBrokerError } from './errors.ts';
import { adminIdentity, ADMIN_NAME } from './admin-identity.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import { defaultEtcdPrefix, EtcdStore } from './store/etcd-store.ts';
import { EtcdClient } from './etcd/etcd-client.ts';
import { loadEtcdTlsFiles } from './etcd/etcd-tls-files.ts';
import type { EtcdStoreConfig } from './config.ts';

export interface InitBrokerOptions {
  readonly dataDir: string;
  readonly clusterset: string;
  readonly algorithm?: KeyAlgorithm;
  readonly now: Date;
  readonly adminCertLifetimeSeconds?: number;
  /** Seed the store in etcd instead of D/broker.db (the CA and admin files stay in D). */
  readonly etcd?: Pick<EtcdStoreConfig, 'endpoints' | 'caFile' | 'certFile' | 'keyFile' | 'prefix'>;
}

export interface InitBrokerResult {
  readonly dataDir: string;
  readonly clusterset: string;
  readonly caFingerprint: string;
  readonly adminIdentity: string;
  readonly adminCertNotAfter: string;
  readonly layout: DataDirLayout;
}

export const ADMIN_CERT_LIFETIME_SECONDS = 365 * 24 * 3600;

function validateClusterset(clusterset: string): void {
  try {
    validateTrustDomain(clusterset);
  } catch (e) {
    if (e instanceof CertError) throw new BrokerError('PLX_BROKER_VALIDATION', `clusterset "${clusterset}" must be a lowercase DNS name: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Refuses a target that already holds a clusterset or anything else. */
function checkTarget(dir: string): void {
  if (!existsSync(dir)) return;
  const layout = dataDirLayout(dir);
  if (existsSync(layout.store) || existsSync(layout.etcdStore) || existsSync(layout.caCert) || existsSync(layout.caKey)) {
    throw new BrokerError('PLX_BROKER_ALREADY_INITIALIZED', `${dir} already holds a clusterset; refusing to overwrite it`);
  }
  if (!statSync(dir).isDirectory() || readdirSync(dir).length > 0) {
    throw new BrokerError('PLX_BROKER_DATA_DIR_NOT_EMPTY', `${dir} exists and is not an empty directory`);
  }
}

function writeSecret(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function writeAdmin(layout: DataDirLayout, ca: CertificateAuthority, o: InitBrokerOptions): Promise<{ identity: Identity; notAfter: Date }> {
  const identity = adminIdentity(o.clusterset);
  const keys = await generateKeyPair(o.algorithm ?? 'P-256');
  const issued = await issueCertificate({
    ca, publicKey: keys.publicKey, commonName: ADMIN_NAME, identity, usages: ['clientAuth'],
    lifetimeSeconds: o.adminCertLifetimeSeconds ?? ADMIN_CERT_LIFETIME_SECONDS, now: o.now,
  });
  mkdirSync(dirname(layout.adminKey), { mode: 0o700 });
  writeSecret(layout.adminKey, await exportPrivateKeyPem(keys.privateKey));
  writeFileSync(layout.adminCert, issued.certPem, { mode: 0o644 });
  writeFileSync(layout.adminCa, ca.certPem, { mode: 0o644 });
  return { identity, notAfter: issued.notAfter };
}

async function populate(staging: string, o: InitBrokerOptions): Promise<Omit<InitBrokerResult, 'dataDir' | 'layout'>> {
  const layout = dataDirLayout(staging);
  const { ca, keyPem } = await createRootCa({ clusterset: o.clusterset, now: o.now, ...(o.algorithm ? { algorithm: o.algorithm } : {}) });
  mkdirSync(dirname(layout.caKey), { mode: 0o700 });
  writeSecret(layout.caKey, keyPem);
  writeFileSync(layout.caCert, ca.certPem, { mode: 0o644 });
  const admin = await writeAdmin(layout, ca, o);
  if (o.etcd) {
    const prefix = o.etcd.prefix ?? defaultEtcdPrefix(o.clusterset);
    const client = EtcdClient.create({ endpoints: o.etcd.endpoints, tls: loadEtcdTlsFiles(o.etcd) });
    try {
      await EtcdStore.create(client, { prefix, clusterset: o.clusterset, now: o.now });
    } finally {
      await client.close();
    }
    writeFileSync(layout.etcdStore, `${JSON.stringify({ prefix })}\n`, { mode: 0o644 });
  } else {
    SqliteStore.create(layout.store, { clusterset: o.clusterset, now: o.now }).closeNow();
    chmodSync(layout.store, 0o600); // token hashes and membership: readable by the broker only
  }
  return {
    clusterset: o.clusterset,
    caFingerprint: fingerprintSha256(ca.cert),
    adminIdentity: formatIdentity(admin.identity),
    adminCertNotAfter: admin.notAfter.toISOString(),
  };
}

export async function initBroker(o: InitBrokerOptions): Promise<InitBrokerResult> {
  validateClusterset(o.clusterset);
  const dir = resolve(o.dataDir);
  checkTarget(dir);
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(resolve(dirname(dir), `.${basename(dir)}.init-`));
  try {
    chmodSync(staging, 0o700);
    const result = await populate(staging, o);
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Someone created the target meanwhile (ENOTEMPTY/EEXIST): theirs wins, ours is discarded.
      throw new BrokerError('PLX_BROKER_ALREADY_INITIALIZED', `${dir} was created while initializing; refusing to overwrite it`, { cause: e });
    }
    return { ...result, dataDir: dir, layout: dataDirLayout(dir) };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (isBrokerError(e)) throw e;
    throw new BrokerError('PLX_BROKER_INTERNAL', `broker init failed: ${(e as Error).message}`, { cause: e });
  }
}
