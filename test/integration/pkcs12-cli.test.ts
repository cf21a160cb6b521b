// The PKCS#12 commands as a person and an operator run them, against a real broker over
// real TLS, with the real `plexus` process and the real OpenSSL reading what they wrote:
// `plexus login --p12`, `plexus export-p12` and `plexus broker admin-p12`. Without a
// password and without a terminal they refuse with a stable code before doing anything
// (login keeps its one-time token); the password never appears in their output.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userPaths, type InviteUserResponse } from '../../broker/api/users.ts';
import { runPlexus, type PlexusRun } from '../support/plexus-process.ts';
import { startTestBroker, type TestBroker } from './support/broker-fixture.ts';

const PASSWORD = 'tr0ub4dor&3 p12';

describe('PKCS#12 from the plexus CLI', () => {
  let b: TestBroker;
  let home: string;
  let passwordFile: string;
  beforeAll(async () => {
    b = await startTestBroker({ config: { userCertLifetimeSeconds: 3600 } });
    home = mkdtempSync(join(tmpdir(), 'plexus-p12-cli-'));
    passwordFile = join(home, 'p12-pass');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await b.stop();
    rmSync(home, { recursive: true, force: true });
  });

  async function invite(name: string): Promise<InviteUserResponse> {
    const r = await b.call(userPaths.adminUsers, { body: { name, groups: ['dev'] }, identity: b.admin });
    expect(r.status).toBe(201);
    return r.body as InviteUserResponse;
  }

  /** openssl pkcs12 on FILE with `password`; returns the leaf certificate it holds. */
  function opensslRead(file: string, password: string): { status: number | null; leaf?: X509Certificate; stderr: string } {
    const r = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', 'env:P12PASS', '-clcerts', '-nokeys'], { encoding: 'utf8', env: { ...process.env, P12PASS: password } });
    const at = r.stdout.indexOf('-----BEGIN CERTIFICATE');
    return { status: r.status, stderr: r.stderr, ...(at >= 0 ? { leaf: new X509Certificate(r.stdout.slice(at)) } : {}) };
  }

  const noSecret = (r: PlexusRun) => expect(r.stdout + r.stderr).not.toContain(PASSWORD);

  it('login --p12 with no password source and no terminal fails with PLX_CLI_P12_PASSWORD_REQUIRED before the token is spent', async () => {
    const inv = await invite('dana');
    const dir = join(home, 'dana');
    const file = join(home, 'dana.p12');
    const login = (env: NodeJS.ProcessEnv) => runPlexus(['login', '--broker', b.url, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir, '--p12', file], { env });
    const refused = await login({ PLEXUS_P12_PASSWORD: '' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[PLX_CLI_P12_PASSWORD_REQUIRED\]: .*--p12-password-file/);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(dir)).toBe(false);

    // The token was not used: the same login with the password in the environment succeeds.
    const ok = await login({ PLEXUS_P12_PASSWORD: PASSWORD });
    expect(ok.code, ok.stderr).toBe(0);
    noSecret(ok);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const read = opensslRead(file, PASSWORD);
    expect(read.status, read.stderr).toBe(0);
    expect(read.leaf!.fingerprint256).toBe(new X509Certificate(readFileSync(join(dir, 'user.crt'))).fingerprint256);
    expect(read.leaf!.subjectAltName).toBe(`URI:spiffe://${b.clusterset}/user/dana`);
    expect(opensslRead(file, 'not the password').status).not.toBe(0);
  });

  it('export-p12 writes the current login without a new CSR; a renewal with --p12 replaces the file', async () => {
    const inv = await invite('erin');
    const dir = join(home, 'erin');
    const first = await runPlexus(['login', '--broker', b.url, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir]);
    expect(first.code, first.stderr).toBe(0);
    const file = join(home, 'erin.p12');
    const exported = await runPlexus(['export-p12', '--config-dir', dir, '--out', file, '--p12-password-file', passwordFile, '-o', 'json']);
    expect(exported.code, exported.stderr).toBe(0);
    noSecret(exported);
    expect(JSON.parse(exported.stdout)).toMatchObject({ identity: `spiffe://${b.clusterset}/user/erin`, p12: file });
    const cert = () => new X509Certificate(readFileSync(join(dir, 'user.crt'))).fingerprint256;
    expect(opensslRead(file, PASSWORD).leaf!.fingerprint256).toBe(cert());
    // Idempotent: exporting again gives the same certificate (a new file, fresh salts).
    expect((await runPlexus(['export-p12', '--config-dir', dir, '--out', file, '--p12-password-file', passwordFile])).code).toBe(0);
    expect(opensslRead(file, PASSWORD).leaf!.fingerprint256).toBe(cert());

    const before = cert();
    const renewed = await runPlexus(['login', '--renew', '--config-dir', dir, '--p12', file, '--p12-password-file', passwordFile]);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(cert()).not.toBe(before);
    expect(opensslRead(file, PASSWORD).leaf!.fingerprint256).toBe(cert());
  });

  it('export-p12 refuses without a login (PLX_USER_NOT_LOGGED_IN) and with an empty password file (PLX_CLI_P12_PASSWORD_FILE)', async () => {
    const none = await runPlexus(['export-p12', '--config-dir', join(home, 'nobody'), '--out', join(home, 'x.p12'), '--p12-password-file', passwordFile]);
    expect(none.stderr).toMatch(/^error \[PLX_USER_NOT_LOGGED_IN\]/);
    const empty = join(home, 'empty-pass');
    writeFileSync(empty, '\n');
    const inv = await invite('fred');
    const dir = join(home, 'fred');
    expect((await runPlexus(['login', '--broker', b.url, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir])).code).toBe(0);
    const refused = await runPlexus(['export-p12', '--config-dir', dir, '--out', join(home, 'x.p12'), '--p12-password-file', empty]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[PLX_CLI_P12_PASSWORD_FILE\]/);
    expect(existsSync(join(home, 'x.p12'))).toBe(false);
  });

  it('broker admin-p12 writes the admin identity with the clusterset root as the CA certificate', async () => {
    const file = join(home, 'admin.p12');
    const refused = await runPlexus(['broker', 'admin-p12', '--data-dir', b.dataDir, '--out', file], { env: { PLEXUS_P12_PASSWORD: '' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[PLX_CLI_P12_PASSWORD_REQUIRED\]/);
    expect(existsSync(file)).toBe(false);

    const ok = await runPlexus(['broker', 'admin-p12', '--data-dir', b.dataDir, '--out', file, '--p12-password-file', passwordFile]);
    expect(ok.code, ok.stderr).toBe(0);
    noSecret(ok);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(opensslRead(file, PASSWORD).leaf!.subjectAltName).toBe(`URI:spiffe://${b.clusterset}/admin/admin`);
    const ca = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', 'env:P12PASS', '-cacerts', '-nokeys'], { encoding: 'utf8', env: { ...process.env, P12PASS: PASSWORD } });
    expect(new X509Certificate(ca.stdout.slice(ca.stdout.indexOf('-----BEGIN'))).fingerprint256).toBe(new X509Certificate(b.caPem).fingerprint256);
  });
});
