// Reconciles one ServiceExport (namespace/name), level-based: reads the ServiceExport,
// Service and EndpointSlices from the caches, publishes or withdraws the export at the
// broker, and writes Valid/Ready/Conflict only when they changed.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type {
  ExportSpec, ExportSpecInput, ExportSyncRequest, ExportWriteResponse, MergedService,
} from '../../../broker/api/catalog.ts';
import type { ServiceExport } from '../../../crds/types.ts';
import { AgentError } from '../../errors.ts';
import type { Clock } from '../../timing/clock.ts';
import { conditionsEqual, mergeConditions, type DesiredCondition } from '../../kube/conditions.ts';
import { TerminalError, type ReconcileContext, type Reconciler, type Result } from '../../kube/controller.ts';
import { parseKey } from '../../kube/object-key.ts';
import { INDEX_SERVICE_NAME, SERVICE_EXPORTS } from '../../kube/resources.ts';
import type { StatusWriter } from '../../kube/status-writer.ts';
import type { AgentMetrics } from '../../metrics/agent-metrics.ts';
import { conflictCondition, crossNetworkCondition, readyCondition, validCondition, type PublishOutcome } from './export-conditions.ts';
import { buildExportSpec } from './export-spec.ts';

/** The broker calls this controller makes (BrokerClient satisfies it). */
export interface ExportPublisher {
  putExport(spec: ExportSpecInput): Promise<ExportWriteResponse>;
  deleteExport(namespace: string, name: string): Promise<ExportWriteResponse>;
  syncExports(body: ExportSyncRequest): Promise<unknown>;
}

/** The merged view of a service across clusters (agent/catalog/ satisfies it). */
export interface MergedServiceSource {
  get(namespace: string, name: string): MergedService | undefined;
  onChange(cb: (namespace: string, name: string) => void): void;
}

/** Read-only caches the reconciler reads (Informers satisfy them). */
export interface ExportCaches {
  serviceExports: { get(namespace: string, name: string): ServiceExport | undefined };
  services: { get(namespace: string, name: string): V1Service | undefined };
  endpointSlices: { byIndex(index: string, value: string): V1EndpointSlice[] };
}

export interface ServiceExportReconcilerDeps {
  clusterId: string;
  caches: ExportCaches;
  broker: ExportPublisher;
  mergedServices: MergedServiceSource;
  status: Pick<StatusWriter, 'apply'>;
  clock: Clock;
  /** How soon to try again after the broker refused an export (default 5 min). */
  rejectedRetryMs?: number;
  /** Accepted exports and exports in conflict, as gauges. */
  metrics?: Pick<AgentMetrics, 'exports' | 'conflicts'>;
  /** The networks of the fleet other than this cluster's (agent/network/NetworkView); absent = one network. */
  networks?: { otherNetworks(): string[] } | undefined;
}

interface Published { spec?: string; service?: MergedService | null }

export class ServiceExportReconciler implements Reconciler {
  readonly #d: ServiceExportReconcilerDeps;
  /** Exports that may be at the broker, with the last spec it accepted. */
  readonly #published = new Map<string, Published>();
  /** Exports whose last written status carried a Conflict condition. */
  readonly #conflicted = new Set<string>();

  constructor(d: ServiceExportReconcilerDeps) {
    this.#d = d;
  }

  /** After the start-up sync: these exports are at the broker (their specs are re-put once). */
  markPublished(keys: Iterable<string>): void {
    for (const k of keys) this.#published.set(k, {});
  }

  async reconcile(key: string, { log }: ReconcileContext): Promise<Result> {
    const ref = parseKey(key);
    if (!ref?.namespace) throw new TerminalError(`malformed ServiceExport key "${key}"`);
    const { namespace, name } = ref;
    const se = this.#d.caches.serviceExports.get(namespace, name);
    if (!se || se.metadata?.deletionTimestamp) return this.#withdraw(key, namespace, name, log);
    const gen = se.metadata?.generation;
    const service = this.#d.caches.services.get(namespace, name);
    const valid = validCondition(service, gen, se.metadata?.annotations);
    if (valid.status !== 'True' || !service) {
      await this.#writeStatus(se, [valid, readyCondition({ kind: 'invalid' }, gen)]);
      return this.#withdraw(key, namespace, name, log);
    }
    const slices = this.#d.caches.endpointSlices.byIndex(INDEX_SERVICE_NAME, `${namespace}/${name}`);
    const built = buildExportSpec({ clusterId: this.#d.clusterId, serviceExport: se, service, slices });
    if (!built.ok) {
      await this.#writeStatus(se, [valid, readyCondition({ kind: 'failed', message: `cannot export: ${built.problem}` }, gen)]);
      await this.#withdraw(key, namespace, name, log);
      throw new TerminalError(`invalid export: ${built.problem}`);
    }
    const { outcome, merged, error } = await this.#publish(key, built.spec, log);
    const conflict = conflictCondition(merged ?? this.#d.mergedServices.get(namespace, name), this.#d.clusterId, gen);
    const crossNetwork = crossNetworkCondition(service, this.#d.networks?.otherNetworks() ?? [], gen);
    await this.#writeStatus(se, [valid, readyCondition(outcome, gen), ...(conflict ? [conflict] : []), ...(crossNetwork ? [crossNetwork] : [])]);
    if (conflict?.status === 'True') this.#conflicted.add(key);
    else this.#conflicted.delete(key);
    this.#record();
    if (error) throw error;
    if (outcome.kind === 'failed') return { requeueAfterMs: this.#d.rejectedRetryMs ?? 300_000 };
    return undefined;
  }

  async #publish(key: string, spec: ExportSpec, log: ReconcileContext['log']): Promise<{ outcome: PublishOutcome; merged?: MergedService | null; error?: unknown }> {
    const text = JSON.stringify(spec);
    const prev = this.#published.get(key);
    if (prev?.spec === text) {
      // Already accepted: the catalog view is fresher than our last write response.
      return { outcome: { kind: 'exported' }, merged: this.#d.mergedServices.get(spec.namespace, spec.name) ?? prev.service };
    }
    try {
      const res = await this.#d.broker.putExport(spec);
      this.#published.set(key, { spec: text, service: res.service });
      log.info({ revision: res.revision, endpoints: spec.endpoints.length, type: spec.type }, 'export published');
      return { outcome: { kind: 'exported' }, merged: res.service };
    } catch (err) {
      if (isRetryable(err)) {
        // It may or may not have landed: remember it so a later delete still withdraws it.
        this.#published.set(key, {});
        return { outcome: { kind: 'pending', message: `waiting for the broker: ${(err as Error).message}` }, error: err };
      }
      const e = err as AgentError;
      return { outcome: { kind: 'failed', message: `broker refused the export${e.brokerCode ? ` [${e.brokerCode}]` : ''}: ${e.message}` } };
    }
  }

  async #withdraw(key: string, namespace: string, name: string, log: ReconcileContext['log']): Promise<Result> {
    if (this.#conflicted.delete(key)) this.#record();
    if (!this.#published.has(key)) return undefined;
    await this.#d.broker.deleteExport(namespace, name);
    this.#published.delete(key);
    this.#record();
    log.info('export withdrawn');
    return undefined;
  }

  #record(): void {
    const m = this.#d.metrics;
    if (!m) return;
    let accepted = 0;
    for (const p of this.#published.values()) if (p.spec !== undefined) accepted++;
    m.exports.set(accepted);
    m.conflicts.set(this.#conflicted.size);
  }

  async #writeStatus(se: ServiceExport, desired: DesiredCondition[]): Promise<void> {
    const previous = se.status?.conditions as unknown[] | undefined;
    const conditions = mergeConditions(previous, desired, this.#d.clock.now());
    if (conditionsEqual(previous, conditions)) return;
    await this.#d.status.apply(SERVICE_EXPORTS, se, { conditions } as unknown as NonNullable<ServiceExport['status']>);
  }
}

/** Transport failures and broker-side 5xx/429 are worth retrying; other refusals are not. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof AgentError)) return true;
  if (err.code === 'PLX_AGENT_BROKER_UNREACHABLE' || err.code === 'PLX_AGENT_BROKER_PROTOCOL') return true;
  if (err.code === 'PLX_AGENT_BROKER_REJECTED') return (err.status ?? 500) >= 500 || err.status === 429;
  return true;
}
