import { describe, expect, it } from 'vitest';
import { pinnedVersions, resolveBinaries } from './binaries.ts';
import type { HarnessError } from './errors.ts';

describe('resolveBinaries', () => {
  it('finds the pinned binaries in the cache', () => {
    const bins = resolveBinaries();
    expect(bins.dir.endsWith(`/k8s/v${pinnedVersions().K8S_VERSION}`)).toBe(true);
  });

  it('fails with PLX_HARNESS_BINARIES_MISSING, naming the install command, when the cache is empty', () => {
    let error: HarnessError | undefined;
    try {
      resolveBinaries({ PLEXUS_CACHE_DIR: '/nonexistent/plexus-cache' });
    } catch (err) {
      error = err as HarnessError;
    }
    expect(error?.code).toBe('PLX_HARNESS_BINARIES_MISSING');
    // The command in the message is the contract here: it tells a developer what to run.
    expect(error?.message).toContain('npm run control-plane:install');
  });
});
