// Vitest fixture for e2e suites: one mesh per file (or describe block), logs of every
// process saved to test-results/<file>/ when any test there failed.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { anyFailed, resultsDirFor, type SuiteLike } from '../../harness/use-clusters.ts';
import { Mesh, type MeshOptions } from './mesh.ts';

export function useMesh(o: MeshOptions, hooks: { startTimeoutMs?: number } = {}): { readonly mesh: Mesh } {
  let mesh: Mesh | undefined;
  let resultsDir = '';
  beforeAll(async (suite) => {
    resultsDir = resultsDirFor(suite as SuiteLike);
    rmSync(resultsDir, { recursive: true, force: true });
    mesh = await Mesh.start(o);
  }, hooks.startTimeoutMs ?? 240_000);
  afterAll(async (suite) => {
    if (!mesh) return;
    const failed = anyFailed(suite as SuiteLike);
    await mesh.stop(failed ? { saveLogsTo: resultsDir } : {});
    if (failed) console.error(`[e2e] a test failed; broker, agent and control-plane logs saved to ${resultsDir}`);
  }, 120_000);
  return {
    get mesh() {
      if (!mesh) throw new Error('the mesh exists only inside the tests of the block that called useMesh()');
      return mesh;
    },
  };
}
