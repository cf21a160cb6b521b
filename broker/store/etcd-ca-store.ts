// CaStore on etcd. ca/rollover is the one record every step compares; roots are
// ca/roots/<generation> (certificate and the key FILE PATH relative to the data directory:
// CA private keys never enter etcd, they stay in the data directory / Secret); history is
// ca/history/<seq> with seq counted in the rollover record, so a step and its history entry
// are written by the same txn. Acks are ca/acks/<cluster>.
import type { EtcdClient, KeyValue, TxnOp } from '../etcd/etcd-client.ts';
import type { CaCommit, CaHistoryRecord, CaRolloverRecord, CaRootRecord, CaStore, ClusterTrustRecord } from '../ca/ca-store.ts';
import { cas, put, unchanged } from './etcd-cas.ts';
import {
  ackSchema, certSchema, clusterSchema, historySchema, json, parseValue, rolloverSchema, rootSchema, type EtcdKeys,
} from './etcd-records.ts';
import type { z } from 'zod';

type StoredRoot = z.output<typeof rootSchema>;
type StoredRollover = z.output<typeof rolloverSchema>;

const toRoot = (r: StoredRoot): CaRootRecord => ({ ...r, createdAt: new Date(r.createdAt) });
const toHistory = (h: z.output<typeof historySchema>): CaHistoryRecord => ({ ...h, at: new Date(h.at) });

export class EtcdCaStore implements CaStore {
  readonly #c: EtcdClient;
  readonly #k: EtcdKeys;

  constructor(client: EtcdClient, keys: EtcdKeys) {
    this.#c = client;
    this.#k = keys;
  }

  async #roots(): Promise<{ kv: KeyValue; r: StoredRoot }[]> {
    const { kvs } = await this.#c.range(this.#k.caRoots);
    return kvs.map((kv) => ({ kv, r: parseValue(rootSchema, kv) }));
  }

  async roots(): Promise<CaRootRecord[]> {
    return (await this.#roots()).map(({ r }) => toRoot(r));
  }

  async #rollover(): Promise<{ kv: KeyValue | undefined; r: StoredRollover | undefined }> {
    const { kv } = await this.#c.get(this.#k.caRollover);
    return { kv, r: kv ? parseValue(rolloverSchema, kv) : undefined };
  }

  async rollover(): Promise<CaRolloverRecord | undefined> {
    const { r } = await this.#rollover();
    return r ? { phase: r.phase, issuing: r.issuing, old: r.old, new: r.new, issuingSince: new Date(r.issuingSince) } : undefined;
  }

  async seed(root: Omit<CaRootRecord, 'generation' | 'inBundle' | 'issued'>, now: Date): Promise<void> {
    await cas(this.#c, 'seed CA state', async () => {
      const { kv } = await this.#c.get(this.#k.caRollover);
      if (kv) return { done: undefined };
      // Certificates recorded without an issuer were issued by this root (the only one so far).
      const { kvs } = await this.#c.range(`${this.#k.prefix}certs/`);
      const unnamed = kvs.map((c) => ({ kv: c, x: parseValue(certSchema, c) })).filter(({ x }) => x.issuer === null);
      const rollover: StoredRollover = { phase: 0, issuing: 1, old: null, new: null, issuingSince: now.getTime(), historySeq: 0 };
      return {
        compare: [unchanged(this.#k.caRollover, undefined), ...unnamed.map(({ kv: c }) => unchanged(c.key, c))],
        ops: [
          put(this.#k.caRoot(1), json({ generation: 1, fingerprint: root.fingerprint, certPem: root.certPem, keyFile: root.keyFile, createdAt: root.createdAt.getTime(), inBundle: true, issued: true })),
          put(this.#k.caRollover, json(rollover)),
          ...unnamed.map(({ kv: c, x }) => put(c.key, json({ ...x, issuer: root.fingerprint }))),
        ],
        result: undefined,
      };
    });
  }

  async commit(step: CaCommit, now: Date): Promise<boolean> {
    return cas<boolean>(this.#c, 'CA rollover step', async () => {
      const { kv, r: before } = await this.#rollover();
      const e = step.expected;
      if (!before || before.phase !== e.phase || before.issuing !== e.issuing || before.old !== e.old || before.new !== e.new) return { done: false };
      const r = step.rollover;
      const roots = new Map((await this.#roots()).map(({ kv: rk, r: root }) => [root.generation, { kv: rk, root }]));
      const ops: TxnOp[] = [];
      const compare = [unchanged(this.#k.caRollover, kv), ...[...roots.values()].map(({ kv: rk }) => unchanged(rk.key, rk))];
      const next = new Map<number, StoredRoot>([...roots].map(([g, { root }]) => [g, root]));
      if (step.addRoot) {
        const a = step.addRoot;
        compare.push(unchanged(this.#k.caRoot(a.generation), roots.get(a.generation)?.kv));
        next.set(a.generation, { generation: a.generation, fingerprint: a.fingerprint, certPem: a.certPem, keyFile: a.keyFile, createdAt: a.createdAt.getTime(), inBundle: true, issued: false });
      }
      const issuing = next.get(r.issuing);
      if (issuing) next.set(r.issuing, { ...issuing, issued: true });
      if (step.dropRoot !== undefined && next.delete(step.dropRoot)) ops.push({ delete: { key: this.#k.caRoot(step.dropRoot) } });
      for (const [g, root] of next) {
        let v = { ...root, inBundle: step.bundle.includes(g) };
        if (step.destroyKeysOf?.includes(g)) v = { ...v, keyFile: '' };
        ops.push(put(this.#k.caRoot(g), json(v)));
      }
      const historySeq = before.historySeq + 1;
      const h = step.history;
      ops.push(put(this.#k.caHistoryEntry(historySeq), json({ at: h.at.getTime(), action: h.action, from: h.from, to: h.to, forced: h.forced, detail: h.detail })));
      const issuingSince = before.issuing === r.issuing ? before.issuingSince : now.getTime();
      ops.push(put(this.#k.caRollover, json({ phase: r.phase, issuing: r.issuing, old: r.old, new: r.new, issuingSince, historySeq })));
      return { compare, ops, result: true };
    });
  }

  async history(limit: number): Promise<CaHistoryRecord[]> {
    const { kvs } = await this.#c.range(this.#k.caHistory);
    return kvs.slice(Math.max(0, kvs.length - limit)).map((kv) => toHistory(parseValue(historySchema, kv)));
  }

  // Agents ack every minute: an unchanged set writes nothing.
  async recordAck(cluster: string, fingerprints: readonly string[], at: Date): Promise<void> {
    const set = [...fingerprints].sort();
    await cas(this.#c, 'record trust-bundle ack', async () => {
      const { kv } = await this.#c.get(this.#k.caAck(cluster));
      if (kv && json(parseValue(ackSchema, kv).fingerprints) === json(set)) return { done: undefined };
      return { compare: [unchanged(this.#k.caAck(cluster), kv)], ops: [put(this.#k.caAck(cluster), json({ fingerprints: set, ackedAt: at.getTime() }))], result: undefined };
    });
  }

  async clusterTrust(): Promise<ClusterTrustRecord[]> {
    const [clusters, acks] = await Promise.all([this.#c.range(this.#k.clusters), this.#c.range(this.#k.caAcks)]);
    const ackOf = new Map(acks.kvs.map((kv) => [kv.key.slice(this.#k.caAcks.length), parseValue(ackSchema, kv)]));
    const out: ClusterTrustRecord[] = [];
    for (const kv of clusters.kvs) {
      const c = parseValue(clusterSchema, kv);
      if (c.state !== 'active') continue;
      const ack = ackOf.get(c.id);
      let issuer: string | null = null;
      if (c.certificateSerial !== null) {
        const x = (await this.#c.get(this.#k.cert(c.id, c.certificateSerial))).kv;
        issuer = x ? parseValue(certSchema, x).issuer : null;
      }
      out.push({ cluster: c.id, ackedFingerprints: ack?.fingerprints ?? [], ackedAt: ack ? new Date(ack.ackedAt) : null, issuer });
    }
    return out;
  }
}
