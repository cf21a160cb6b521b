// CA rollover against a real broker over real TLS 1.3: a cluster runs the agent's real
// trust-bundle refresher and renewal while it keeps calling the API through the whole
// rollover 1→5 (zero failures allowed); certificates from the new root pass `openssl
// verify` against the served bundle; `ca status` reports the cluster that never acked;
// wait phases refuse with PLX_BROKER_CA_LAGGING; every phase rolls back.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { caPaths, caStatusSchema, type CaRotateResponse, type CaStatus, type TrustBundleAckResponse } from '../../broker/api/ca.ts';
import { paths, type IdentityResponse, type TrustBundleResponse } from '../../broker/api/types.ts';
import { userPaths, type InviteUserResponse } from '../../broker/api/users.ts';
import { AdminClient } from '../../broker/admin-client.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { login, renew as renewUser } from '../../cli/user/login.ts';
import { TrustBundleClient } from '../../agent/broker-client/trust-bundle-client.ts';
import type { StoredIdentity } from '../../agent/identity/identity-store.ts';
import { LiveIdentity } from '../../agent/identity/live-identity.ts';
import { renewIdentity } from '../../agent/identity/renew-identity.ts';
import { TrustBundleRefresher } from '../../agent/identity/trust-bundle-refresher.ts';
import { systemTimers } from '../../agent/timing/clock.ts';
import { parseBrokerConfig } from '../../broker/config.ts';
import { startBroker } from '../../broker/main.ts';
import { waitFor } from '../harness/wait-for.ts';
import { runPlexus } from '../support/plexus-process.ts';
import { callBroker, clusterCsr, errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

function storedIdentity(b: TestBroker, clusterId: string, joined: { identity: ClientIdentity; response: IdentityResponse }): StoredIdentity {
  return {
    clusterId, identity: joined.response.identity, brokerUrl: b.url, certPem: joined.identity.certPem, keyPem: joined.identity.keyPem,
    trustBundle: joined.response.trustBundle, notAfter: joined.response.notAfter,
  };
}

/** A cluster as the agent runs it: the real refresher and renewal, and a loop of API calls. */
function runAgent(b: TestBroker, initial: StoredIdentity) {
  const live = new LiveIdentity(initial);
  const renewNow = async () => {
    const cur = live.current();
    const renewCall = async (body: { csr: string }) => {
      const r = await callBroker(b.url, cur.trustBundle, paths.renew, { body, identity: cur });
      if (r.status !== 200) throw new Error(`renew failed: ${JSON.stringify(r.body)}`);
      return r.body as IdentityResponse;
    };
    await live.update(await renewIdentity(cur, renewCall, b.clock.now()));
  };
  const refresher = new TrustBundleRefresher({
    identity: live, connect: (id) => new TrustBundleClient({ baseUrl: b.url, identity: id }), renewNow,
    intervalMs: 50, timers: systemTimers, clock: b.clock, logger: pino({ level: 'silent' }),
  });
  refresher.start();
  const traffic = { calls: 0, failures: [] as string[], stopped: false };
  const loop = (async () => {
    while (!traffic.stopped) {
      const id = live.current();
      try {
        const r = await callBroker(b.url, id.trustBundle, userPaths.revoked, { identity: id });
        if (r.status !== 200) traffic.failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      } catch (e) {
        traffic.failures.push((e as Error).message);
      }
      traffic.calls++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    live, traffic,
    async stop() {
      traffic.stopped = true;
      await loop;
      await refresher.stop();
    },
  };
}

/** Calls the broker as the admin CLI does: with the admin files as they are now (the broker rewrites them). */
function adminCall(b: TestBroker, path: string, o: Parameters<TestBroker['call']>[1] = {}) {
  const admin = { certPem: readFileSync(b.layout.adminCert, 'utf8'), keyPem: readFileSync(b.layout.adminKey, 'utf8') };
  return callBroker(b.url, readFileSync(b.layout.adminCa, 'utf8'), path, { identity: admin, ...o });
}
const rotate = (b: TestBroker, body: object) => adminCall(b, caPaths.rotate, { body });
const status = async (b: TestBroker) => (await adminCall(b, caPaths.status)).body as CaStatus;
const served = async (b: TestBroker) => (await adminCall(b, paths.trustBundle)).body as TrustBundleResponse;

function opensslVerify(dir: string, bundlePem: string, certPem: string, at: Date): { status: number | null; out: string } {
  writeFileSync(join(dir, 'bundle.pem'), bundlePem);
  writeFileSync(join(dir, 'leaf.pem'), certPem);
  const r = spawnSync('openssl', ['verify', '-attime', String(Math.floor(at.getTime() / 1000)), '-CAfile', join(dir, 'bundle.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The broker's serving certificate as a TLS client that trusts only `caPem` sees it (rejects otherwise). */
function servingIssuerTrustedBy(url: string, caPem: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca: caPem, servername: 'localhost', minVersion: 'TLSv1.3' });
    s.once('secureConnect', () => { s.end(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('CA rollover', () => {
  let b: TestBroker;
  let tmp: string;
  beforeEach(async () => {
    b = await startTestBroker({ config: { userCertLifetimeSeconds: 60 } });
    tmp = mkdtempSync(join(tmpdir(), 'plexus-ca-it-'));
  });
  afterEach(async () => {
    await b.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('rolls over 1→5 while a cluster keeps calling the API, with zero failures', async () => {
    const oldFp = (await served(b)).fingerprints[0]!;
    const east = runAgent(b, storedIdentity(b, 'east', await joinCluster(b, 'east')));
    const west = await joinCluster(b, 'west'); // runs no refresher: the laggard
    // A person logged in before the rollover: pinned to the old root, trusting only it.
    const inv = (await adminCall(b, userPaths.adminUsers, { body: { name: 'alice', groups: ['dev'] } })).body as InviteUserResponse;
    const aliceDir = join(tmp, 'alice');
    await login({ broker: b.url, token: inv.token, caFingerprint: inv.caFingerprint, configDir: aliceDir, now: () => new Date() });
    const people = expect.stringMatching(/^people's trust bundles from before the new root/);
    try {
      const p1 = await rotate(b, { phase: 1 });
      expect(p1.status).toBe(200);
      const newFp = (p1.body as CaRotateResponse).status.roots.find((r) => r.role === 'new')!.fingerprint;
      expect((await served(b)).fingerprints).toEqual([oldFp, newFp]);
      // The new key file is 0600; re-running phase 1 is a no-op.
      expect(statSync(join(b.dataDir, 'ca', 'root-2.key')).mode & 0o777).toBe(0o600);
      expect((await rotate(b, { phase: 1 })).body).toMatchObject({ changed: false });
      // A person renewing after phase 1 gets the two-root bundle (what phase 2 waits for by time).
      expect(TrustBundle.fromPem((await renewUser({ configDir: aliceDir, now: () => b.clock.now() })).caPem).fingerprints()).toEqual([oldFp, newFp]);

      // Phase 2 waits for every agent: east acks by itself, west lags until it acks.
      await waitFor(async () => (await status(b)).clusters.find((c) => c.id === 'east')?.hasBundle, { what: 'east to take the new bundle', timeoutMs: 15_000, intervalMs: 25 });
      expect(TrustBundle.fromPem(east.live.current().trustBundle).fingerprints()).toEqual([oldFp, newFp]);
      const s1 = await status(b);
      expect(s1.lagging).toEqual(['west', people]);
      expect(s1.clusters.find((c) => c.id === 'west')).toMatchObject({ hasBundle: false, lagging: true, ackedAt: null });
      const refused = await rotate(b, { phase: 2 });
      expect(errorCode(refused)).toBe('PLX_BROKER_CA_LAGGING');
      expect((refused.body as { error: { details: { lagging: string[] } } }).error.details.lagging).toEqual(['west', people]);
      const westAck = await callBroker(b.url, west.response.trustBundle, caPaths.trustBundleAck, { body: { fingerprints: [oldFp, newFp] }, identity: west.identity });
      expect((westAck.body as TrustBundleAckResponse).issuingFingerprint).toBe(oldFp);
      // Only people are left to wait for (one person-certificate lifetime): force past them.
      expect((await status(b)).lagging).toEqual([people]);
      expect(errorCode(await rotate(b, { phase: 2 }))).toBe('PLX_BROKER_CA_LAGGING');
      expect((await rotate(b, { phase: 2, force: true })).status).toBe(200);
      expect((await status(b)).history.at(-1)).toMatchObject({ to: 2, forced: true });

      // Phase 3: the broker issues (and serves) from the new root; east renews by itself.
      expect((await rotate(b, { phase: 3 })).status).toBe(200);
      expect(await servingIssuerTrustedBy(b.url, (await served(b)).trustBundle.split(/(?<=-----END CERTIFICATE-----\n)/)[1]!)).toBe(true);
      await waitFor(async () => (await status(b)).clusters.find((c) => c.id === 'east')?.issuer === newFp, { what: 'east to be re-issued from the new root', timeoutMs: 15_000, intervalMs: 25 });
      const eastCert = east.live.current().certPem;
      const ok = opensslVerify(tmp, (await served(b)).trustBundle, eastCert, b.clock.now());
      expect(ok.status, ok.out).toBe(0);
      // The person renews now: a certificate from the new root, and the two-root bundle.
      const person = await renewUser({ configDir: aliceDir, now: () => b.clock.now() });
      expect(opensslVerify(tmp, (await served(b)).trustBundle, person.certPem, b.clock.now()).status).toBe(0);
      expect(person.profile.caFingerprint).toBe(oldFp);

      // Phase 4 waits for west and for person certificates from the old root to expire.
      const waiting = await rotate(b, { phase: 4 });
      expect(errorCode(waiting)).toBe('PLX_BROKER_CA_LAGGING');
      expect((await status(b)).lagging).toEqual(['west', expect.stringMatching(/^person certificates from the old root/)]);
      const westRenew = await callBroker(b.url, (await served(b)).trustBundle, paths.renew, { body: { csr: await clusterCsr(west.keys, b.clusterset, 'west') }, identity: west.identity });
      expect(westRenew.status).toBe(200);
      // Time passes (one person-certificate lifetime plus skew); alice keeps renewing as she would.
      for (let i = 0; i < 3; i++) {
        b.clock.advance(41);
        await renewUser({ configDir: aliceDir, now: () => b.clock.now() });
      }
      expect((await rotate(b, { phase: 4 })).status).toBe(200);

      // Phase 5: only the new root is left; east follows; old certificates no longer verify.
      expect((await rotate(b, { phase: 5 })).status).toBe(200);
      expect((await served(b)).fingerprints).toEqual([newFp]);
      await waitFor(() => TrustBundle.fromPem(east.live.current().trustBundle).fingerprints().length === 1 || undefined, { what: 'east to drop the old root', timeoutMs: 15_000, intervalMs: 25 });
      expect(opensslVerify(tmp, (await served(b)).trustBundle, east.live.current().certPem, b.clock.now()).status).toBe(0);
      expect(opensslVerify(tmp, (await served(b)).trustBundle, west.identity.certPem, b.clock.now()).status).not.toBe(0);
      const final = await status(b);
      expect(final).toMatchObject({ phase: 5, issuingFingerprint: newFp, bundleFingerprints: [newFp] });
      expect(final.clusters.find((c) => c.id === 'east')).toMatchObject({ hasBundle: true, lagging: false, issuerGeneration: 2 });
      // The admin identity was re-issued from the new root: the admin CLI keeps working.
      const admin = AdminClient.fromDataDir(b.dataDir, b.url);
      try {
        expect((await admin.request('GET', caPaths.status, undefined, caStatusSchema)).phase).toBe(5);
      } finally {
        await admin.close();
      }
      expect(readFileSync(b.layout.adminCa, 'utf8')).toBe((await served(b)).trustBundle);
      // The person's pin follows the rollover to the new root.
      const renewedAfter = await renewUser({ configDir: aliceDir, now: () => b.clock.now() });
      expect(renewedAfter.profile.caFingerprint).toBe(newFp);
      expect(renewedAfter.caPem).toBe((await served(b)).trustBundle);
      // A plain rotate starts the next rollover and retires root 1 for good: its key goes, its certificate stays.
      expect(((await rotate(b, {})).body as CaRotateResponse).status.phase).toBe(1);
      expect(existsSync(b.layout.caKey)).toBe(false);
      expect(existsSync(b.layout.caCert)).toBe(true);
      expect(statSync(join(b.dataDir, 'ca', 'root-3.key')).mode & 0o777).toBe(0o600);
    } finally {
      await east.stop();
    }
    expect(east.traffic.failures).toEqual([]);
    expect(east.traffic.calls).toBeGreaterThan(10);
    console.log(`ca-rollover: ${east.traffic.calls} API calls by east during the rollover, ${east.traffic.failures.length} failed`);
  }, 60_000);

  it('rolls back every phase; phase 1 only while nothing was issued from the new root', async () => {
    const oldFp = (await served(b)).fingerprints[0]!;
    const advance = async (phase: number) => expect((await rotate(b, { phase, force: true })).status).toBe(200);
    const back = async () => (await rotate(b, { rollback: true })).body as CaRotateResponse;

    await advance(1);
    expect(existsSync(join(b.dataDir, 'ca', 'root-2.key'))).toBe(true);
    expect((await back()).status).toMatchObject({ phase: 0, bundleFingerprints: [oldFp] });
    expect(existsSync(join(b.dataDir, 'ca', 'root-2.key'))).toBe(false);
    expect((await served(b)).fingerprints).toEqual([oldFp]);
    expect(errorCode(await rotate(b, { rollback: true }))).toBe('PLX_BROKER_CA_ROLLBACK_REFUSED');

    await advance(1);
    await advance(2);
    expect((await back()).status.phase).toBe(1);
    await advance(2);
    await advance(3);
    const newFp = (await status(b)).issuingFingerprint;
    expect(newFp).not.toBe(oldFp);
    // 3↶: issuing (and the serving certificate) go back to the old root.
    expect((await back()).status).toMatchObject({ phase: 2, issuingFingerprint: oldFp });
    expect(await servingIssuerTrustedBy(b.url, (await served(b)).trustBundle.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!)).toBe(true);
    const joined = await joinCluster(b, 'south');
    expect(fingerprintSha256(TrustBundle.fromPem(joined.response.trustBundle).roots[0]!)).toBe(oldFp);
    await advance(3);
    await advance(4);
    expect((await back()).status.phase).toBe(3);
    await advance(4);
    await advance(5);
    expect((await served(b)).fingerprints).toEqual([newFp]);
    expect((await back()).status).toMatchObject({ phase: 4, bundleFingerprints: [oldFp, newFp] });
    expect((await served(b)).fingerprints).toEqual([oldFp, newFp]);
    // Back to 1, but the new root issued certificates: it must stay.
    await back();
    await back();
    expect((await back()).status.phase).toBe(1);
    expect(errorCode(await rotate(b, { rollback: true }))).toBe('PLX_BROKER_CA_ROLLBACK_REFUSED');
    expect((await b.broker.metrics.registry.getSingleMetric('plexus_broker_ca_rollover_phase')!.get()).values[0]!.value).toBe(1);
    expect((await status(b)).history.map((h) => `${h.action}:${h.from}>${h.to}`).slice(-3)).toEqual(['rollback:4>3', 'rollback:3>2', 'rollback:2>1']);
  }, 60_000);

  it('survives a broker restart mid-rollover: state, keys and admin files come back from the data dir', async () => {
    const oldFp = (await served(b)).fingerprints[0]!;
    for (const phase of [1, 2, 3]) expect((await rotate(b, { phase, force: true })).status).toBe(200);
    const newFp = (await status(b)).issuingFingerprint;
    const oldBundle = (await served(b)).trustBundle.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!;
    await b.broker.stop();
    // As if the broker died between the store commit and rewriting D/admin/: start repairs it.
    writeFileSync(b.layout.adminCa, oldBundle);
    const again = await startBroker(parseBrokerConfig({ dataDir: b.dataDir, listen: '127.0.0.1:0', logLevel: 'silent' }), { clock: b.clock, logger: pino({ level: 'silent' }) });
    try {
      const r = { ...b, url: again.url } as TestBroker;
      expect(readFileSync(b.layout.adminCa, 'utf8')).toBe((await served(r)).trustBundle);
      expect(await status(r)).toMatchObject({ phase: 3, issuingFingerprint: newFp, bundleFingerprints: [oldFp, newFp] });
      expect(await servingIssuerTrustedBy(again.url, (await served(r)).trustBundle.split(/(?<=-----END CERTIFICATE-----\n)/)[1]!)).toBe(true);
      expect(statSync(join(b.dataDir, 'ca', 'root-2.key')).mode & 0o777).toBe(0o600);
      // Rolling back after the restart needs the old root's key from its file.
      expect(((await rotate(r, { rollback: true })).body as CaRotateResponse).status).toMatchObject({ phase: 2, issuingFingerprint: oldFp });
    } finally {
      await again.stop();
    }
  });

  it('the CLI: ca status names the lagging cluster; a refused phase exits non-zero with the stable code', async () => {
    await joinCluster(b, 'west');
    const started = await runPlexus(['broker', 'ca', 'rotate', '--data-dir', b.dataDir, '--broker', b.url]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/phase 0 → 1/);
    const json = await runPlexus(['broker', 'ca', 'status', '--data-dir', b.dataDir, '--broker', b.url, '--output', 'json']);
    const s = JSON.parse(json.stdout) as CaStatus;
    expect(s).toMatchObject({ phase: 1, lagging: ['west', expect.stringMatching(/^people's trust bundles/)] });
    expect(s.clusters).toEqual([expect.objectContaining({ id: 'west', hasBundle: false, lagging: true })]);
    const table = await runPlexus(['broker', 'ca', 'status', '--data-dir', b.dataDir, '--broker', b.url]);
    expect(table.stdout).toMatch(/west\s+no\s+never\s+1\s+yes/);
    const refused = await runPlexus(['broker', 'ca', 'rotate', '--phase', '2', '--data-dir', b.dataDir, '--broker', b.url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/PLX_BROKER_CA_LAGGING.*west/);
  }, 60_000);
});
