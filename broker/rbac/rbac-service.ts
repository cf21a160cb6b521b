// The RBAC baseline at the broker: validated, revisioned, targeted by cluster labels,
// and the compliance each agent reports. Every change that may alter what a cluster
// should hold (a new revision, a label change) is announced on the catalog watch stream,
// so agents refetch at once; the store is written before the announcement.
import type { Logger } from 'pino';
import type { ClusterInfo } from '../api/types.ts';
import {
  rbacStatusReportSchema,
  type RbacApplyResponse, type RbacBaselineInfo, type RbacClusterBaseline, type RbacCompliance, type RbacComplianceResponse,
  type RbacDiffResponse, type RbacStatusReport, type RbacTarget,
} from '../api/rbac.ts';
import type { Clock } from '../clock.ts';
import { toClusterInfo } from '../enroll/membership.ts';
import { BrokerError } from '../errors.ts';
import type { ClusterRecord } from '../enroll/enroll-store.ts';
import type { RbacStore } from './rbac-store.ts';
import { buildDocument, documentHash, targets, type BaselineDocument } from './baseline.ts';
import { diffCluster } from './diff.ts';
import { validateBaseline } from './validate.ts';

/** What the RBAC baseline needs from durable state: its own records and the members it targets. */
export interface RbacServiceStore {
  readonly rbac: RbacStore;
  getCluster(id: string): Promise<ClusterRecord | undefined>;
  listClusters(): Promise<ClusterRecord[]>;
}

export interface RbacServiceDeps {
  readonly store: RbacServiceStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Tells agents to refetch (the catalog's `rbac` watch event). */
  readonly announce: (rbacRevision: number) => unknown;
}

export interface ApplyInput {
  readonly objects: readonly unknown[];
  readonly target: RbacTarget;
  readonly allowKubeSystem: boolean;
}

const EMPTY: BaselineDocument = { target: { all: true }, allowKubeSystem: false, entries: [] };
const EMPTY_HASH = documentHash(EMPTY);

type StatusReport = { readonly report: RbacStatusReport; readonly reportedAt: Date };

export class RbacService {
  readonly #d: RbacServiceDeps;
  /**
   * Each agent's last status report, parsed: read from the store once here and kept in step
   * by report(), the only writer. compliance() runs on every metrics scrape and dashboard
   * poll; re-reading and re-validating every stored report there cost ~90 ms at 1000 clusters.
   */
  readonly #statuses = new Map<string, StatusReport>();
  /** The current revision's document, parsed (read-only: callers copy what they hand out). */
  #parsed: { readonly revision: number; readonly hash: string; readonly doc: BaselineDocument } | undefined;

  /** Reads the agents' last reports once; compliance() then answers from memory. */
  static async open(deps: RbacServiceDeps): Promise<RbacService> {
    const service = new RbacService(deps);
    for (const s of await deps.store.rbac.statuses()) {
      const parsed = rbacStatusReportSchema.safeParse(JSON.parse(s.report));
      if (parsed.success) service.#statuses.set(s.cluster, { report: parsed.data, reportedAt: s.reportedAt });
    }
    return service;
  }

  private constructor(deps: RbacServiceDeps) {
    this.#d = deps;
  }

  async #current(): Promise<{ revision: number; hash: string; doc: BaselineDocument; createdAt: Date | null }> {
    const stored = await this.#d.store.rbac.current();
    if (!stored) return { revision: 0, hash: EMPTY_HASH, doc: EMPTY, createdAt: null };
    // Parsed once per revision: when one lands, every agent fetches its baseline at once
    // (measured: 1000 fetches of a 200-object baseline took 0.7 s parsing the same document).
    if (this.#parsed?.revision !== stored.revision || this.#parsed.hash !== stored.hash) {
      this.#parsed = { revision: stored.revision, hash: stored.hash, doc: JSON.parse(stored.document) as BaselineDocument };
    }
    return { ...this.#parsed, createdAt: stored.createdAt };
  }

  async revision(): Promise<number> {
    return (await this.#current()).revision;
  }

  /** Validates everything first; a rejected baseline stores nothing. */
  #plan(input: ApplyInput): BaselineDocument {
    const { objects, problems } = validateBaseline(input.objects, { allowKubeSystem: input.allowKubeSystem });
    if (problems.length > 0) {
      const summary = problems.slice(0, 5).map((p) => `${p.object}: ${p.code}: ${p.message}`).join('; ');
      const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
      throw new BrokerError('PLX_BROKER_RBAC_REJECTED', `baseline rejected: ${summary}${more}`, { details: problems });
    }
    return buildDocument(objects, input.target, input.allowKubeSystem);
  }

  /**
   * The new revision is appended only on the head it was planned on (compare-and-set): when
   * another writer appended first, re-read and try again, so two applies never share a number
   * and identical content still makes no new revision.
   */
  async apply(input: ApplyInput): Promise<RbacApplyResponse> {
    const doc = this.#plan(input);
    const hash = documentHash(doc);
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.#current();
      if (cur.hash === hash) return { revision: cur.revision, created: false, hash, objects: doc.entries.length };
      const revision = cur.revision + 1;
      if (await this.#d.store.rbac.insert({ revision, hash, document: JSON.stringify(doc), createdAt: this.#d.clock.now() })) {
        return this.#created(revision, hash, doc);
      }
    }
    throw new BrokerError('PLX_BROKER_CONFLICT', 'the RBAC baseline kept changing while this one was stored; retry');
  }

  async #created(revision: number, hash: string, doc: BaselineDocument): Promise<RbacApplyResponse> {
    this.#d.logger.info({ revision, objects: doc.entries.length, target: doc.target }, 'rbac baseline revision stored');
    await this.#d.announce(revision);
    return { revision, created: true, hash, objects: doc.entries.length };
  }

  async info(): Promise<RbacBaselineInfo> {
    const cur = await this.#current();
    return { revision: cur.revision, hash: cur.hash, ...cur.doc, createdAt: cur.createdAt?.toISOString() ?? null, entries: [...cur.doc.entries] };
  }

  async baselineFor(cluster: string): Promise<RbacClusterBaseline> {
    const cur = await this.#current();
    const targeted = targets(cur.doc.target, await this.#d.store.rbac.labels(cluster));
    return { revision: cur.revision, targeted, entries: targeted ? [...cur.doc.entries] : [] };
  }

  /** `report` was validated by the route (rbacStatusReportSchema). */
  async report(cluster: string, report: RbacStatusReport): Promise<void> {
    const reportedAt = this.#d.clock.now();
    await this.#d.store.rbac.putStatus({ cluster, report: JSON.stringify(report), reportedAt });
    this.#statuses.set(cluster, { report, reportedAt });
  }

  #reports(): ReadonlyMap<string, StatusReport> {
    return this.#statuses;
  }

  async #activeClusters(): Promise<{ id: string; labels: Record<string, string> }[]> {
    return (await this.#d.store.listClusters()).filter((c) => c.state === 'active').map((c) => ({ id: c.id, labels: { ...c.labels } }));
  }

  /** A dry run: `input` (or, without it, the current revision) against each agent's last report. */
  async diff(input?: ApplyInput): Promise<RbacDiffResponse> {
    const cur = await this.#current();
    const doc = input ? this.#plan(input) : cur.doc;
    const reports = this.#reports();
    const clusters = (await this.#activeClusters()).map((c) => {
      const desired = targets(doc.target, c.labels) ? doc.entries : [];
      const r = reports.get(c.id)?.report;
      return { cluster: c.id, known: r !== undefined, changes: diffCluster(desired, r) };
    });
    return { revision: cur.revision, clusters };
  }

  async compliance(): Promise<RbacComplianceResponse> {
    const cur = await this.#current();
    const reports = this.#reports();
    const clusters = (await this.#activeClusters()).map((c): RbacCompliance => {
      const r = reports.get(c.id);
      const report = r?.report ?? null;
      const appliedRevision = report?.appliedRevision ?? null;
      const clashes = report?.clashes.length ?? 0;
      const errors = report?.errors.length ?? 0;
      return {
        cluster: c.id, labels: c.labels, targeted: targets(cur.doc.target, c.labels), currentRevision: cur.revision, appliedRevision,
        compliant: (appliedRevision ?? 0) >= cur.revision && clashes === 0 && errors === 0 && (cur.revision === 0 || appliedRevision !== null),
        driftCount: report?.driftCount ?? 0, clashes, errors, reportedAt: r?.reportedAt.toISOString() ?? null, report,
      };
    });
    return { revision: cur.revision, clusters };
  }

  /** Sets and removes cluster labels; agents refetch, since targeting may have changed. */
  async label(cluster: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<ClusterInfo> {
    // The existence check is part of the write: no label lands on a cluster unknown at that moment.
    if (!(await this.#d.store.rbac.updateLabels(cluster, set, remove))) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no cluster "${cluster}"`);
    await this.#d.announce((await this.#current()).revision);
    const labelled = await this.#d.store.getCluster(cluster);
    if (!labelled) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no cluster "${cluster}"`);
    return toClusterInfo(labelled);
  }
}
