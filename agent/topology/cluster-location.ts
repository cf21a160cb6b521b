// Where this cluster sits: zone and region from the agent's flags (--zone, --region) or,
// when a flag is not given, from the About API ClusterProperties
// `topology.kubernetes.io.zone` and `topology.kubernetes.io.region` (spec.value). A value
// that is not a Kubernetes label value is ignored with a warning.
import type { Logger } from 'pino';
import { isNonEmptyLabelValue } from '../../broker/api/names.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { CLUSTER_PROPERTIES } from '../kube/resources.ts';

export const PROPERTY_ZONE = 'topology.kubernetes.io.zone';
export const PROPERTY_REGION = 'topology.kubernetes.io.region';

export interface ClusterLocation {
  readonly zone?: string | undefined;
  readonly region?: string | undefined;
}

async function property(api: Pick<KubeApi, 'get'>, name: string, logger: Logger): Promise<string | undefined> {
  try {
    const value = (await api.get(CLUSTER_PROPERTIES, { name }))?.spec?.value;
    if (value === undefined) return undefined;
    if (isNonEmptyLabelValue(value)) return value;
    logger.warn({ property: name }, 'ClusterProperty value is not a label value; ignored');
  } catch (err) {
    logger.warn({ err, property: name }, 'cannot read ClusterProperty; ignored');
  }
  return undefined;
}

export async function clusterLocation(api: Pick<KubeApi, 'get'>, flags: ClusterLocation, logger: Logger): Promise<ClusterLocation> {
  const zone = flags.zone ?? (await property(api, PROPERTY_ZONE, logger));
  const region = flags.region ?? (await property(api, PROPERTY_REGION, logger));
  return { zone, region };
}
