// The etcd backend's key layout and the zod schemas of its values. Every value is JSON
// validated when it is read back (a value that does not parse is PLX_BROKER_ETCD_BAD_RESPONSE,
// never used). Times are epoch milliseconds, as in the sqlite backend. The layout is
// documented in broker/store/README.md ("The etcd backend"); keep the two in step.
import { z } from 'zod';
import { BrokerError } from '../errors.ts';
import type { KeyValue } from '../etcd/etcd-client.ts';
import type { CaPhase } from '../api/ca.ts';
import type { TokenRecord } from '../enroll/token-record.ts';

/** Fixed-width decimal, so that key order is numeric order (revisions, generations). */
export const pad = (n: number): string => String(n).padStart(16, '0');

/** Every key of one store, under its prefix (`/plexus/<clusterset>/` by default). */
export function etcdKeys(prefix: string) {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return {
    prefix: p,
    meta: `${p}meta`,
    tokens: `${p}tokens/`,
    token: (id: string) => `${p}tokens/${id}`,
    clusters: `${p}clusters/`,
    cluster: (id: string) => `${p}clusters/${id}`,
    certs: (cluster: string) => `${p}certs/${cluster}/`,
    cert: (cluster: string, serial: string) => `${p}certs/${cluster}/${serial}`,
    serial: (serial: string) => `${p}serials/${serial}`,
    labels: `${p}labels/`,
    label: (cluster: string) => `${p}labels/${cluster}`,
    rbacHead: `${p}rbac/head`,
    rbacBaseline: (revision: number) => `${p}rbac/baselines/${pad(revision)}`,
    rbacStatuses: `${p}rbac/status/`,
    rbacStatus: (cluster: string) => `${p}rbac/status/${cluster}`,
    users: `${p}users/`,
    user: (name: string) => `${p}users/${name}`,
    caRollover: `${p}ca/rollover`,
    caRoots: `${p}ca/roots/`,
    caRoot: (generation: number) => `${p}ca/roots/${pad(generation)}`,
    caHistory: `${p}ca/history/`,
    caHistoryEntry: (seq: number) => `${p}ca/history/${pad(seq)}`,
    caAcks: `${p}ca/acks/`,
    caAck: (cluster: string) => `${p}ca/acks/${cluster}`,
    reports: `${p}reports/`,
    report: (cluster: string) => `${p}reports/${cluster}`,
    catalogHead: `${p}catalog/head`,
    catalogCompacted: `${p}catalog/compacted`,
    catalogExports: `${p}catalog/exports/`,
    catalogExportDoc: (cluster: string) => `${p}catalog/exports/${cluster}`,
    catalogEvents: `${p}catalog/events/`,
    catalogEventBatch: (revision: number) => `${p}catalog/events/${pad(revision)}`,
    catalogLeases: `${p}catalog/leases/`,
    catalogLease: (cluster: string) => `${p}catalog/leases/${cluster}`,
    catalogAds: `${p}catalog/ads/`,
    catalogAd: (cluster: string) => `${p}catalog/ads/${cluster}`,
  };
}
export type EtcdKeys = ReturnType<typeof etcdKeys>;

const ms = z.number().int();
const nullableMs = ms.nullable();

export const metaSchema = z.object({ clusterset: z.string().min(1), createdAt: ms });

/** A token exactly as sqlite keeps it: SHA-256 of the secret (base64 here), never the secret. */
export const tokenSchema = z.object({
  id: z.string(), kind: z.enum(['cluster', 'user']), subject: z.string(), secretHash: z.string(),
  createdAt: ms, expiresAt: ms, usedAt: nullableMs, revokedAt: nullableMs,
  /** Groups of a person's invitation (kind "user"). */
  groups: z.array(z.string()).optional(),
});

export const clusterSchema = z.object({
  id: z.string(), state: z.enum(['active', 'removed']), epoch: z.number().int(), joinedAt: ms, removedAt: nullableMs,
  tokenId: z.string(),
  /** The newest certificate of the current epoch (written with it, in the same txn). */
  certificateSerial: z.string().nullable(), certificateNotAfter: nullableMs,
});

export const certSchema = z.object({
  serial: z.string(), cluster: z.string(), epoch: z.number().int(), issuedAt: ms, notAfter: ms,
  issuer: z.string().nullable(), presentedAt: nullableMs,
});

export const labelsSchema = z.record(z.string(), z.string());

export const baselineSchema = z.object({ revision: z.number().int(), hash: z.string(), document: z.string(), createdAt: ms });
export const statusSchema = z.object({ cluster: z.string(), report: z.string(), reportedAt: ms });

export const userSchema = z.object({
  name: z.string(), groups: z.array(z.string()), state: z.enum(['invited', 'active', 'revoked']), createdAt: ms, revokedAt: nullableMs,
});

export const rootSchema = z.object({
  generation: z.number().int(), fingerprint: z.string(), certPem: z.string(),
  /** A path relative to the data directory: the key itself is never in etcd. */
  keyFile: z.string(),
  createdAt: ms, inBundle: z.boolean(), issued: z.boolean(),
});
const phase = z.number().int().min(0).max(5).transform((n) => n as CaPhase);
export const rolloverSchema = z.object({
  phase, issuing: z.number().int(), old: z.number().int().nullable(), new: z.number().int().nullable(), issuingSince: ms,
  /** Number of history entries so far: the next one is historySeq + 1. */
  historySeq: z.number().int(),
});
export const historySchema = z.object({
  at: ms, action: z.enum(['advance', 'rollback']), from: phase, to: phase, forced: z.boolean(), detail: z.string(),
});
export const ackSchema = z.object({ fingerprints: z.array(z.string()), ackedAt: ms });

export const catalogHeadSchema = z.coerce.number().int().nonnegative();
export const exportDocSchema = z.record(z.string(), z.object({ namespace: z.string(), name: z.string(), spec: z.string(), revision: z.number().int() }));
export const eventBatchSchema = z.array(z.object({ revision: z.number().int(), payload: z.string() }));
export const leaseSchema = z.object({ available: z.boolean() });
export const adSchema = z.object({ body: z.string(), revision: z.number().int() });

/** Parses a stored value with its schema; a value that does not parse is never used. */
export function parseValue<S extends z.ZodType>(schema: S, kv: KeyValue): z.output<S> {
  let json: unknown;
  try {
    json = schema === (catalogHeadSchema as z.ZodType) ? kv.value.toString('utf8') : JSON.parse(kv.value.toString('utf8'));
  } catch (cause) {
    throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd key ${kv.key}: value is not JSON`, { cause });
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd key ${kv.key}: ${r.error.issues[0]?.message ?? 'invalid value'}`, { details: r.error.issues });
  return r.data;
}

export const json = (v: unknown): string => JSON.stringify(v);

type StoredToken = z.output<typeof tokenSchema>;
const d = (v: number | null): Date | null => (v === null ? null : new Date(v));

export function toTokenRecord(t: StoredToken): TokenRecord {
  return {
    id: t.id, kind: t.kind, subject: t.subject, secretHash: new Uint8Array(Buffer.from(t.secretHash, 'base64')),
    createdAt: new Date(t.createdAt), expiresAt: new Date(t.expiresAt), usedAt: d(t.usedAt), revokedAt: d(t.revokedAt),
  };
}

export function fromTokenRecord(t: TokenRecord, groups?: readonly string[]): StoredToken {
  return {
    id: t.id, kind: t.kind, subject: t.subject, secretHash: Buffer.from(t.secretHash).toString('base64'),
    createdAt: t.createdAt.getTime(), expiresAt: t.expiresAt.getTime(), usedAt: t.usedAt?.getTime() ?? null,
    revokedAt: t.revokedAt?.getTime() ?? null, ...(groups ? { groups: [...groups] } : {}),
  };
}

