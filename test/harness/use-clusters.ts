// Vitest fixture: `const lab = useClusters(2)` starts two clusters before the tests of the
// enclosing file or describe block and stops them after. When any test there failed (or
// the start itself failed), the component logs are copied to test-results/<file>/ and the
// path is printed.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Cluster } from './cluster.ts';
import type { ClusterSet } from './cluster-set.ts';
import { HarnessError } from './errors.ts';
import { startClusters } from './start-clusters.ts';
import type { StartOptions } from './start-clusters.ts';

type Task = { readonly name: string; readonly result?: { readonly state?: string }; readonly tasks?: readonly Task[] };
export type SuiteLike = Task & { readonly file?: { readonly filepath: string } };

export interface ClustersFixture {
  /** The running set; throws if read outside the tests of the block. */
  readonly set: ClusterSet;
  readonly clusters: readonly Cluster[];
  cluster(which: string | number): Cluster;
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'suite';
}

/** test-results/<test file name>/[<describe block>/] */
export function resultsDirFor(suite: SuiteLike): string {
  const filepath = suite.file?.filepath ?? 'unknown.test.ts';
  const base = path.basename(filepath).replace(/\.(test|spec)\.[cm]?[jt]s$/, '');
  const isFile = suite.file === undefined || (suite as unknown) === suite.file;
  return path.join(repoRoot, 'test-results', base, ...(isFile ? [] : [slug(suite.name)]));
}

export function anyFailed(task: Task): boolean {
  if (task.result?.state === 'fail') return true;
  return task.tasks?.some(anyFailed) ?? false;
}

export function useClusters(n: number, o: StartOptions = {}): ClustersFixture {
  let set: ClusterSet | undefined;
  let resultsDir = '';

  beforeAll(async (suite) => {
    resultsDir = resultsDirFor(suite as SuiteLike);
    rmSync(resultsDir, { recursive: true, force: true });
    try {
      set = await startClusters(n, { ...o, logsOnFailure: o.logsOnFailure ?? resultsDir });
    } catch (err) {
      console.error(`[harness] starting ${n} cluster(s) failed; component logs in ${resultsDir}`);
      throw err;
    }
  });

  afterAll(async (suite) => {
    if (!set) return;
    const failed = anyFailed(suite as SuiteLike);
    await set.stop(failed ? { saveLogsTo: resultsDir } : {});
    if (failed) console.error(`[harness] a test failed; component logs saved to ${resultsDir}`);
  });

  const running = (): ClusterSet => {
    if (!set || set.stopped) throw new HarnessError('PLX_HARNESS_STOPPED', 'clusters are available only inside the tests of the block that called useClusters()');
    return set;
  };
  return {
    get set() { return running(); },
    get clusters() { return running().clusters; },
    cluster: (which) => running().cluster(which),
  };
}
