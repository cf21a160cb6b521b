import { describe, expect, it } from 'vitest';
import type { LeaseResponse } from '../../../broker/api/catalog.ts';
import { recoveryLeaseClient } from './recovery-lease-client.ts';

const ok: LeaseResponse = { leaseDurationSeconds: 3, renewedAt: '2026-01-01T00:00:00.000Z' };

describe('recoveryLeaseClient', () => {
  it('calls onRecovered once on the first success after failures, never on plain successes', async () => {
    const outcomes: (LeaseResponse | Error)[] = [ok, new Error('down'), new Error('down'), ok, ok, new Error('down'), ok];
    let recovered = 0;
    const client = recoveryLeaseClient({
      renewLease: async () => {
        const next = outcomes.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    }, () => { recovered++; });
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await client.renewLease().then((v) => v, (e: Error) => e);
      if (r instanceof Error) expect(r.message).toBe('down');
      else expect(r).toBe(ok);
      seen.push(recovered);
    }
    expect(seen).toEqual([0, 0, 0, 1, 1, 1, 2]);
  });
});
