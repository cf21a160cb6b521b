// One test cluster's PKI, made with the project's own certs/ library: a cluster CA that
// signs the kube-apiserver serving certificate and client certificates (it is also the
// --client-ca-file), an admin client certificate in system:masters, and the
// service-account signing key. Private keys are written 0600.
import '../../certs/setup.ts';
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRootCa } from '../../certs/ca.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';

export interface ClientCredentials {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ClusterPki {
  readonly ca: CertificateAuthority;
  readonly caPem: string;
  readonly admin: ClientCredentials;
  readonly files: {
    readonly caCert: string;
    readonly servingCert: string;
    readonly servingKey: string;
    readonly serviceAccountKey: string;
    readonly serviceAccountPublicKey: string;
  };
}

export interface ClusterPkiOptions {
  readonly clusterName: string;
  readonly dir: string;                  // written: ca.crt, apiserver.{crt,key}, sa.{key,pub}, admin.{crt,key}
  readonly serviceIp: string;            // first IP of the service CIDR ("kubernetes" Service)
  readonly extraIps?: readonly string[]; // more serving-certificate IPs (a lab node's address)
  readonly now: Date;
  readonly lifetimeSeconds: number;
}

const SERVING_DNS_NAMES = [
  'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local',
];

function writePrivate(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 });
}

/** Issues a client certificate from the cluster CA (used for the admin and by tests). */
export async function issueClientCredentials(
  ca: CertificateAuthority,
  o: { commonName: string; organizations?: string[]; now: Date; lifetimeSeconds: number },
): Promise<ClientCredentials> {
  const keys = await generateKeyPair();
  const { certPem } = await issueCertificate({
    ca, publicKey: keys.publicKey, commonName: o.commonName, organizations: o.organizations ?? [],
    usages: ['clientAuth'], lifetimeSeconds: o.lifetimeSeconds, now: o.now,
  });
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

export async function createClusterPki(o: ClusterPkiOptions): Promise<ClusterPki> {
  const { ca } = await createRootCa({ clusterset: o.clusterName, now: o.now, commonName: `plexus-harness ${o.clusterName} CA` });
  const files = {
    caCert: path.join(o.dir, 'ca.crt'),
    servingCert: path.join(o.dir, 'apiserver.crt'),
    servingKey: path.join(o.dir, 'apiserver.key'),
    serviceAccountKey: path.join(o.dir, 'sa.key'),
    serviceAccountPublicKey: path.join(o.dir, 'sa.pub'),
  };
  writeFileSync(files.caCert, ca.certPem);

  const servingKeys = await generateKeyPair();
  const serving = await issueCertificate({
    ca, publicKey: servingKeys.publicKey, commonName: 'kube-apiserver',
    dnsNames: SERVING_DNS_NAMES, ipAddresses: ['127.0.0.1', o.serviceIp, ...(o.extraIps ?? [])],
    usages: ['serverAuth'], lifetimeSeconds: o.lifetimeSeconds, now: o.now,
  });
  writeFileSync(files.servingCert, serving.certPem);
  writePrivate(files.servingKey, await exportPrivateKeyPem(servingKeys.privateKey));

  // Tokens are signed with the private key and verified with the public one; kube-apiserver
  // wants the latter as a PUBLIC KEY (SPKI) file.
  const saKeys = await generateKeyPair();
  const saKeyPem = await exportPrivateKeyPem(saKeys.privateKey);
  writePrivate(files.serviceAccountKey, saKeyPem);
  writeFileSync(files.serviceAccountPublicKey, createPublicKey(saKeyPem).export({ type: 'spki', format: 'pem' }));

  const admin = await issueClientCredentials(ca, {
    commonName: 'plexus-admin', organizations: ['system:masters'], now: o.now, lifetimeSeconds: o.lifetimeSeconds,
  });
  writeFileSync(path.join(o.dir, 'admin.crt'), admin.certPem);
  writePrivate(path.join(o.dir, 'admin.key'), admin.keyPem);
  return { ca, caPem: ca.certPem, admin, files };
}
