// Which network this cluster's pods sit on: `--network` or, when not given, the About API
// ClusterProperty `network.plexus.io` (spec.value), else the shared default network. The
// flag wins. A property value that is not an RFC-1123 label is ignored with a warning.
import type { Logger } from 'pino';
import { DEFAULT_NETWORK } from '../../broker/api/advertisement.ts';
import { dnsLabelSchema } from '../../broker/api/names.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { CLUSTER_PROPERTIES } from '../kube/resources.ts';

export const PROPERTY_NETWORK = 'network.plexus.io';

export async function clusterNetwork(api: Pick<KubeApi, 'get'>, flag: string | undefined, logger: Logger): Promise<string> {
  if (flag !== undefined) return flag;
  try {
    const value = (await api.get(CLUSTER_PROPERTIES, { name: PROPERTY_NETWORK }))?.spec?.value;
    if (value === undefined) return DEFAULT_NETWORK;
    if (dnsLabelSchema.safeParse(value).success) return value;
    logger.warn({ property: PROPERTY_NETWORK }, 'ClusterProperty value is not an RFC-1123 label; using the default network');
  } catch (err) {
    logger.warn({ err, property: PROPERTY_NETWORK }, 'cannot read ClusterProperty; using the default network');
  }
  return DEFAULT_NETWORK;
}
