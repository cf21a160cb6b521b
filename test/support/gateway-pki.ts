// Test-only: a clusterset root and cluster certificates issued by the certs/ library, as
// the broker issues them (clientAuth + serverAuth, URI SAN spiffe://<clusterset>/cluster/<id>),
// for the gateway's integration tests and bench:gateway. No broker process: the gateway
// needs certificates, not enrolment.
import '../../certs/setup.ts';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';

export interface IssuedCluster {
  readonly cluster: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustBundlePem: string;
  readonly serial: string;
}

export class GatewayPki {
  readonly clusterset: string;
  readonly ca: CertificateAuthority;

  private constructor(clusterset: string, ca: CertificateAuthority) {
    this.clusterset = clusterset;
    this.ca = ca;
  }

  static async create(clusterset: string, now = new Date()): Promise<GatewayPki> {
    const { ca } = await createRootCa({ clusterset, now });
    return new GatewayPki(clusterset, ca);
  }

  get rootPem(): string {
    return this.ca.certPem;
  }

  /** A cluster identity (or, with kind, a user's) valid from `now` for `lifetimeSeconds`. */
  async issue(cluster: string, o: { now?: Date; lifetimeSeconds?: number; kind?: 'cluster' | 'user'; trustDomain?: string; trustBundlePem?: string } = {}): Promise<IssuedCluster> {
    const keys = await generateKeyPair();
    const issued = await issueCertificate({
      ca: this.ca, publicKey: keys.publicKey, commonName: cluster,
      identity: { trustDomain: o.trustDomain ?? this.clusterset, kind: o.kind ?? 'cluster', name: cluster },
      usages: ['clientAuth', 'serverAuth'], lifetimeSeconds: o.lifetimeSeconds ?? 3600, now: o.now ?? new Date(),
    });
    return { cluster, certPem: issued.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey), trustBundlePem: o.trustBundlePem ?? this.rootPem, serial: issued.serial };
  }
}
