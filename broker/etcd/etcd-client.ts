// The broker's etcd client: only what the broker needs of etcd's v3 API (get, paged prefix
// ranges at one revision, transactions, leases, watches), on the JSON gateway through
// undici (bench:etcd-client chose it; broker/etcd/README.md says why). Options are
// validated once here; every answer is parsed by etcd-wire.ts; every failure is a
// BrokerError with a PLX_BROKER_ETCD_* code.
import { BrokerError } from '../errors.ts';
import { EtcdTransport, type EtcdTlsMaterial } from './etcd-transport.ts';
import { EtcdWatch, type EtcdWatchOptions } from './etcd-watch.ts';
import {
  b64, deleteResponseSchema, leaseGrantSchema, leaseKeepAliveSchema, leaseRevokeSchema, prefixEnd, putResponseSchema,
  rangeResponseSchema, statusSchema, txnResponseSchema, type KeyValue,
} from './etcd-wire.ts';

export type { KeyValue } from './etcd-wire.ts';

export interface EtcdClientOptions {
  readonly endpoints: readonly string[];
  readonly tls: EtcdTlsMaterial;
  readonly dialTimeoutMs?: number;       // default 2000
  readonly requestTimeoutMs?: number;    // default 5000: one call, failover included
}

/** A txn condition. `target` names the field of `key` compared with `value`. */
export type Compare =
  | { key: string; target: 'mod' | 'version' | 'create'; op?: CompareOp; value: number }
  | { key: string; target: 'value'; op?: CompareOp; value: string | Buffer };
export type CompareOp = '==' | '!=' | '<' | '>';

export type TxnOp =
  | { put: { key: string; value: string | Buffer; lease?: string } }
  | { delete: { key: string; prefix?: boolean; end?: string } }   // end: delete [key, end)
  | { get: { key: string } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;                      // the header revision (of the write, when it wrote)
  /** Keys read by the branch that ran, one array per `get` op in order. */
  gets: KeyValue[][];
}

const OPS: Record<CompareOp, string> = { '==': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' };
const TARGETS = { mod: ['MOD', 'mod_revision'], version: ['VERSION', 'version'], create: ['CREATE', 'create_revision'], value: ['VALUE', 'value'] } as const;

function compareJson(c: Compare): Record<string, string> {
  const [target, field] = TARGETS[c.target];
  const value = c.target === 'value' ? b64(c.value) : String(c.value);
  return { key: b64(c.key), target, result: OPS[c.op ?? '=='], [field]: value };
}

function opJson(op: TxnOp): Record<string, unknown> {
  if ('put' in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease ? { lease: op.put.lease } : {}) } };
  if ('delete' in op) {
    const end = op.delete.end !== undefined ? b64(op.delete.end) : op.delete.prefix ? prefixEnd(op.delete.key) : undefined;
    return { request_delete_range: { key: b64(op.delete.key), ...(end ? { range_end: end } : {}) } };
  }
  return { request_range: { key: b64(op.get.key) } };
}

function validate(o: EtcdClientOptions): string[] {
  const problems: string[] = [];
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) problems.push('endpoints: at least one etcd member is required');
  for (const e of o.endpoints ?? []) {
    let url: URL | undefined;
    try { url = new URL(e); } catch { /* reported below */ }
    if (!url || url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.username) problems.push(`endpoints: ${JSON.stringify(e)} is not https://host:port`);
  }
  for (const k of ['ca', 'cert', 'key'] as const) if (!o.tls?.[k] || o.tls[k].length === 0) problems.push(`tls.${k}: required (etcd is reached with mutual TLS only)`);
  for (const k of ['dialTimeoutMs', 'requestTimeoutMs'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > 600_000)) problems.push(`${k}: must be an integer in 1..600000 ms`);
  }
  return problems;
}

export class EtcdClient {
  readonly transport: EtcdTransport;

  private constructor(transport: EtcdTransport) {
    this.transport = transport;
  }

  /** Validates the options (every problem at once) and makes a client; connects lazily. */
  static create(o: EtcdClientOptions): EtcdClient {
    const problems = validate(o);
    if (problems.length) throw new BrokerError('PLX_BROKER_ETCD_CONFIG_INVALID', `etcd client options: ${problems.join('; ')}`, { details: problems });
    return new EtcdClient(new EtcdTransport({
      endpoints: o.endpoints.map((e) => new URL(e).origin), tls: o.tls,
      dialTimeoutMs: o.dialTimeoutMs ?? 2000, requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    }));
  }

  /** One key (linearizable); revision is the store's revision of the read. */
  async get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const r = await this.transport.call('/v3/kv/range', { key: b64(key) }, rangeResponseSchema, { write: false });
    return { kv: r.kvs[0], revision: r.header.revision };
  }

  /**
   * Every key under prefix, in key order, page by page, all pages read at the revision of
   * the first (so the pages form one snapshot). A revision compacted meanwhile is
   * PLX_BROKER_ETCD_COMPACTED.
   */
  async *rangePages(prefix: string, o: { pageSize?: number; revision?: number } = {}): AsyncGenerator<{ kvs: KeyValue[]; revision: number }> {
    const limit = o.pageSize ?? 500;
    const end = prefixEnd(prefix);
    let revision = o.revision ?? 0;
    let from = b64(prefix);
    for (;;) {
      const r = await this.#rangeAt({ key: from, range_end: end, limit: String(limit), ...(revision ? { revision: String(revision) } : {}) });
      revision ||= r.header.revision;
      yield { kvs: r.kvs, revision };
      const last = r.kvs.at(-1);
      if (!r.more || !last) return;
      from = b64(Buffer.concat([Buffer.from(last.key), Buffer.from([0])]));
    }
  }

  /** All pages of rangePages in one array. */
  async range(prefix: string, o: { pageSize?: number; revision?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const kvs: KeyValue[] = [];
    let revision = o.revision ?? 0;
    for await (const page of this.rangePages(prefix, o)) {
      kvs.push(...page.kvs);
      revision = page.revision;
    }
    return { kvs, revision };
  }

  async #rangeAt(body: Record<string, string>) {
    try {
      return await this.transport.call('/v3/kv/range', body, rangeResponseSchema, { write: false });
    } catch (err) {
      if (err instanceof BrokerError && err.code === 'PLX_BROKER_ETCD_REQUEST_REJECTED' && /compacted/.test(err.message)) {
        throw new BrokerError('PLX_BROKER_ETCD_COMPACTED', `etcd range at revision ${body.revision}: compacted`, { cause: err, details: { revision: Number(body.revision) } });
      }
      throw err;
    }
  }

  async put(key: string, value: string | Buffer, o: { lease?: string } = {}): Promise<{ revision: number }> {
    const r = await this.transport.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(o.lease ? { lease: o.lease } : {}) }, putResponseSchema, { write: true });
    return { revision: r.header.revision };
  }

  /** Deletes key (or every key under it with prefix); not-found is success (deleted 0). */
  async delete(key: string, o: { prefix?: boolean } = {}): Promise<{ revision: number; deleted: number }> {
    const r = await this.transport.call('/v3/kv/deleterange', { key: b64(key), ...(o.prefix ? { range_end: prefixEnd(key) } : {}) }, deleteResponseSchema, { write: true });
    return { revision: r.header.revision, deleted: r.deleted };
  }

  /** If every compare holds, run `success`, else `failure`; atomically, one revision. */
  async txn(t: { compare: readonly Compare[]; success: readonly TxnOp[]; failure?: readonly TxnOp[] }): Promise<TxnResult> {
    const r = await this.transport.call('/v3/kv/txn', {
      compare: t.compare.map(compareJson), success: t.success.map(opJson), failure: (t.failure ?? []).map(opJson),
    }, txnResponseSchema, { write: true });
    const ran = r.succeeded ? t.success : (t.failure ?? []);
    if (r.responses.length !== ran.length) {
      throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd txn: ${r.responses.length} responses for ${ran.length} ops`);
    }
    const gets = r.responses.filter((_, i) => 'get' in ran[i]!).map((x) => x.response_range?.kvs ?? []);
    return { succeeded: r.succeeded, revision: r.header.revision, gets };
  }

  /** Grants a lease of ttlSeconds; its ID is a decimal int64 string. */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    const r = await this.transport.call('/v3/lease/grant', { TTL: String(ttlSeconds) }, leaseGrantSchema, { write: true });
    if (r.error) throw new BrokerError('PLX_BROKER_ETCD_REQUEST_REJECTED', `etcd lease grant: ${r.error}`);
    return { id: r.ID, ttlSeconds: r.TTL };
  }

  /** Renews the lease once; a lease that is gone is PLX_BROKER_ETCD_LEASE_LOST. */
  async leaseKeepAlive(id: string): Promise<{ ttlSeconds: number }> {
    // A keep-alive is idempotent: re-sending it after a broken connection is safe.
    const r = await this.transport.call('/v3/lease/keepalive', { ID: id }, leaseKeepAliveSchema, { write: false });
    if (r.result.TTL <= 0) throw new BrokerError('PLX_BROKER_ETCD_LEASE_LOST', `etcd lease ${id} expired or was revoked`);
    return { ttlSeconds: r.result.TTL };
  }

  /** Revokes the lease and deletes its keys; a lease already gone is success. */
  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.transport.call('/v3/lease/revoke', { ID: id }, leaseRevokeSchema, { write: false });
    } catch (err) {
      if (err instanceof BrokerError && err.code === 'PLX_BROKER_ETCD_REQUEST_REJECTED' && /lease not found/.test(err.message)) return;
      throw err;
    }
  }

  /** Watches key (or every key under it) from a revision; see EtcdWatch. */
  watch(o: EtcdWatchOptions): EtcdWatch {
    return new EtcdWatch(this.transport, o);
  }

  /** Readiness probe: a linearizable read answered through the leader, within timeoutMs. */
  async ping(timeoutMs?: number): Promise<{ revision: number; memberId: string }> {
    const r = await this.transport.call('/v3/kv/range', { key: b64('\0'), count_only: true }, rangeResponseSchema, { write: false, ...(timeoutMs ? { timeoutMs } : {}) });
    return { revision: r.header.revision, memberId: r.header.memberId };
  }

  /** The leader as the current member sees it (for logs and tests). */
  async status(): Promise<{ memberId: string; leader: string | undefined }> {
    const r = await this.transport.call('/v3/maintenance/status', {}, statusSchema, { write: false });
    return { memberId: r.header.memberId, leader: r.leader };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
