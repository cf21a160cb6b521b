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
import { EventRecorder } from '../kube/event-recorder.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import type { RotationNotices } from './rotator.ts';

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
  readonly #recorder: EventRecorder;

  constructor(o: IdentityEventsOptions) {
    this.#o = o;
    this.#recorder = new EventRecorder({ api: o.api, clock: { now: o.now }, clusterId: o.clusterId, logger: o.logger });
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
    const name = `${target.object.name}.${reason.toLowerCase()}.${discriminator.replace(/[^a-z0-9]/g, '').slice(0, 32)}`;
    void this.#recorder.record({ name, namespace: target.namespace, regarding: target.object, type: 'Warning', reason, message })
      .then((ok) => { if (ok) this.#o.logger.info({ event: name, reason }, 'Kubernetes Event recorded'); });
  }
}
