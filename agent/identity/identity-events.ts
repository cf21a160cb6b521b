// Kubernetes Events about the cluster certificate, for operators who watch `kubectl get
// events` rather than agent logs: "expiring" when 10% of its life is left and it is not
// renewed yet, "renewal refused" when only a new `plexus agent join` can help. They are
// core/v1 Events regarding the identity Secret (the object an operator re-creates by
// joining again), in its namespace; with a file store, regarding the cluster's
// `cluster.clusterset.k8s.io` ClusterProperty, in `default`. One Event per certificate
// and reason (the name carries the serial), applied server-side so a repeat is a no-op.
// Best effort: a failure to record is logged, never thrown into rotation.
import type { Logger } from 'pino';
import { apiVersionOf, CLUSTER_PROPERTY } from '../../crds/types.ts';
import type { AgentConfig } from '../config.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import type { KubeObject, ResourceType } from '../kube/resources.ts';
import type { RotationNotices } from './rotator.ts';

const EVENT: ResourceType = { kind: 'Event', apiVersion: 'v1', plural: 'events', namespaced: true };
const COMPONENT = 'plexus-agent';

interface Regarding {
  readonly namespace: string;
  readonly object: { apiVersion: string; kind: string; name: string; namespace?: string };
}

export function eventTarget(identity: AgentConfig['identity']): Regarding {
  if (identity.kind === 'secret') {
    return { namespace: identity.namespace, object: { apiVersion: 'v1', kind: 'Secret', name: identity.name, namespace: identity.namespace } };
  }
  return { namespace: 'default', object: { apiVersion: apiVersionOf(CLUSTER_PROPERTY), kind: CLUSTER_PROPERTY.kind, name: 'cluster.clusterset.k8s.io' } };
}

export interface IdentityEventsOptions {
  readonly api: Pick<KubeApi, 'apply'>;
  readonly target: Regarding;
  readonly clusterId: string;
  readonly now: () => Date;
  readonly logger: Logger;
}

export class IdentityEvents implements RotationNotices {
  readonly #o: IdentityEventsOptions;

  constructor(o: IdentityEventsOptions) {
    this.#o = o;
  }

  expiring(o: { serial: string; notAfter: Date }): void {
    this.#record('CertificateExpiring', o.serial,
      `cluster certificate ${o.serial} of ${this.#o.clusterId} expires at ${o.notAfter.toISOString()} and is not renewed yet; check that the agent reaches the broker`);
  }

  refused(o: { code: string; message: string; notAfter: Date }): void {
    this.#record('CertificateRenewalRefused', o.notAfter.getTime().toString(36), `${o.code}: ${o.message}`);
  }

  #record(reason: string, discriminator: string, message: string): void {
    const { target } = this.#o;
    const now = this.#o.now().toISOString();
    const name = `${target.object.name}.${reason.toLowerCase()}.${discriminator.replace(/[^a-z0-9]/g, '').slice(0, 32)}`;
    const event = {
      metadata: { name, namespace: target.namespace, labels: { 'app.kubernetes.io/managed-by': 'plexus' } },
      involvedObject: target.object,
      type: 'Warning', reason, message,
      source: { component: COMPONENT },
      reportingComponent: `plexus.io/${COMPONENT}`, reportingInstance: this.#o.clusterId,
      firstTimestamp: now, lastTimestamp: now, count: 1,
    } as KubeObject;
    this.#o.api.apply(EVENT, event).then(
      () => this.#o.logger.info({ event: name, reason }, 'Kubernetes Event recorded'),
      (err: unknown) => this.#o.logger.warn({ err, event: name, reason }, 'cannot record a Kubernetes Event'),
    );
  }
}
