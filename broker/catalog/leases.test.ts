// The lease rules on a fake clock: expiry, renewal, and the grace after a broker restart.
import { describe, expect, it } from 'vitest';
import { LeaseTracker, restartGraceMs } from './leases.ts';

const at = (ms: number) => new Date(Date.parse('2026-06-01T00:00:00Z') + ms);

describe('LeaseTracker', () => {
  it('expires a lease not renewed within its duration, and not one renewed', () => {
    const l = new LeaseTracker({ durationSeconds: 3 });
    l.track('east', true, at(0));
    l.track('west', true, at(0));
    l.renew('west', at(2_000));
    expect(l.expired(at(2_999))).toEqual([]);
    expect(l.expired(at(3_000))).toEqual(['east']);
  });

  it('a broker restart grace covers an agent renewal that timed out and its retry', () => {
    // The agent (lease-heartbeat.ts) retries within lease/3, abandons a call after lease/2;
    // the retry after a hung call must still land before the restored lease runs out.
    const leaseMs = 3_000;
    const retry = leaseMs / 3;
    const callTimeout = leaseMs / 2;
    expect(restartGraceMs(leaseMs)).toBeGreaterThan(retry + callTimeout + retry + callTimeout);
  });

  it('a lease restored at a broker restart runs from when the broker listens, not from when it was loaded', () => {
    // test/e2e/broker-outage.test.ts failed once: the restarted broker loaded its leases
    // well before it listened, then expired cluster-1 2.4 s after it began listening.
    const l = new LeaseTracker({ durationSeconds: 3 });
    l.track('east', true, at(0));
    l.listening(at(1_000));
    // The agent's first call after the restart hung until its 1.5 s timeout; its retry came
    // a beat later, 3.5 s after the broker began listening.
    expect(l.expired(at(1_000 + 3_500))).toEqual([]);
    expect(l.expired(at(1_000 + restartGraceMs(3_000) - 1))).toEqual([]);
    expect(l.expired(at(1_000 + restartGraceMs(3_000)))).toEqual(['east']);
  });

  it('listening does not extend a lease that was renewed', () => {
    const l = new LeaseTracker({ durationSeconds: 3 });
    l.renew('east', at(0));
    l.setAvailable('east', true);
    l.listening(at(0));
    expect(l.expired(at(3_000))).toEqual(['east']);
  });
});
