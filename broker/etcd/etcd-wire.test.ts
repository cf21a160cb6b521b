import { describe, expect, it } from 'vitest';
import { b64, headerSchema, keyValueSchema, prefixEnd, txnResponseSchema, watchMessageSchema } from './etcd-wire.ts';

const header = { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '7', raft_term: '2' };

describe('etcd wire schemas', () => {
  it('decode base64 keys and values and int64 strings; absent fields take etcd\'s defaults', () => {
    const kv = keyValueSchema.parse({ key: b64('a/b'), create_revision: '5', mod_revision: '6' });
    expect(kv).toEqual({ key: 'a/b', value: Buffer.alloc(0), createRevision: 5, modRevision: 6, version: 0, lease: '0' });
    expect(txnResponseSchema.parse({ header }).succeeded).toBe(false);
  });

  it('accept a uint64 cluster or member ID of 20 digits (etcd\'s IDs pass int64; every answer was refused)', () => {
    const h = headerSchema.parse({ ...header, cluster_id: '18446744073709551615' });
    expect(h.clusterId).toBe('18446744073709551615');
  });

  it('refuse an answer whose revision is not a decimal, whose key is not base64, or whose revision passes 2^53', () => {
    expect(keyValueSchema.safeParse({ key: b64('k'), mod_revision: '12abc' }).success).toBe(false);
    expect(keyValueSchema.safeParse({ key: 'not base64!', mod_revision: '1' }).success).toBe(false);
    expect(keyValueSchema.safeParse({ key: b64('k'), mod_revision: '9007199254740993' }).success).toBe(false);
    expect(watchMessageSchema.safeParse({ result: { header, events: [{ type: 'EXPIRE', kv: { key: b64('k') } }] } }).success).toBe(false);
  });

  it('prefixEnd is the prefix with its last byte below 0xff incremented', () => {
    expect(Buffer.from(prefixEnd('a/'), 'base64').toString()).toBe('a0');
    expect([...Buffer.from(prefixEnd('a\xff'), 'base64')]).toEqual([0x61, 0xc3, 0xc0]);   // 'ÿ' is c3 bf in UTF-8
  });
});
