// The broker's data directory: where each file lives, and loading what `init` wrote.
//
//   D/                 0700
//     ca/root.key      0600  root CA private key (PKCS#8)
//     ca/root.crt            root CA certificate = the trust bundle
//     admin/admin.key  0600  admin client key
//     admin/admin.crt        spiffe://<clusterset>/admin/admin, issued by the root
//     admin/ca.crt           trust bundle, to verify the broker from admin commands
//     broker.db (+ -wal, -shm)  the sqlite store; opened only by the broker process
//     etcd-store.json        with the etcd backend: { prefix } (`broker init --etcd-endpoints`; no secrets)
//     broker.json            written by `broker start`: { url, pid, startedAt }
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCa, type CertificateAuthority } from '../certs/ca.ts';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { BrokerError } from './errors.ts';

export interface DataDirLayout {
  readonly dir: string;
  readonly caKey: string;
  readonly caCert: string;
  readonly adminKey: string;
  readonly adminCert: string;
  readonly adminCa: string;
  readonly store: string;
  readonly etcdStore: string;
  readonly brokerJson: string;
}

export function dataDirLayout(dir: string): DataDirLayout {
  return {
    dir,
    caKey: join(dir, 'ca', 'root.key'),
    caCert: join(dir, 'ca', 'root.crt'),
    adminKey: join(dir, 'admin', 'admin.key'),
    adminCert: join(dir, 'admin', 'admin.crt'),
    adminCa: join(dir, 'admin', 'ca.crt'),
    store: join(dir, 'broker.db'),
    etcdStore: join(dir, 'etcd-store.json'),
    brokerJson: join(dir, 'broker.json'),
  };
}

export function readDataFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BrokerError('PLX_BROKER_NOT_INITIALIZED', `${what} not found at ${path}; run "plexus broker init" first`, { cause: e });
    throw new BrokerError('PLX_BROKER_INTERNAL', `cannot read ${what} at ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export async function loadRoot(layout: DataDirLayout): Promise<{ ca: CertificateAuthority; trustBundle: TrustBundle }> {
  const certPem = readDataFile(layout.caCert, 'root CA certificate');
  const keyPem = readDataFile(layout.caKey, 'root CA key');
  try {
    return { ca: await loadCa(certPem, keyPem), trustBundle: TrustBundle.fromPem(certPem) };
  } catch (e) {
    throw new BrokerError('PLX_BROKER_INTERNAL', `cannot load the root CA from ${layout.caCert}: ${(e as Error).message}`, { cause: e });
  }
}

export interface BrokerRuntimeInfo {
  readonly url: string;
  readonly pid: number;
  readonly startedAt: string;
}

export function writeRuntimeInfo(layout: DataDirLayout, info: BrokerRuntimeInfo): void {
  const tmp = `${layout.brokerJson}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, layout.brokerJson);
}

export function readRuntimeInfo(layout: DataDirLayout): BrokerRuntimeInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(layout.brokerJson, 'utf8')) as Partial<BrokerRuntimeInfo>;
    return typeof parsed.url === 'string' ? (parsed as BrokerRuntimeInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes broker.json if it still describes this process (a newer broker may own it). */
export function clearRuntimeInfo(layout: DataDirLayout, pid: number): void {
  if (readRuntimeInfo(layout)?.pid === pid) rmSync(layout.brokerJson, { force: true });
}
