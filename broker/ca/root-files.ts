// The files of CA rollover in the data directory. Every root has its own key file (0600):
// the first is ca/root.{key,crt} from `init`, later ones ca/root-<generation>.{key,crt}.
// The store says which roots exist and what they do; these files hold only the keys (and a
// copy of each certificate for operators). Writes go to a temp file and are renamed into
// place, so a reader sees the old file or the new one, never half of either.
import { chmodSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { join, relative } from 'node:path';
import { loadCa, type CertificateAuthority } from '../../certs/ca.ts';
import { certificatesFromPem } from '../../certs/pem.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { keyAlgorithmOf, webCryptoKeyParams } from '../../certs/keys.ts';
import { adminIdentity, ADMIN_NAME } from '../admin-identity.ts';
import { readDataFile, type DataDirLayout } from '../data-dir.ts';
import { BrokerError } from '../errors.ts';

function writeAtomically(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new BrokerError('PLX_BROKER_INTERNAL', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes a new root's key (0600) and certificate; returns the key path relative to the data dir. */
export function writeRootFiles(layout: DataDirLayout, generation: number, certPem: string, keyPem: string): string {
  const keyPath = join(layout.dir, 'ca', `root-${generation}.key`);
  writeAtomically(keyPath, keyPem, 0o600);
  writeAtomically(join(layout.dir, 'ca', `root-${generation}.crt`), certPem, 0o644);
  return relative(layout.dir, keyPath);
}

/** Removes a root's key (missing is fine); with `certificate`, its certificate file too. */
export function removeRootFiles(layout: DataDirLayout, keyFile: string, o: { certificate: boolean }): void {
  if (keyFile === '') return;
  const keyPath = join(layout.dir, keyFile);
  rmSync(keyPath, { force: true });
  if (o.certificate) rmSync(keyPath.replace(/\.key$/, '.crt'), { force: true });
}

export async function loadRootCa(layout: DataDirLayout, certPem: string, keyFile: string): Promise<CertificateAuthority> {
  if (keyFile === '') throw new BrokerError('PLX_BROKER_INTERNAL', 'the key of this root was destroyed');
  const keyPem = readDataFile(join(layout.dir, keyFile), 'root CA key');
  try {
    return await loadCa(certPem, keyPem);
  } catch (e) {
    throw new BrokerError('PLX_BROKER_INTERNAL', `cannot load the root CA key ${keyFile}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Brings D/admin/ in line with the CA: ca.crt is the bundle, admin.crt comes from the
 * issuing root. Run after every rollover step and at start (a crash between the store
 * commit and these writes is repaired there).
 */
export async function syncAdminFiles(layout: DataDirLayout, ca: CertificateAuthority, bundlePem: string, clusterset: string, now: Date): Promise<void> {
  if (!existsSync(layout.adminCa) || !existsSync(layout.adminCert)) return; // an operator moved the admin identity elsewhere
  if (readDataFile(layout.adminCa, 'admin trust bundle') !== bundlePem) writeAtomically(layout.adminCa, bundlePem, 0o644);
  const current = new X509Certificate(readDataFile(layout.adminCert, 'admin certificate'));
  if (!current.verify(new X509Certificate(ca.certPem).publicKey)) await reissueAdminCertificate(layout, ca, clusterset, now);
}

/**
 * Re-issues the admin certificate from `ca` for the admin's existing key, so the admin
 * identity survives the removal of the root that issued it. The key never changes.
 */
async function reissueAdminCertificate(layout: DataDirLayout, ca: CertificateAuthority, clusterset: string, now: Date): Promise<void> {
  const current = certificatesFromPem(readDataFile(layout.adminCert, 'admin certificate'))[0];
  if (!current) throw new BrokerError('PLX_BROKER_INTERNAL', 'the admin certificate is empty');
  const spki = createPublicKey({ key: Buffer.from(current.publicKey.rawData), format: 'der', type: 'spki' });
  const publicKey = await globalThis.crypto.subtle.importKey('spki', spki.export({ type: 'spki', format: 'der' }),
    webCryptoKeyParams(keyAlgorithmOf(spki)), true, ['verify']);
  const lifetimeSeconds = Math.max(3600, Math.floor((current.notAfter.getTime() - now.getTime()) / 1000));
  const issued = await issueCertificate({
    ca, publicKey, commonName: ADMIN_NAME, identity: adminIdentity(clusterset), usages: ['clientAuth'], lifetimeSeconds, now,
  });
  writeAtomically(layout.adminCert, issued.certPem, 0o644);
}
