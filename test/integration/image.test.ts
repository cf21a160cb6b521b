// The container image, checked without a Docker engine (there is none on CI): the
// Dockerfile's base, user, volume and HEALTHCHECK; that every file the `plexus` program
// loads at run time (sources and assets, followed from bin/plexus.ts) is copied into the
// image and every package it imports is a production dependency; that the HEALTHCHECK
// command works against a real broker; and that every container in deploy/ runs with a
// read-only root filesystem as a non-root user.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plexus, plexusDaemon, repoRoot, runPlexus } from '../support/plexus-process.ts';
import { waitFor } from '../harness/wait-for.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';

const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const finalStage = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));

/** Every repo file reachable from `entry` through relative imports and `new URL('…', import.meta.url)` assets. */
function runtimeFiles(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [path.join(repoRoot, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    if (!file.endsWith('.ts')) continue;
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^\s*(?:(?:import|export)\s+(?!type\b)[^;'"()]*?\bfrom\s+|import\s+)['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) queue.push(path.resolve(path.dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
    for (const m of src.matchAll(/await import\(['"](\.[^'"]+)['"]\)/g)) queue.push(path.resolve(path.dirname(file), m[1]!));
    for (const m of src.matchAll(/new URL\(['"](\.{0,2}\/?[^'"]+)['"], import\.meta\.url\)/g)) queue.push(path.resolve(path.dirname(file), m[1]!));
  }
  return { files, packages };
}

/**
 * Every file the final stage's COPY instructions put into the image: the named sources,
 * walked, minus what .dockerignore excludes (a pattern excludes a path when it matches the
 * path or one of its parent directories, as the build context does).
 */
function copiedFiles(): string[] {
  const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  // Exceptions (`!pattern`) would re-include paths; this check does not model them, so refuse them.
  expect(ignore.filter((l) => l.startsWith('!'))).toEqual([]);
  const ignored = (rel: string) => rel.split('/').some((_, i, parts) => ignore.some((g) => path.matchesGlob(parts.slice(0, i + 1).join('/'), g)));
  const sources = finalStage.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  const files: string[] = [];
  for (const source of sources) {
    const walked = statSync(path.join(repoRoot, source)).isDirectory()
      ? readdirSync(path.join(repoRoot, source), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
        .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)))
      : [source];
    files.push(...walked.filter((f) => !ignored(f)));
  }
  return files;
}

describe('container image', () => {
  it('runs Node 24 slim as the unprivileged node user, with a /data volume and a HEALTHCHECK through plexus health', () => {
    expect(instructions.filter((l) => l.startsWith('FROM ')).every((l) => /^FROM node:24-slim\b/.test(l))).toBe(true);
    const user = finalStage.findIndex((l) => l.startsWith('USER '));
    expect(finalStage[user]).toBe('USER node:node');
    expect(user).toBeLessThan(finalStage.findIndex((l) => l.startsWith('ENTRYPOINT ')));
    expect(finalStage).toContain('VOLUME ["/data"]');
    const health = finalStage.find((l) => l.startsWith('HEALTHCHECK '));
    expect(health).toMatch(/CMD \["node", "\/app\/bin\/plexus\.ts", "health"/);
    expect(finalStage.some((l) => /\b(curl|wget)\b/.test(l))).toBe(false);
  });

  it('copies every file the program loads, and installs every package it imports', () => {
    const copied = finalStage.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).map((l) => l.split(/\s+/)[1]!);
    const { files, packages } = runtimeFiles('bin/plexus.ts');
    expect(files.size).toBeGreaterThan(100);
    const missing = [...files].map((f) => path.relative(repoRoot, f)).filter((f) => !copied.some((c) => f === c || f.startsWith(`${c}/`)) || f.endsWith('.test.ts'));
    expect(missing).toEqual([]);
    for (const f of files) expect(existsSync(f), f).toBe(true);
    expect([...files].some((f) => f.endsWith('dashboard.js'))).toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect([...packages].filter((p) => !(p in pkg.dependencies)).sort()).toEqual([]);
  });

  it('fills Node\'s compile cache from the sources it ships as the node user (filled as root, it was never used: Node keeps one cache per user id), and points every process at it', () => {
    const env = finalStage.findIndex((l) => l === 'ENV NODE_COMPILE_CACHE=/app/.compile-cache');
    const fill = finalStage.findIndex((l) => l === 'RUN node bin/warm-compile-cache.ts');
    expect(env).toBeGreaterThan(-1);
    expect(fill).toBeGreaterThan(env);
    // After every COPY of sources (an entry is checked against its source), as the user that runs the program.
    expect(fill).toBeGreaterThan(finalStage.findLastIndex((l) => l.startsWith('COPY ')));
    expect(fill).toBeGreaterThan(finalStage.findIndex((l) => l === 'USER node:node'));
    expect(finalStage.find((l) => l.startsWith('RUN mkdir '))).toMatch(/mkdir -p [^&]*\/app\/\.compile-cache && chown node:node [^&]*\/app\/\.compile-cache/);
    const copied = finalStage.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).map((l) => l.split(/\s+/)[1]!);
    const missing = [...runtimeFiles('bin/warm-compile-cache.ts').files].map((f) => path.relative(repoRoot, f)).filter((f) => !copied.some((c) => f.startsWith(`${c}/`)));
    expect(missing).toEqual([]);
  });

  it('copies no test code: no *.test.ts and nothing of test/ (the test/support/ fakes, the harness)', () => {
    const copied = copiedFiles();
    expect(copied.length).toBeGreaterThan(100);
    expect(copied).toContain('agent/kube/informer.ts');
    expect(copied.filter((f) => f.endsWith('.test.ts') || f === 'test' || f.startsWith('test/'))).toEqual([]);
    // The fakes once lived beside the code they stand in for; none may come back into a copied folder.
    expect(copied.filter((f) => /(^|\/)(fake-[^/]*|test-certs|issue-reference)\.ts$/.test(f))).toEqual([]);
  });

  it('every container in deploy/ has a read-only root filesystem and runs as non-root', () => {
    const dir = path.join(repoRoot, 'deploy');
    const manifests = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('deployment.yaml') || f.endsWith('statefulset.yaml'));
    expect(manifests.length).toBeGreaterThanOrEqual(3);
    for (const f of manifests) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      const containers = text.match(/^\s+- name: [a-z-]+\n\s+image: /gm) ?? [];
      const readOnly = text.match(/readOnlyRootFilesystem: true/g) ?? [];
      const anchored = text.match(/securityContext: \*[a-z]+/g) ?? [];
      expect(containers.length, f).toBeGreaterThan(0);
      expect(readOnly.length + anchored.length, f).toBe(containers.length);
      expect(text, f).toMatch(/runAsNonRoot: true/);
    }
  });
});

describe('plexus health (the image HEALTHCHECK) against a real broker', () => {
  let dir = '';
  let broker: ChildProcess | undefined;
  let url = '';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-health-'));
    const data = path.join(dir, 'broker');
    await plexus(['broker', 'init', '--data-dir', data, '--clusterset', 'health.example']);
    broker = plexusDaemon(['broker', 'start', '--data-dir', data, '--listen', '127.0.0.1:0'], 'ignore');
    url = await waitFor(async () => {
      const f = path.join(data, 'broker.json');
      return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { url: string }).url : undefined;
    }, { what: 'broker.json', timeoutMs: 30_000 });
  });
  afterAll(() => {
    broker?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 for a live broker, given its URL by flag or environment', async () => {
    const byFlag = await runPlexus(['health', '--url', `${url}/healthz`]);
    expect(byFlag).toMatchObject({ code: 0, stdout: `healthy: ${url}/healthz\n` });
    const byEnv = await runPlexus(['health', '--quiet'], { env: { PLEXUS_HEALTH_URL: `${url}/healthz` } });
    expect(byEnv).toMatchObject({ code: 0, stdout: '' });
  });

  it('exits 1 with PLX_HEALTH_UNHEALTHY when nothing answers, and PLX_HEALTH_BAD_ARGUMENT for a bad URL', async () => {
    const down = await runPlexus(['health', '--url', 'http://127.0.0.1:1/healthz']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error \[PLX_HEALTH_UNHEALTHY\]: no healthy endpoint: http:\/\/127\.0\.0\.1:1\/healthz: ECONNREFUSED/);
    const bad = await runPlexus(['health', '--url', 'ftp://x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \[PLX_HEALTH_BAD_ARGUMENT\]/);
  });
});
