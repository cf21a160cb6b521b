// Core/v1 Events, in one shape for the whole agent (`kubectl describe` / `kubectl get
// events` readers see the same source, reporting component and timestamps from every
// part). The caller names each Event: applying it server-side under a stable name makes a
// repeat update the same Event instead of adding one. Recording is best effort: a
// failure is logged and never thrown, so an Event can never fail what it reports on.
import type { Logger } from 'pino';
import type { Clock } from '../timing/clock.ts';
import { rfc3339Seconds } from './conditions.ts';
import type { KubeApi } from './kube-api.ts';
import { EVENTS, type KubeObject } from './resources.ts';

/** The object an Event is about (`involvedObject`). */
export interface EventRegarding {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
}

export interface EventNote {
  /** Stable DNS-subdomain name: one Event per thing reported, updated on repeat. */
  readonly name: string;
  readonly namespace: string;
  readonly regarding: EventRegarding;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** The Event object for `note`, reported by this cluster's agent at `now`. */
export function eventObject(note: EventNote, now: Date, clusterId: string): KubeObject {
  const at = rfc3339Seconds(now);
  const { uid, ...regarding } = note.regarding;
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: note.name, namespace: note.namespace, labels: { 'app.kubernetes.io/managed-by': 'plexus' } },
    involvedObject: { ...regarding, ...(uid ? { uid } : {}) },
    type: note.type,
    reason: note.reason,
    message: note.message.slice(0, 1024),
    source: { component: 'plexus-agent' },
    reportingComponent: 'plexus.io/agent',
    reportingInstance: clusterId,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  } as KubeObject;
}

export interface EventRecorderDeps {
  readonly api: Pick<KubeApi, 'apply'>;
  readonly clock: Clock;
  readonly clusterId: string;
  readonly logger: Logger;
}

export class EventRecorder {
  readonly #d: EventRecorderDeps;

  constructor(d: EventRecorderDeps) {
    this.#d = d;
  }

  /** Applies the Event; resolves false (after a warning) when the API server refused it. */
  async record(note: EventNote): Promise<boolean> {
    try {
      await this.#d.api.apply(EVENTS, eventObject(note, this.#d.clock.now(), this.#d.clusterId));
      return true;
    } catch (err) {
      this.#d.logger.warn(
        { err: String((err as Error).message ?? err), namespace: note.namespace, event: note.name, reason: note.reason },
        'could not record a Kubernetes Event',
      );
      return false;
    }
  }
}
