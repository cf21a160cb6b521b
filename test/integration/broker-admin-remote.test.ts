// Administering the broker from another machine: every admin command of `plexus` as a real
// process, run from a working directory and HOME with no data dir, with `--broker` +
// `--admin-p12` and with PLEXUS_BROKER + PLEXUS_ADMIN_P12, against a real broker over
// real TLS 1.3. The answers must equal those of the local form (`--data-dir` on the
// broker's disk). Bad credentials fail with one line and a stable code, before anything
// is sent; the broker itself refuses every identity but the admin's on admin routes.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths } from '../../broker/api/types.ts';
import { caPaths } from '../../broker/api/ca.ts';
import { fleetPaths } from '../../broker/api/fleet.ts';
import { userPaths, type InviteUserResponse } from '../../broker/api/users.ts';
import { runPlexus, type PlexusRun } from '../support/plexus-process.ts';
import { errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

const PASSWORD = 'adm1n p12 pass';

function expectFailure(r: PlexusRun, code: string): void {
  expect(r.code, r.stdout).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error \\[${code}\\]: `));
  expect(r.stderr).not.toContain(PASSWORD);
}

const json = (r: PlexusRun): unknown => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('plexus admin commands from another machine', () => {
  let b: TestBroker;
  let root: string;
  /** The other machine: a working directory and HOME that hold no data dir. */
  let away: string;
  let home: string;

  /** The local form: on the broker's disk, everything from the data dir. */
  const local = (...args: string[]) => runPlexus([...args, '--data-dir', b.dataDir]);
  const remote = (args: string[], env: NodeJS.ProcessEnv = {}) => runPlexus(args, { cwd: away, env: { HOME: home, PLEXUS_P12_PASSWORD: '', ...env } });
  /** Flags only; the .p12 and the password file by paths relative to the other machine's cwd. */
  const viaFlags = (...args: string[]) => remote([...args, '--broker', b.url, '--admin-p12', 'admin.p12', '--p12-password-file', 'p12-pass']);
  /** Environment only, as a script would. */
  const viaEnv = (...args: string[]) => remote(args, { PLEXUS_BROKER: b.url, PLEXUS_ADMIN_P12: join(away, 'admin.p12'), PLEXUS_P12_PASSWORD: PASSWORD });

  beforeAll(async () => {
    b = await startTestBroker();
    root = mkdtempSync(join(tmpdir(), 'plexus-admin-remote-'));
    away = join(root, 'laptop');
    home = join(root, 'home');
    for (const d of [away, home]) mkdirSync(d);
    writeFileSync(join(root, 'p12-pass'), `${PASSWORD}\n`, { mode: 0o600 });
    const exported = await local('broker', 'admin-p12', '--out', join(root, 'admin.p12'), '--p12-password-file', join(root, 'p12-pass'), '-o', 'json');
    expect(exported.code, exported.stderr).toBe(0);
    copyFileSync(join(root, 'admin.p12'), join(away, 'admin.p12'));
    copyFileSync(join(root, 'p12-pass'), join(away, 'p12-pass'));
    await joinCluster(b, 'east');
    expect((await local('broker', 'token', 'create', '--cluster', 'west', '-o', 'json')).code).toBe(0);
    expect((await local('broker', 'user', 'invite', 'carol', '--group', 'dev', '-o', 'json')).code).toBe(0);
  });

  afterAll(async () => {
    await b?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  // `plexus status` stamps each answer with the time it was made.
  const stable = (v: unknown) => ({ ...(v as object), generatedAt: undefined });

  it.each([
    ['broker token list'], ['broker cluster list'], ['broker user list'], ['broker status'],
    ['broker ca status'], ['broker rbac diff'], ['status'], ['services'],
  ])('`plexus %s` answers the same with --broker/--admin-p12 and with PLEXUS_BROKER/PLEXUS_ADMIN_P12 as with --data-dir', async (command) => {
    const args = command.split(' ');
    expect(existsSync(join(away, 'broker.json'))).toBe(false);
    const want = stable(json(await local(...args, '-o', 'json')));
    expect(stable(json(await viaFlags(...args, '-o', 'json')))).toEqual(want);
    expect(stable(json(await viaEnv(...args, '-o', 'json')))).toEqual(want);
  });

  it('tokens and people are minted and revoked from afar, and a second revoke is a no-op', async () => {
    const created = json(await viaFlags('broker', 'token', 'create', '--cluster', 'north', '-o', 'json')) as { id: string; joinCommand: string };
    expect(created.joinCommand).toContain(`--broker ${new URL(b.url).origin}`);
    const stateOf = async (id: string) => (json(await local('broker', 'token', 'list', '-o', 'json')) as { tokens: { id: string; state: string }[] }).tokens.find((t) => t.id === id)?.state;
    expect(await stateOf(created.id)).toBe('pending');
    expect(json(await viaEnv('broker', 'token', 'revoke', created.id, '-o', 'json'))).toMatchObject({ state: 'revoked' });
    expect(json(await viaFlags('broker', 'token', 'revoke', created.id, '-o', 'json'))).toMatchObject({ state: 'revoked' });
    expect(await stateOf(created.id)).toBe('revoked');

    const invited = json(await viaEnv('broker', 'user', 'invite', 'dave', '--group', 'ops', '-o', 'json')) as { name: string; loginCommand: string };
    expect(invited.loginCommand).toContain(`--broker ${new URL(b.url).origin}`);
    expect(json(await viaFlags('broker', 'user', 'revoke', 'dave', '-o', 'json'))).toMatchObject({ name: 'dave', state: 'revoked' });
    expect(json(await viaEnv('broker', 'user', 'revoke', 'dave', '-o', 'json'))).toMatchObject({ name: 'dave', state: 'revoked' });
  });

  it('labels and the RBAC baseline are set from afar, with a manifest on the other machine; applying it again makes no revision', async () => {
    expect(json(await viaFlags('broker', 'cluster', 'label', 'east', 'env=prod', '-o', 'json'))).toMatchObject({ id: 'east', labels: { env: 'prod' } });
    const clusters = json(await local('broker', 'cluster', 'list', '-o', 'json')) as { clusters: { id: string; labels: Record<string, string> }[] };
    expect(clusters.clusters.find((c) => c.id === 'east')?.labels).toEqual({ env: 'prod' });

    // The manifest is a file on the other machine, named relative to its cwd.
    writeFileSync(join(away, 'baseline.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n');
    const first = json(await viaFlags('broker', 'rbac', 'apply', '-f', 'baseline.yaml', '--target', 'env=prod', '-o', 'json')) as { revision: number; created: boolean };
    expect(first.created).toBe(true);
    expect(json(await viaEnv('broker', 'rbac', 'apply', '-f', 'baseline.yaml', '--target', 'env=prod', '-o', 'json'))).toMatchObject({ revision: first.revision, created: false });
    expect(json(await local('broker', 'rbac', 'diff', '-o', 'json'))).toEqual(json(await viaEnv('broker', 'rbac', 'diff', '-o', 'json')));
  });

  it('the metrics identity is made on the other machine, and a CA rollover phase is run, repeated (no-op) and rolled back from afar', async () => {
    expect(json(await viaEnv('broker', 'metrics', 'identity', '--out', 'prom', '-o', 'json'))).toMatchObject({ identity: `spiffe://${b.clusterset}/admin/metrics` });
    expect(statSync(join(away, 'prom', 'tls.key')).mode & 0o777).toBe(0o600);

    expect(json(await viaFlags('broker', 'ca', 'rotate', '--phase', '1', '-o', 'json'))).toMatchObject({ changed: true, status: { phase: 1 } });
    expect(json(await viaEnv('broker', 'ca', 'rotate', '--phase', '1', '-o', 'json'))).toMatchObject({ changed: false, status: { phase: 1 } });
    expect(json(await local('broker', 'ca', 'status', '-o', 'json'))).toMatchObject({ phase: 1 });
    expect(json(await viaEnv('broker', 'ca', 'rotate', '--rollback', '-o', 'json'))).toMatchObject({ changed: true, status: { phase: 0 } });
    expect(json(await viaFlags('broker', 'ca', 'status', '-o', 'json'))).toMatchObject({ phase: 0 });
  });

  it('a cluster is removed from afar, twice without error; a broker error keeps its own code', async () => {
    expect(json(await viaEnv('broker', 'cluster', 'remove', 'east', '-o', 'json'))).toMatchObject({ id: 'east', state: 'removed' });
    expect(json(await viaFlags('broker', 'cluster', 'remove', 'east', '-o', 'json'))).toMatchObject({ id: 'east', state: 'removed' });
    expectFailure(await viaFlags('broker', 'cluster', 'remove', 'ghost'), 'PLX_BROKER_NOT_FOUND');
  });

  it('flags win over the environment, and the environment over the data dir', async () => {
    writeFileSync(join(away, 'junk.p12'), 'not a pkcs12');
    // A wrong PLEXUS_BROKER and PLEXUS_ADMIN_P12 are ignored when the flags say otherwise.
    const flagsWin = await remote(['broker', 'token', 'list', '--broker', b.url, '--admin-p12', 'admin.p12', '-o', 'json'],
      { PLEXUS_BROKER: 'https://127.0.0.1:1', PLEXUS_ADMIN_P12: 'junk.p12', PLEXUS_P12_PASSWORD: PASSWORD });
    expect(json(flagsWin)).toHaveProperty('tokens');
    // PLEXUS_BROKER beats DATA_DIR/broker.json, PLEXUS_ADMIN_P12 beats DATA_DIR/admin/.
    expectFailure(await runPlexus(['broker', 'token', 'list', '--data-dir', b.dataDir], { env: { PLEXUS_BROKER: 'https://127.0.0.1:1' } }), 'PLX_BROKER_UNREACHABLE');
    expectFailure(await runPlexus(['broker', 'token', 'list', '--data-dir', b.dataDir], { env: { PLEXUS_ADMIN_P12: join(away, 'junk.p12'), PLEXUS_P12_PASSWORD: PASSWORD } }), 'PLX_CLI_P12_UNREADABLE');
  });

  it('bad credentials fail with one line and a stable code: no broker URL, no identity, an unreadable .p12, a wrong or missing password', async () => {
    const p12 = ['--admin-p12', 'admin.p12', '--p12-password-file', 'p12-pass'];
    expectFailure(await remote(['broker', 'token', 'list', ...p12]), 'PLX_CLI_ADMIN_NO_BROKER');
    expectFailure(await remote(['status', ...p12]), 'PLX_CLI_ADMIN_NO_BROKER');
    expectFailure(await remote(['broker', 'token', 'list', '--broker', b.url]), 'PLX_CLI_ADMIN_NO_IDENTITY');
    expectFailure(await remote(['broker', 'token', 'list', '--broker', b.url, '--admin-p12', 'missing.p12', '--p12-password-file', 'p12-pass']), 'PLX_CLI_P12_UNREADABLE');
    writeFileSync(join(away, 'junk.p12'), 'not a pkcs12');
    expectFailure(await remote(['broker', 'token', 'list', '--broker', b.url, '--admin-p12', 'junk.p12', '--p12-password-file', 'p12-pass']), 'PLX_CLI_P12_UNREADABLE');
    expectFailure(await remote(['broker', 'token', 'list', '--broker', b.url, '--admin-p12', 'admin.p12'], { PLEXUS_P12_PASSWORD: 'not the password' }), 'PLX_CLI_P12_BAD_PASSWORD');
    expectFailure(await remote(['broker', 'token', 'list', '--broker', b.url, '--admin-p12', 'admin.p12']), 'PLX_CLI_P12_PASSWORD_REQUIRED');
    expectFailure(await remote(['broker', 'token', 'list', '--broker', 'http://127.0.0.1:7443', ...p12]), 'PLX_BROKER_VALIDATION');
  });

  it('a person\'s .p12 and the metrics reader\'s .p12 are refused as PLX_CLI_ADMIN_NOT_ADMIN before anything is sent', async () => {
    const inv = (await b.call(userPaths.adminUsers, { body: { name: 'erin', groups: ['dev'] }, identity: b.admin })).body as InviteUserResponse;
    const login = await remote(['login', '--broker', b.url, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--p12', 'erin.p12'], { PLEXUS_P12_PASSWORD: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    const tokensBefore = json(await local('broker', 'token', 'list', '-o', 'json'));
    expectFailure(await remote(['broker', 'token', 'create', '--cluster', 'south', '--broker', b.url, '--admin-p12', 'erin.p12'], { PLEXUS_P12_PASSWORD: PASSWORD }), 'PLX_CLI_ADMIN_NOT_ADMIN');
    expect(json(await local('broker', 'token', 'list', '-o', 'json'))).toEqual(tokensBefore);

    // The metrics reader is spiffe://<cs>/admin/metrics: of kind admin, but not the admin. Its
    // .p12 is made by OpenSSL (certificates PBES2-encrypted, as OpenSSL 3 does by default).
    expect((await viaEnv('broker', 'metrics', 'identity', '--out', 'scrape')).code).toBe(0);
    const made = spawnSync('openssl', ['pkcs12', '-export', '-inkey', 'scrape/tls.key', '-in', 'scrape/tls.crt', '-certfile', 'scrape/ca.crt', '-out', 'metrics.p12', '-passout', 'env:P12PASS'],
      { cwd: away, encoding: 'utf8', env: { ...process.env, P12PASS: PASSWORD } });
    expect(made.status, made.stderr).toBe(0);
    expectFailure(await remote(['services', '--broker', b.url, '--admin-p12', 'metrics.p12'], { PLEXUS_P12_PASSWORD: PASSWORD }), 'PLX_CLI_ADMIN_NOT_ADMIN');
  });

  it('the broker is verified against exactly the roots in the .p12: another clusterset\'s admin .p12 does not reach this broker', async () => {
    const other = join(root, 'other-broker');
    expect((await runPlexus(['broker', 'init', '--data-dir', other, '--clusterset', 'other.example'])).code).toBe(0);
    expect((await runPlexus(['broker', 'admin-p12', '--data-dir', other, '--out', join(away, 'other.p12'), '--p12-password-file', join(away, 'p12-pass')])).code).toBe(0);
    const r = await remote(['broker', 'token', 'list', '--broker', b.url, '--admin-p12', 'other.p12', '--p12-password-file', 'p12-pass']);
    expectFailure(r, 'PLX_BROKER_UNREACHABLE');
  });

  it('the broker refuses a person, a cluster and the metrics reader on admin routes (exact identity spiffe://<cs>/admin/admin), and admits the admin', async () => {
    const inv = (await b.call(userPaths.adminUsers, { body: { name: 'frank', groups: [] }, identity: b.admin })).body as InviteUserResponse;
    const dir = join(home, 'frank');
    expect((await remote(['login', '--broker', b.url, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir])).code).toBe(0);
    const person: ClientIdentity = { certPem: readFileSync(join(dir, 'user.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'user.key'), 'utf8') };
    expect((await viaEnv('broker', 'metrics', 'identity', '--out', 'reader')).code).toBe(0);
    const metrics: ClientIdentity = { certPem: readFileSync(join(away, 'reader', 'tls.crt'), 'utf8'), keyPem: readFileSync(join(away, 'reader', 'tls.key'), 'utf8') };
    const cluster = (await joinCluster(b, 'gamma')).identity;
    for (const path of [paths.adminTokens, paths.adminClusters, userPaths.adminUsers, caPaths.status, fleetPaths.fleet]) {
      for (const identity of [person, cluster, metrics]) {
        const r = await b.call(path, { identity });
        expect([path, r.status, errorCode(r)]).toEqual([path, 403, 'PLX_BROKER_FORBIDDEN']);
      }
      expect((await b.call(path, { identity: b.admin })).status).toBe(200);
    }
  });
});

// Regression: a .p12 holds the roots and certificate of the day it was exported. Once phase 3
// of a CA rollover served from the new root, an admin working from it could no longer verify
// the broker (PLX_BROKER_UNREACHABLE), and after phase 5 the broker refused its certificate;
// only DATA_DIR/admin/ was kept in line, by the broker itself.
describe('a remote admin .p12 through a CA rollover', () => {
  let b: TestBroker;
  let dir: string;

  beforeAll(async () => {
    b = await startTestBroker();
    dir = mkdtempSync(join(tmpdir(), 'plexus-admin-rollover-'));
    writeFileSync(join(dir, 'p12-pass'), `${PASSWORD}\n`, { mode: 0o600 });
    const exported = await runPlexus(['broker', 'admin-p12', '--data-dir', b.dataDir, '--out', join(dir, 'admin.p12'), '--p12-password-file', join(dir, 'p12-pass')]);
    expect(exported.code, exported.stderr).toBe(0);
    copyFileSync(join(dir, 'admin.p12'), join(dir, 'stale.p12'));
  });

  afterAll(async () => {
    await b?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const withP12 = (file: string, ...args: string[]) =>
    runPlexus([...args, '--broker', b.url, '--admin-p12', file, '--p12-password-file', 'p12-pass'], { cwd: dir, env: { HOME: dir } });

  it('ca rotate run with a .p12 keeps that file in line (roots and certificate), so it still works after all five phases; a copy nobody refreshed stops at phase 3', async () => {
    const rootsOf = async (file: string) => {
      const { decodePkcs12 } = await import('../../certs/pkcs12-decode.ts');
      return decodePkcs12(readFileSync(join(dir, file)), PASSWORD);
    };
    for (const phase of [1, 2, 3, 4, 5]) {
      const r = json(await withP12('admin.p12', 'broker', 'ca', 'rotate', '--phase', String(phase), '--force', '-o', 'json')) as { changed: boolean; status: { phase: number; bundleFingerprints: string[] }; adminP12Updated?: string };
      expect([phase, r.changed, r.status.phase]).toEqual([phase, true, phase]);
      // Phase 1 adds a root to the bundle, 3 issues from it, 5 drops the old one: the file follows each.
      expect([phase, r.adminP12Updated !== undefined]).toEqual([phase, [1, 3, 5].includes(phase)]);
      expect(json(await withP12('admin.p12', 'broker', 'token', 'list', '-o', 'json'))).toHaveProperty('tokens');
      if (phase >= 3) expectFailure(await withP12('stale.p12', 'broker', 'token', 'list'), 'PLX_BROKER_UNREACHABLE');
    }
    const status = json(await runPlexus(['broker', 'ca', 'status', '--data-dir', b.dataDir, '-o', 'json'])) as { phase: number; bundleFingerprints: string[]; issuingFingerprint: string };
    expect(status.phase).toBe(5);
    const held = await rootsOf('admin.p12');
    const { fingerprintSha256, splitPemBlocks } = await import('../../certs/pem.ts');
    expect(splitPemBlocks(held.caPem, 'CERTIFICATE').map((r) => fingerprintSha256(r))).toEqual(status.bundleFingerprints);
    expect(status.bundleFingerprints).toEqual([status.issuingFingerprint]);
    expect(statSync(join(dir, 'admin.p12')).mode & 0o777).toBe(0o600);
    // Running again changes nothing: the file is in line.
    expect(json(await withP12('admin.p12', 'broker', 'ca', 'status', '-o', 'json'))).not.toHaveProperty('adminP12Updated');
    // The local form was kept in line by the broker, as before.
    expect(json(await runPlexus(['broker', 'token', 'list', '--data-dir', b.dataDir, '-o', 'json']))).toHaveProperty('tokens');
  });
});
