// The compile cache the image fills at build time (Dockerfile, bin/warm-compile-cache.ts):
// real processes, a real cache directory. A process that finds its modules in the cache
// never brings up Node's TypeScript stripper, which otherwise stays resident (about
// 20 MiB) for the life of every agent and broker (bench:footprint).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCommand } from '../support/plexus-process.ts';

/** Imports the modules each role's process loads, as bin/plexus.ts does, then names the stripper if it was loaded. */
const probe = `
  for (const m of ['agent/kube/client-node-slim.ts', 'certs/setup.ts', 'cli/program.ts', 'agent/main.ts', 'broker/main.ts']) await import(${JSON.stringify(repoRoot)} + '/' + m);
  process.stdout.write(process.moduleLoadList.filter((m) => m.includes('amaro')).join(',') || 'none');
`;

describe('compile cache', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-compile-cache-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('agent and broker modules load without the TypeScript stripper once bin/warm-compile-cache.ts filled the cache (every process loaded it, about 20 MiB resident)', async () => {
    const { NODE_COMPILE_CACHE: _, ...noCache } = process.env;
    const cold = await runCommand(process.execPath, ['--input-type=module', '-e', probe], noCache);
    expect(cold.stdout).toContain('amaro');

    const env = { ...noCache, NODE_COMPILE_CACHE: dir };

    const warm = await runCommand(process.execPath, [path.join(repoRoot, 'bin', 'warm-compile-cache.ts')], env);
    expect(warm.stderr).toMatch(/warm-compile-cache: \d+ modules in /);
    expect(warm.code).toBe(0);
    const run = await runCommand(process.execPath, ['--input-type=module', '-e', probe], env);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('none');
  }, 180_000);

  it('warm-compile-cache refuses to run without NODE_COMPILE_CACHE, rather than filling nothing silently', async () => {
    const { NODE_COMPILE_CACHE: _, ...noCache } = process.env;
    const run = await runCommand(process.execPath, [path.join(repoRoot, 'bin', 'warm-compile-cache.ts')], noCache);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/NODE_COMPILE_CACHE is not set/);
  }, 60_000);
});
