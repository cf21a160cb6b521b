// Each role's process loads only the libraries it needs: one `plexus` program serves both
// roles, and a static import chain once made the broker load the whole Kubernetes client
// (about 50 MiB resident, for a YAML parser used by `broker rbac apply`) and every agent
// load the broker's fastify server (bench:footprint). Checked in a fresh Node process
// whose resolve hook records every package imported.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');

/** Packages (bare specifiers, not node: builtins) resolved while importing `entry` and running `then`. */
function packagesLoadedBy(entry: string, then = ''): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(spec, ctx, next) {
      if (!/^(node:|\\.|\\/|file:)/.test(spec)) seen.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      return next(spec, ctx);
    } });
    const m = await import(${JSON.stringify(path.join(repo, entry))});
    ${then}
    process.stdout.write(JSON.stringify([...seen].sort()));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' })) as string[];
}

/** Files of @kubernetes/client-node (paths below its dist/) loaded by importing `entries` in order. */
function clientNodeFilesLoadedBy(entries: string[]): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ load(url, ctx, next) {
      const m = /\\/@kubernetes\\/client-node\\/dist\\/(.*)$/.exec(url);
      if (m) seen.add(m[1]);
      return next(url, ctx);
    } });
    for (const e of ${JSON.stringify(entries.map((e) => path.join(repo, e)))}) await import(e);
    process.stdout.write(JSON.stringify([...seen].sort()));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' })) as string[];
}

// Loading the Kubernetes client alone takes seconds on a busy 2-core machine.
const LOAD_TIMEOUT_MS = 60_000;

describe('libraries loaded per role', () => {
  it('building the plexus program loads neither the Kubernetes client nor the broker server (broker start loaded @kubernetes/client-node, agent run loaded fastify)', () => {
    const loaded = packagesLoadedBy('cli/program.ts', 'm.buildProgram();');
    expect(loaded).not.toContain('@kubernetes/client-node');
    expect(loaded).not.toContain('fastify');
    // Only the commands that write a PKCS#12 load it.
    expect(loaded).not.toContain('node-forge');
  }, LOAD_TIMEOUT_MS);

  it('the broker server does not load the Kubernetes client', () => {
    expect(packagesLoadedBy('broker/main.ts')).not.toContain('@kubernetes/client-node');
  }, LOAD_TIMEOUT_MS);

  it('the agent does not load client-node\'s generated API index or models (KubeConfig, ListWatch and the Secret store pulled in every generated API and model, about 40 MiB of an idle agent)', () => {
    // As bin/plexus.ts runs it: the resolve hook first, then the agent.
    const loaded = clientNodeFilesLoadedBy(['agent/kube/client-node-slim.ts', 'agent/main.ts', 'agent/kube/secrets.ts']);
    expect(loaded).toContain('config.js');
    expect(loaded).not.toContain('index.js');
    expect(loaded).not.toContain('gen/index.js');
    expect(loaded).toContain('cache.js');
    expect(loaded).not.toContain('serializer.js');
    expect(loaded.filter((f) => /^gen\/(apis|types|models)\//.test(f))).toEqual([]);
  }, LOAD_TIMEOUT_MS);

  it('bin/plexus.ts registers the client-node resolve hook before it loads anything else', () => {
    const imports = readFileSync(path.join(repo, 'bin', 'plexus.ts'), 'utf8').match(/^import .*$/gm) ?? [];
    expect(imports[0]).toBe("import '../agent/kube/client-node-slim.ts';");
  });

  it('the agent does not load the broker server', () => {
    expect(packagesLoadedBy('agent/main.ts')).not.toContain('fastify');
  }, LOAD_TIMEOUT_MS);

  it('the gateway loads neither the Kubernetes client nor the broker server', () => {
    const loaded = packagesLoadedBy('gateway/main.ts');
    expect(loaded).not.toContain('@kubernetes/client-node');
    expect(loaded).not.toContain('fastify');
  }, LOAD_TIMEOUT_MS);
});
