// Regression: the CA pin of `plexus agent join` and `plexus login` only checked that the
// pinned root was somewhere in the bundle the server returned, then trusted the whole
// bundle for the connection carrying the one-time token. An interceptor that returned the
// real root plus its own and served TLS from its own received the token, spent it at the
// real broker, and the victim's identity then trusted the interceptor's root. Both
// commands run as real processes against a real interceptor (TLS 1.3) in front of a real
// broker.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { paths } from '../../broker/api/types.ts';
import { userPaths, type InviteUserResponse, type UserInfo } from '../../broker/api/users.ts';
import { configDirLayout } from '../../cli/user/config-dir.ts';
import { runPlexus } from '../support/plexus-process.ts';
import { createToken, startTestBroker, type TestBroker } from './support/broker-fixture.ts';
import { startMitmBroker, type MitmBroker } from './support/mitm-broker.ts';

describe('CA pin against an interceptor that adds its own root to the bundle', () => {
  let broker: TestBroker;
  let mitm: MitmBroker;
  let scratch: string;
  let pin: string;

  beforeAll(async () => {
    broker = await startTestBroker();
    mitm = await startMitmBroker(broker);
    pin = fingerprintSha256(broker.caPem);
    scratch = mkdtempSync(join(tmpdir(), 'plexus-pin-it-'));
  });

  afterAll(async () => {
    await mitm?.stop();
    await broker?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function tokenState(id: string): Promise<string> {
    const r = await broker.call(paths.adminTokens, { identity: broker.admin });
    return (r.body as { tokens: { id: string; state: string }[] }).tokens.find((t) => t.id === id)!.state;
  }

  it('agent join: a bundle holding the pinned root plus the interceptor\'s does not let the token reach the interceptor', async () => {
    const { token, id } = await createToken(broker, 'victim-1');
    const dataDir = join(scratch, 'victim-1');
    const run = await runPlexus(['agent', 'join', '--broker', mitm.url, '--token', token, '--cluster-id', 'victim-1', '--ca-fingerprint', pin, '--data-dir', dataDir, '--output', 'json']);
    expect(run.stderr).toContain('PLX_AGENT_CA_PIN_MISMATCH');
    expect(run.code).toBe(1);
    expect(mitm.seenBodies.filter((b) => b.includes(token))).toEqual([]);
    expect(await tokenState(id)).toBe('pending');
    expect(existsSync(join(dataDir, 'identity.json'))).toBe(false);
  });

  it('login: a bundle holding the pinned root plus the interceptor\'s does not let the token reach the interceptor', async () => {
    const r = await broker.call(userPaths.adminUsers, { body: { name: 'victim', groups: ['dev'] }, identity: broker.admin });
    expect(r.status).toBe(201);
    const inv = r.body as InviteUserResponse;
    expect(inv.caFingerprint).toBe(pin);
    const configDir = join(scratch, 'victim-home');
    const run = await runPlexus(['login', '--broker', mitm.url, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', configDir]);
    expect(run.stderr).toContain('PLX_USER_CA_PIN_MISMATCH');
    expect(run.code).toBe(1);
    expect(mitm.seenBodies.filter((b) => b.includes(inv.token))).toEqual([]);
    // The invitation was not spent, and nothing was stored.
    const users = await broker.call(userPaths.adminUsers, { identity: broker.admin });
    expect((users.body as { users: UserInfo[] }).users.find((u) => u.name === 'victim')?.state).toBe('invited');
    const layout = configDirLayout(configDir);
    expect([layout.key, layout.cert, layout.ca, layout.profile].filter((f) => existsSync(f))).toEqual([]);
  });
});
