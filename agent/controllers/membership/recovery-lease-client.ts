// "The broker is back": the lease heartbeat is the one broker call an agent makes on a
// short, capped schedule (a third of the lease, also while failing), so its first success
// after failures is the earliest sign that an outage is over. This wrapper turns it into
// one call of `onRecovered`, which main.ts uses to end the backoffs of the catalog watch
// and the export controller: after a long outage those have grown to their caps (15-30 s),
// and exports made meanwhile would otherwise wait that long to reach the broker and every
// watcher. Failures and results pass through unchanged.
import type { LeaseClient } from './lease-heartbeat.ts';

export function recoveryLeaseClient(client: LeaseClient, onRecovered: () => void): LeaseClient {
  let failing = false;
  return {
    async renewLease(o) {
      let res: Awaited<ReturnType<LeaseClient['renewLease']>>;
      try {
        res = await client.renewLease(o);
      } catch (err) {
        failing = true;
        throw err;
      }
      if (failing) {
        failing = false;
        onRecovered();
      }
      return res;
    },
  };
}
