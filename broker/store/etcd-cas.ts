// Optimistic compare-and-set on etcd, the only way the etcd backend changes state: a plan
// reads the keys its condition depends on and either answers without writing or returns
// ONE transaction whose compares say "every key I read is unchanged" (mod_revision equal,
// or version 0 for a key that was absent). If another replica wrote any of them first, the
// transaction applies nothing and the plan runs again on what is there now, so a condition
// is never checked on one state and written on another.
import { BrokerError } from '../errors.ts';
import type { Compare, EtcdClient, KeyValue, TxnOp } from '../etcd/etcd-client.ts';

export type CasPlan<T> =
  | { readonly done: T }
  | { readonly compare: readonly Compare[]; readonly ops: readonly TxnOp[]; readonly result: T };

/** The compare that holds only while `key` is as it was read (absent stays absent). */
export function unchanged(key: string, kv: KeyValue | undefined): Compare {
  return kv ? { key, target: 'mod', value: kv.modRevision } : { key, target: 'version', value: 0 };
}

export const put = (key: string, value: string): TxnOp => ({ put: { key, value } });

// Contention between replicas is a handful of writers on one key; far more rounds than
// that means something rewrites the key in a loop, which must not hang a request.
const MAX_ROUNDS = 32;

export async function cas<T>(client: EtcdClient, what: string, plan: () => Promise<CasPlan<T>>): Promise<T> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const p = await plan();
    if ('done' in p) return p.done;
    const r = await client.txn({ compare: p.compare, success: p.ops });
    if (r.succeeded) return p.result;
  }
  throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `${what}: the keys changed under ${MAX_ROUNDS} attempts in a row; nothing was written`);
}
