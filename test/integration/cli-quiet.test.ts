// A user sees only Plexus's own output: no npm engine warnings when `npx plexus` is run with
// the machine's npm (whose Node may be older than the pinned Node 24 that Plexus runs on),
// and no library deprecation warnings from a running broker.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';
import { plexusBin, repoRoot, runCommand, runPlexus } from '../support/plexus-process.ts';

/** The environment of a user's shell on a fresh machine: no npm_* variables and no
 *  node_modules/.bin on PATH (npm scripts, and so this test run, add both), and an empty npm
 *  cache, so npx resolves the project again (that resolution is what checked engines). */
function userEnv(npmCache: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules')).join(delimiter);
  env.npm_config_cache = npmCache;
  return env;
}


describe('only Plexus output', () => {
  let root: string;
  beforeAll(() => { root = mkdtempSync(join(tmpdir(), 'plexus-quiet-')); });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('npx plexus with the machine npm prints no EBADENGINE warnings (noise in every command)', async () => {
    const r = await runCommand('npx', ['--no-install', 'plexus', '--version'], userEnv(join(root, 'npm-cache')));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.code).toBe(0);
  });

  it('broker start prints no FastifyDeprecation warning: every line is its own JSON log', async () => {
    const dataDir = join(root, 'broker');
    const init = await runPlexus(['broker', 'init', '--data-dir', dataDir, '--clusterset', 'quiet.example']);
    expect(init.code).toBe(0);
    const broker = spawn(process.execPath, [plexusBin, 'broker', 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    broker.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    broker.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    await waitFor(async () => (existsSync(join(dataDir, 'broker.json')) ? true : undefined), { timeoutMs: 30_000, what: 'broker.json' });
    broker.kill('SIGTERM');
    await once(broker, 'exit');
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(out).not.toMatch(/Deprecation|Warning:/);
  });
});
