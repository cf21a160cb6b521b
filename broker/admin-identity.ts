// The clusterset's operator identity: spiffe://<clusterset>/admin/admin. Exactly this
// identity may call /v1/admin/*; `init` issues its certificate into D/admin/.
import type { Identity } from '../certs/identity.ts';

export const ADMIN_NAME = 'admin';
/** spiffe://<clusterset>/admin/metrics: may read GET /metrics and nothing else (for Prometheus). */
export const METRICS_READER_NAME = 'metrics';

export function adminIdentity(clusterset: string): Identity {
  return { trustDomain: clusterset, kind: 'admin', name: ADMIN_NAME };
}

export function metricsReaderIdentity(clusterset: string): Identity {
  return { trustDomain: clusterset, kind: 'admin', name: METRICS_READER_NAME };
}
