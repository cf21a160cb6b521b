// Store on etcd (`broker start --etcd-endpoints`), for several broker replicas sharing one
// etcd cluster. Every conditional operation of the contract (broker/store/README.md) is one
// etcd transaction whose compares are its condition: the keys the decision was made on are
// still at the mod_revision they were read at (etcd-cas.ts). Nothing is read-then-written
// without such a compare. Tokens, clusters and certificates live here; the other consumer
// interfaces are one file each (etcd-*-store.ts), all on one EtcdClient.
import { BrokerError } from '../errors.ts';
import type { EtcdClient, KeyValue, TxnOp } from '../etcd/etcd-client.ts';
import type { AddTokenResult, ClusterRecord, IssuedCertificate, JoinResult } from '../enroll/enroll-store.ts';
import { tokenState, type TokenRecord } from '../enroll/token-record.ts';
import { cas, put, unchanged } from './etcd-cas.ts';
import { EtcdAgentReportStore } from './etcd-agent-report-store.ts';
import { EtcdCaStore } from './etcd-ca-store.ts';
import { EtcdCatalogStore } from './etcd-catalog-store.ts';
import { EtcdRbacStore } from './etcd-rbac-store.ts';
import { EtcdUserStore } from './etcd-user-store.ts';
import {
  certSchema, clusterSchema, etcdKeys, fromTokenRecord, json, labelsSchema, metaSchema, parseValue, toTokenRecord, tokenSchema, type EtcdKeys,
} from './etcd-records.ts';
import type { Store } from './store.ts';
import type { z } from 'zod';

type StoredToken = z.output<typeof tokenSchema>;
type StoredCluster = z.output<typeof clusterSchema>;

const d = (v: number | null): Date | null => (v === null ? null : new Date(v));

function toCluster(c: StoredCluster, labels: Record<string, string>): ClusterRecord {
  return {
    id: c.id, state: c.state, epoch: c.epoch, joinedAt: new Date(c.joinedAt), removedAt: d(c.removedAt),
    certificateSerial: c.certificateSerial, certificateNotAfter: d(c.certificateNotAfter), labels,
  };
}

/** Prefix of a clusterset's keys when --etcd-prefix is not given. */
export const defaultEtcdPrefix = (clusterset: string): string => `/plexus/${clusterset}/`;

export class EtcdStore implements Store {
  readonly clusterset: string;
  readonly catalog: EtcdCatalogStore;
  readonly rbac: EtcdRbacStore;
  readonly users: EtcdUserStore;
  readonly ca: EtcdCaStore;
  readonly reports: EtcdAgentReportStore;
  readonly #c: EtcdClient;
  readonly #k: EtcdKeys;
  readonly #ownsClient: boolean;

  /** Seeds a new store under prefix (create-if-absent on its meta key). */
  static async create(client: EtcdClient, o: { prefix: string; clusterset: string; now: Date; ownsClient?: boolean }): Promise<EtcdStore> {
    const k = etcdKeys(o.prefix);
    const r = await client.txn({
      compare: [{ key: k.meta, target: 'version', value: 0 }],
      success: [put(k.meta, json({ clusterset: o.clusterset, createdAt: o.now.getTime() })), put(k.catalogHead, '0'), put(k.catalogCompacted, '0')],
      failure: [{ get: { key: k.meta } }],
    });
    if (!r.succeeded) {
      const kv = r.gets[0]?.[0];
      const other = kv ? parseValue(metaSchema, kv).clusterset : '?';
      throw new BrokerError('PLX_BROKER_ALREADY_INITIALIZED', `etcd prefix ${k.prefix} already belongs to clusterset "${other}"`);
    }
    return new EtcdStore(client, k, o.clusterset, o.ownsClient ?? false);
  }

  /** Opens the store under prefix; PLX_BROKER_NOT_INITIALIZED when it was never seeded. */
  static async open(client: EtcdClient, o: { prefix: string; ownsClient?: boolean }): Promise<EtcdStore> {
    const k = etcdKeys(o.prefix);
    const { kv } = await client.get(k.meta);
    if (!kv) throw new BrokerError('PLX_BROKER_NOT_INITIALIZED', `no broker store under etcd prefix ${k.prefix}; run "plexus broker init --etcd-endpoints …" first`);
    return new EtcdStore(client, k, parseValue(metaSchema, kv).clusterset, o.ownsClient ?? false);
  }

  private constructor(client: EtcdClient, k: EtcdKeys, clusterset: string, ownsClient: boolean) {
    this.#c = client;
    this.#k = k;
    this.clusterset = clusterset;
    this.#ownsClient = ownsClient;
    this.catalog = new EtcdCatalogStore(client, k);
    this.rbac = new EtcdRbacStore(client, k);
    this.users = new EtcdUserStore(client, k);
    this.ca = new EtcdCaStore(client, k);
    this.reports = new EtcdAgentReportStore(client, k);
  }

  /** The client, for the readiness probe (ping). */
  get client(): EtcdClient {
    return this.#c;
  }

  async #token(id: string): Promise<{ kv: KeyValue | undefined; t: StoredToken | undefined }> {
    const { kv } = await this.#c.get(this.#k.token(id));
    return { kv, t: kv ? parseValue(tokenSchema, kv) : undefined };
  }

  async #cluster(id: string): Promise<{ kv: KeyValue | undefined; c: StoredCluster | undefined }> {
    const { kv } = await this.#c.get(this.#k.cluster(id));
    return { kv, c: kv ? parseValue(clusterSchema, kv) : undefined };
  }

  async #labels(id: string): Promise<Record<string, string>> {
    const { kv } = await this.#c.get(this.#k.label(id));
    return kv ? parseValue(labelsSchema, kv) : {};
  }

  async addToken(t: TokenRecord): Promise<AddTokenResult> {
    return cas<AddTokenResult>(this.#c, 'add token', async () => {
      const tok = await this.#token(t.id);
      if (tok.kv) return { done: 'id-taken' as const };
      const compare = [unchanged(this.#k.token(t.id), undefined)];
      if (t.kind === 'cluster') {
        const cl = await this.#cluster(t.subject);
        if (cl.c?.state === 'active') return { done: 'cluster-active' as const };
        compare.push(unchanged(this.#k.cluster(t.subject), cl.kv));
      }
      return { compare, ops: [put(this.#k.token(t.id), json(fromTokenRecord(t)))], result: 'ok' as const };
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const { t } = await this.#token(id);
    return t ? toTokenRecord(t) : undefined;
  }

  async listTokens(): Promise<TokenRecord[]> {
    const { kvs } = await this.#c.range(this.#k.tokens);
    return kvs.map((kv) => toTokenRecord(parseValue(tokenSchema, kv)))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async revokeToken(id: string, at: Date): Promise<TokenRecord | undefined> {
    return cas(this.#c, 'revoke token', async () => {
      const { kv, t } = await this.#token(id);
      if (!t || t.usedAt !== null || t.revokedAt !== null) return { done: t ? toTokenRecord(t) : undefined };
      const next = { ...t, revokedAt: at.getTime() };
      return { compare: [unchanged(this.#k.token(id), kv)], ops: [put(this.#k.token(id), json(next))], result: toTokenRecord(next) };
    });
  }

  async completeJoin(o: { tokenId: string; clusterId: string; certificate: IssuedCertificate; now: Date }): Promise<JoinResult> {
    return cas<JoinResult>(this.#c, 'join', async () => {
      const tok = await this.#token(o.tokenId);
      const token = tok.t ? toTokenRecord(tok.t) : undefined;
      if (!token || tokenState(token, o.now) !== 'pending') return { done: { ok: false, reason: 'token-not-pending', token } as JoinResult };
      const cl = await this.#cluster(o.clusterId);
      if (cl.c?.state === 'active') return { done: { ok: false, reason: 'cluster-active' } as JoinResult };
      const at = o.now.getTime();
      const epoch = (cl.c?.epoch ?? 0) + 1;
      const cluster: StoredCluster = {
        id: o.clusterId, state: 'active', epoch, joinedAt: at, removedAt: null, tokenId: o.tokenId,
        certificateSerial: o.certificate.serial, certificateNotAfter: o.certificate.notAfter.getTime(),
      };
      const labels = await this.#labels(o.clusterId);
      return {
        compare: [unchanged(this.#k.token(o.tokenId), tok.kv), unchanged(this.#k.cluster(o.clusterId), cl.kv)],
        ops: [
          put(this.#k.token(o.tokenId), json({ ...tok.t!, usedAt: at })),
          put(this.#k.cluster(o.clusterId), json(cluster)),
          ...this.#certOps(o.clusterId, epoch, o.certificate, at),
        ],
        result: { ok: true, cluster: toCluster(cluster, labels) } as JoinResult,
      };
    });
  }

  #certOps(cluster: string, epoch: number, c: IssuedCertificate, at: number): TxnOp[] {
    const cert = { serial: c.serial, cluster, epoch, issuedAt: at, notAfter: c.notAfter.getTime(), issuer: c.issuer ?? null, presentedAt: null };
    return [put(this.#k.cert(cluster, c.serial), json(cert)), put(this.#k.serial(c.serial), cluster)];
  }

  async recordRenewal(o: { clusterId: string; epoch: number; certificate: IssuedCertificate; now: Date }): Promise<ClusterRecord | undefined> {
    return cas(this.#c, 'record renewal', async () => {
      const cl = await this.#cluster(o.clusterId);
      if (!cl.c || cl.c.state !== 'active' || cl.c.epoch !== o.epoch) return { done: undefined };
      const next = { ...cl.c, certificateSerial: o.certificate.serial, certificateNotAfter: o.certificate.notAfter.getTime() };
      const labels = await this.#labels(o.clusterId);
      return {
        compare: [unchanged(this.#k.cluster(o.clusterId), cl.kv)],
        ops: [put(this.#k.cluster(o.clusterId), json(next)), ...this.#certOps(o.clusterId, o.epoch, o.certificate, o.now.getTime())],
        result: toCluster(next, labels),
      };
    });
  }

  async getCluster(id: string): Promise<ClusterRecord | undefined> {
    const { c } = await this.#cluster(id);
    return c ? toCluster(c, await this.#labels(id)) : undefined;
  }

  async listClusters(): Promise<ClusterRecord[]> {
    const [clusters, labels] = await Promise.all([this.#c.range(this.#k.clusters), this.#c.range(this.#k.labels)]);
    const byCluster = new Map(labels.kvs.map((kv) => [kv.key.slice(this.#k.labels.length), parseValue(labelsSchema, kv)]));
    return clusters.kvs.map((kv) => parseValue(clusterSchema, kv)).map((c) => toCluster(c, byCluster.get(c.id) ?? {}));
  }

  async removeCluster(id: string, at: Date): Promise<ClusterRecord | undefined> {
    return cas(this.#c, 'remove cluster', async () => {
      const cl = await this.#cluster(id);
      if (!cl.c) return { done: undefined };
      const next: StoredCluster = cl.c.state === 'active' ? { ...cl.c, state: 'removed', removedAt: at.getTime() } : cl.c;
      const { kvs } = await this.#c.range(this.#k.tokens);
      // A token minted before the removal must not bring the cluster back: rejoining needs a new one.
      const pending = kvs.map((kv) => ({ kv, t: parseValue(tokenSchema, kv) }))
        .filter(({ t }) => t.kind === 'cluster' && t.subject === id && t.usedAt === null && t.revokedAt === null);
      return {
        compare: [unchanged(this.#k.cluster(id), cl.kv), ...pending.map(({ kv }) => unchanged(kv.key, kv))],
        ops: [put(this.#k.cluster(id), json(next)), ...pending.map(({ t }) => put(this.#k.token(t.id), json({ ...t, revokedAt: at.getTime() })))],
        result: toCluster(next, await this.#labels(id)),
      };
    });
  }

  async #cert(clusterId: string, serial: string) {
    const { kv } = await this.#c.get(this.#k.cert(clusterId, serial));
    return kv ? { kv, x: parseValue(certSchema, kv) } : undefined;
  }

  async isCurrentCertificate(clusterId: string, serial: string): Promise<boolean> {
    const [{ c }, cert] = await Promise.all([this.#cluster(clusterId), this.#cert(clusterId, serial)]);
    return c?.state === 'active' && cert?.x.epoch === c.epoch;
  }

  async isLatestCertificate(clusterId: string, serial: string): Promise<boolean> {
    const { c } = await this.#cluster(clusterId);
    return c?.state === 'active' && c.certificateSerial === serial;
  }

  async #serialCluster(serial: string): Promise<string | undefined> {
    const { kv } = await this.#c.get(this.#k.serial(serial));
    return kv?.value.toString('utf8');
  }

  async markCertificatePresented(serial: string, at: Date): Promise<void> {
    const cluster = await this.#serialCluster(serial);
    if (cluster === undefined) return;
    await cas(this.#c, 'mark certificate presented', async () => {
      const cert = await this.#cert(cluster, serial);
      if (!cert || cert.x.presentedAt !== null) return { done: undefined };
      return { compare: [unchanged(cert.kv.key, cert.kv)], ops: [put(cert.kv.key, json({ ...cert.x, presentedAt: at.getTime() }))], result: undefined };
    });
  }

  async isSupersededInUse(serial: string): Promise<boolean> {
    const cluster = await this.#serialCluster(serial);
    if (cluster === undefined) return false;
    const mine = await this.#cert(cluster, serial);
    if (!mine) return false;
    const { kvs } = await this.#c.range(this.#k.certs(cluster));
    // "Issued after" as sqlite orders it: issue time, then insertion order (create_revision here).
    return kvs.some((kv) => {
      const x = parseValue(certSchema, kv);
      return x.epoch === mine.x.epoch && x.presentedAt !== null &&
        (x.issuedAt > mine.x.issuedAt || (x.issuedAt === mine.x.issuedAt && kv.createRevision > mine.kv.createRevision));
    });
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#c.close();
  }
}
