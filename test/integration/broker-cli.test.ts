// The `plexus broker …` commands as real processes: `node bin/plexus.ts` for init, start
// (SIGTERM to stop), and the admin commands talking to the running broker over its API.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runPlexus, type PlexusRun } from '../support/plexus-process.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';

const repo = resolve(import.meta.dirname, '../..');
const bin = join(repo, 'bin/plexus.ts');

type Run = PlexusRun;
const plexus = (...args: string[]): Promise<Run> => runPlexus(args);

function expectFailure(r: Run, code: string): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(code);
}

describe('plexus broker CLI', () => {
  let root: string;
  let dataDir: string;
  let server: ChildProcess | undefined;
  let fingerprint: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'plexus-cli-it-'));
    dataDir = join(root, 'broker');
    const init = await plexus('broker', 'init', '--data-dir', dataDir, '--clusterset', 'acme.example', '--output', 'json');
    expect(init.code).toBe(0);
    fingerprint = (JSON.parse(init.stdout) as { caFingerprint: string }).caFingerprint;
    server = spawn(process.execPath, [bin, 'broker', 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'warn'], { cwd: repo, stdio: 'ignore' });
    await waitFor(() => existsSync(join(dataDir, 'broker.json')), { what: 'broker.json' });
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('init lays out a private data directory and refuses to run twice', async () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'ca/root.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'admin/admin.key')).mode & 0o777).toBe(0o600);
    const rootCert = readFileSync(join(dataDir, 'ca/root.crt'), 'utf8');
    expectFailure(await plexus('broker', 'init', '--data-dir', dataDir, '--clusterset', 'other.example'), 'PLX_BROKER_ALREADY_INITIALIZED');
    expect(readFileSync(join(dataDir, 'ca/root.crt'), 'utf8')).toBe(rootCert);
  });

  it('init rejects a clusterset that is not a DNS name and creates nothing', async () => {
    const target = join(root, 'bad');
    expectFailure(await plexus('broker', 'init', '--data-dir', target, '--clusterset', 'Not_A_Name'), 'PLX_BROKER_VALIDATION');
    expect(existsSync(target)).toBe(false);
  });

  it('creates, lists and revokes tokens through the running broker', async () => {
    const created = await plexus('broker', 'token', 'create', '--data-dir', dataDir, '--cluster', 'east-1', '--ttl', '30m', '-o', 'json');
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout) as { token: string; id: string; caFingerprint: string; joinCommand: string; expiresAt: string };
    expect(out.caFingerprint).toBe(fingerprint);
    expect(out.joinCommand).toContain(`--token ${out.token}`);
    expect(out.joinCommand).toContain(`--ca-fingerprint ${fingerprint}`);
    expect(out.joinCommand).toContain('--cluster-id east-1');

    const table = await plexus('broker', 'token', 'create', '--data-dir', dataDir, '--cluster', 'west-1');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('plexus agent join --broker https://127.0.0.1:');

    const list = await plexus('broker', 'token', 'list', '--data-dir', dataDir, '-o', 'json');
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(out.token.split('.')[2]);
    const tokens = (JSON.parse(list.stdout) as { tokens: { id: string; state: string }[] }).tokens;
    expect(tokens.find((t) => t.id === out.id)?.state).toBe('pending');

    const { url } = JSON.parse(readFileSync(join(dataDir, 'broker.json'), 'utf8')) as { url: string };
    expect((await plexus('broker', 'token', 'list', '--data-dir', dataDir, '--broker', url)).code).toBe(0);
    expectFailure(await plexus('broker', 'token', 'list', '--data-dir', dataDir, '--broker', 'https://127.0.0.1:1'), 'PLX_BROKER_UNREACHABLE');

    const revoked = await plexus('broker', 'token', 'revoke', out.id, '--data-dir', dataDir, '-o', 'json');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: out.id, state: 'revoked' });
    expect((await plexus('broker', 'token', 'revoke', out.id, '--data-dir', dataDir)).code).toBe(0);
    expectFailure(await plexus('broker', 'token', 'revoke', 'zzzzzzzz', '--data-dir', dataDir), 'PLX_BROKER_NOT_FOUND');
    expectFailure(await plexus('broker', 'token', 'create', '--data-dir', dataDir, '--cluster', 'east-1', '--ttl', '8d'), 'PLX_BROKER_VALIDATION');
  });

  it('enrolls a cluster with the printed join command, then lists and removes it', async () => {
    const created = await plexus('broker', 'token', 'create', '--data-dir', dataDir, '--cluster', 'north-1', '-o', 'json');
    const { joinCommand } = JSON.parse(created.stdout) as { joinCommand: string };
    const [program, ...args] = joinCommand.split(' ');
    expect(program).toBe('plexus');
    const joined = await plexus(...args, '--data-dir', join(root, 'agent-north-1'), '-o', 'json');
    expect(joined.stderr).toBe('');
    expect(joined.code).toBe(0);

    const list = await plexus('broker', 'cluster', 'list', '--data-dir', dataDir, '-o', 'json');
    expect((JSON.parse(list.stdout) as { clusters: unknown[] }).clusters).toEqual([expect.objectContaining({ id: 'north-1', state: 'active' })]);
    const table = await plexus('broker', 'cluster', 'list', '--data-dir', dataDir);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATE/);
    expect(table.stdout).toContain('north-1');

    const removed = await plexus('broker', 'cluster', 'remove', 'north-1', '--data-dir', dataDir, '-o', 'json');
    expect(JSON.parse(removed.stdout)).toMatchObject({ id: 'north-1', state: 'removed' });
    expect((await plexus('broker', 'cluster', 'remove', 'north-1', '--data-dir', dataDir)).code).toBe(0);
    expectFailure(await plexus('broker', 'cluster', 'remove', 'ghost-1', '--data-dir', dataDir), 'PLX_BROKER_NOT_FOUND');
  });

  it('start reports a missing data dir and bad flags with stable codes', async () => {
    expectFailure(await plexus('broker', 'start', '--data-dir', join(root, 'missing'), '--listen', '127.0.0.1:0'), 'PLX_BROKER_NOT_INITIALIZED');
    expectFailure(await plexus('broker', 'start', '--data-dir', dataDir, '--listen', 'nope', '--san', 'Bad_Name'), 'PLX_BROKER_CONFIG_INVALID');
  });

  it('prints help with examples', async () => {
    const help = await plexus('broker', 'cluster', 'remove', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Example:');
  });

  it('stops gracefully on SIGTERM and then admin commands report the broker unreachable', async () => {
    server!.kill('SIGTERM');
    const [code] = (await once(server!, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(existsSync(join(dataDir, 'broker.json'))).toBe(false);
    expectFailure(await plexus('broker', 'token', 'list', '--data-dir', dataDir), 'PLX_BROKER_UNREACHABLE');
  });
});
