// What etcd's JSON gateway (grpc-gateway over the v3 API) sends back, as zod schemas: every
// answer is parsed here before the broker sees it, so a relayed or damaged answer becomes
// PLX_BROKER_ETCD_BAD_RESPONSE instead of a wrong revision. The gateway writes int64 fields
// as decimal strings and omits fields at their default (false, 0, empty), and keys and values
// as base64. Revisions stay below 2^53 (one per write), so they become numbers; lease IDs
// are full int64 and stay strings.
import { z } from 'zod';

// uint64 IDs (cluster, member) reach 20 digits.
const int64 = z.string().regex(/^-?\d{1,20}$/);
const revision = int64.transform(Number).refine(Number.isSafeInteger, 'revision beyond 2^53');
const bytes = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).transform((s) => Buffer.from(s, 'base64'));

export const headerSchema = z.object({
  cluster_id: int64.optional(),
  member_id: int64.optional(),
  revision: revision.optional(),
  raft_term: int64.optional(),
}).transform((h) => ({ revision: h.revision ?? 0, memberId: h.member_id ?? '', clusterId: h.cluster_id ?? '' }));

export const keyValueSchema = z.object({
  key: bytes,
  create_revision: revision.default(0),
  mod_revision: revision.default(0),
  version: revision.default(0),
  value: bytes.default(Buffer.alloc(0)),
  lease: int64.default('0'),
}).transform((kv) => ({
  key: kv.key.toString('utf8'),
  value: kv.value,
  createRevision: kv.create_revision,
  modRevision: kv.mod_revision,
  version: kv.version,
  lease: kv.lease,
}));
export type KeyValue = z.output<typeof keyValueSchema>;

export const rangeResponseSchema = z.object({
  header: headerSchema,
  kvs: z.array(keyValueSchema).default([]),
  more: z.boolean().default(false),
  count: revision.default(0),
});

export const putResponseSchema = z.object({ header: headerSchema });
export const deleteResponseSchema = z.object({ header: headerSchema, deleted: revision.default(0) });

export const txnResponseSchema = z.object({
  header: headerSchema,
  succeeded: z.boolean().default(false),
  responses: z.array(z.object({
    response_range: z.object({ kvs: z.array(keyValueSchema).default([]) }).optional(),
    response_put: z.object({}).passthrough().optional(),
    response_delete_range: z.object({ deleted: revision.default(0) }).optional(),
  })).default([]),
});

export const leaseGrantSchema = z.object({ header: headerSchema, ID: int64, TTL: revision, error: z.string().optional() });
export const leaseKeepAliveSchema = z.object({
  result: z.object({ header: headerSchema, ID: int64, TTL: revision.default(0) }),
});
export const leaseRevokeSchema = z.object({ header: headerSchema });
export const statusSchema = z.object({ header: headerSchema, leader: int64.optional() });

export const watchEventSchema = z.object({
  type: z.enum(['PUT', 'DELETE']).default('PUT'),
  kv: keyValueSchema,
});

/** One message of a /v3/watch stream. */
export const watchMessageSchema = z.object({
  result: z.object({
    header: headerSchema,
    watch_id: int64.optional(),
    created: z.boolean().default(false),
    canceled: z.boolean().default(false),
    compact_revision: revision.default(0),
    cancel_reason: z.string().default(''),
    events: z.array(watchEventSchema).default([]),
  }).optional(),
  error: z.object({ grpc_code: z.number().optional(), message: z.string().default('') }).optional(),
});
export type WatchMessage = z.output<typeof watchMessageSchema>;

/** The body of a non-200 answer: a gRPC status. */
export const gatewayErrorSchema = z.object({ code: z.number().int(), message: z.string().default('') });

export const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/** The range_end that selects every key starting with prefix (etcd's "prefix end"). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = b.subarray(0, i + 1);
      end[i]! += 1;
      return b64(end);
    }
  }
  return b64(Buffer.from([0]));   // no end: every key from prefix on
}
