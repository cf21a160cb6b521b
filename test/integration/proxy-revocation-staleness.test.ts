// A real agent (access proxy in front of a real kube-apiserver) and a real broker, with
// the agent cut off from the broker: first by a TCP relay that drops everything (the broker
// keeps running, so a person can be revoked meanwhile), then by stopping the broker. With
// --revocation-max-staleness shrunk to 1.5 s the proxy refuses everyone with 503
// PLX_AGENT_PROXY_REVOCATIONS_STALE once its list is that old, /readyz says why, and both
// recover on their own when the broker is reachable again — the revoked person stays out.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterServerName } from '../../broker/api/advertisement.ts';
import { userPaths } from '../../broker/api/users.ts';
import { loadCa } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { FileIdentityStore } from '../../agent/identity/file-identity-store.ts';
import { joinClusterset } from '../../agent/join/join.ts';
import { startAgent, type RunningAgent } from '../../agent/main.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { restartTestBroker } from './support/catalog-fixture.ts';
import { createToken, startTestBroker, TestClock, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

/** The broker on the wall clock, like the agent. */
class WallClock extends TestClock {
  override now(): Date {
    return new Date();
  }
}

const MAX_STALENESS_MS = 1500;
const BOOKMARK_MS = 200;

/** TCP relay to the broker that can drop every connection and refuse new ones (a partition). */
class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  constructor(target: () => number) {
    this.#server = createServer((client) => {
      if (this.#cut) return void client.destroy();
      const upstream = connect(target(), '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        this.#sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => { this.#sockets.delete(a); b.destroy(); });
        a.pipe(b);
      }
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as { port: number }).port;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('access proxy of an agent cut off from the broker', () => {
  const lab = useClusters(1);
  let broker: TestBroker;
  let brokerPort: number;
  let relay: Relay;
  let agent: RunningAgent;
  let scratch: string;
  const people = new Map<string, ClientIdentity>();
  let caPem: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'plexus-staleness-it-'));
    broker = await startTestBroker({ clock: new WallClock(), config: { watchBookmarkIntervalMs: BOOKMARK_MS, leaseCheckIntervalMs: 600_000 } });
    brokerPort = Number(new URL(broker.url).port);
    caPem = broker.caPem;
    relay = new Relay(() => brokerPort);
    const relayPort = await relay.listen();
    const { token } = await createToken(broker, 'east');
    const dataDir = join(scratch, 'east');
    await joinClusterset({ brokerUrl: broker.url, token, clusterId: 'east', caFingerprint: fingerprintSha256(caPem), store: new FileIdentityStore(dataDir), now: () => new Date() });
    // People: invited at the broker (so they can be revoked there), certificates from its CA.
    const ca = await loadCa(readFileSync(broker.layout.caCert, 'utf8'), readFileSync(broker.layout.caKey, 'utf8'));
    for (const name of ['dana', 'erin']) {
      const invited = await broker.call(userPaths.adminUsers, { body: { name, groups: ['dev'] }, identity: broker.admin });
      expect(invited.status).toBe(201);
      const keys = await generateKeyPair();
      const issued = await issueCertificate({ ca, publicKey: keys.publicKey, commonName: name, organizations: ['dev'], usages: ['clientAuth'],
        identity: { trustDomain: broker.clusterset, kind: 'user', name }, lifetimeSeconds: 3600, now: new Date() });
      people.set(name, { certPem: issued.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) });
    }
    const config = parseAgentConfig({
      kubeconfig: lab.cluster(0).kubeconfigPath, dataDir, brokerUrl: `https://127.0.0.1:${relayPort}`, logLevel: 'silent',
      brokerRetryBaseMs: 50, brokerRetryMaxMs: 300, watchIdleTimeoutMs: 1000, revocationMaxStalenessMs: MAX_STALENESS_MS,
      probeListen: 'off', proxyListen: '127.0.0.1:0', metricsListen: '127.0.0.1:0',
    });
    agent = await startAgent(config, { logger: pino({ level: 'silent' }) });
    await agent.ready;
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await relay?.close();
    await broker?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** GET /version through the proxy as `who`: the status and the proxy's code, if it refused. */
  async function asPerson(who: string): Promise<{ status: number; code?: string }> {
    const id = people.get(who)!;
    const dispatcher = new Agent({ connect: { ca: caPem, cert: id.certPem, key: id.keyPem, servername: clusterServerName('east', broker.clusterset) } });
    try {
      const res = await request(new URL('/version', agent.proxyUrl), { dispatcher });
      await res.body.text();
      const code = res.headers['x-plexus-error'] as string | undefined;
      return { status: res.statusCode, ...(code ? { code } : {}) };
    } finally {
      await dispatcher.close();
    }
  }

  async function readyz(): Promise<{ status: number; text: string }> {
    const res = await request(new URL('/readyz', agent.metricsUrl));
    return { status: res.statusCode, text: await res.body.text() };
  }
  const is = (r: { status: number; code?: string }, status: number, code?: string) => r.status === status && r.code === code;

  // A cut-off agent served on the list it had: dana, revoked while the agent could not hear
  // it, kept her access through this cluster for as long as the partition lasted.
  it('a person revoked while the agent is cut off loses access within the max staleness; everyone is refused until the broker is back', async () => {
    await waitFor(async () => (is(await asPerson('dana'), 200) ? true : undefined), { what: 'dana served through the proxy', timeoutMs: 20_000 });
    await waitFor(async () => ((await readyz()).status === 200 ? true : undefined), { what: '/readyz ready', timeoutMs: 20_000 });

    relay.cut();
    const cutAt = Date.now();
    const revoke = await broker.call(userPaths.adminUser('dana'), { method: 'DELETE', identity: broker.admin });
    expect(revoke.status).toBe(200);
    await waitFor(async () => (is(await asPerson('dana'), 503, 'PLX_AGENT_PROXY_REVOCATIONS_STALE') ? true : undefined), { what: 'dana refused: revocations stale', timeoutMs: 20_000 });
    const staleAfter = Date.now() - cutAt;
    console.log(`[it] proxy refused everyone ${staleAfter} ms after the cut (max staleness ${MAX_STALENESS_MS} ms, bookmarks every ${BOOKMARK_MS} ms)`);
    expect(staleAfter).toBeGreaterThanOrEqual(MAX_STALENESS_MS - BOOKMARK_MS);
    expect(await asPerson('erin')).toEqual({ status: 503, code: 'PLX_AGENT_PROXY_REVOCATIONS_STALE' });
    const notReady = await waitFor(async () => {
      const r = await readyz();
      return r.status === 503 && r.text.includes('no revocation update from the broker') ? r.text : undefined;
    }, { what: '/readyz says why', timeoutMs: 20_000 });
    expect(notReady).toContain('access proxy');

    relay.restore();
    await waitFor(async () => (is(await asPerson('erin'), 200) ? true : undefined), { what: 'erin served again', timeoutMs: 20_000 });
    expect(await asPerson('dana')).toEqual({ status: 401, code: 'PLX_AGENT_PROXY_USER_REVOKED' });
    await waitFor(async () => ((await readyz()).status === 200 ? true : undefined), { what: '/readyz ready again', timeoutMs: 20_000 });
  });

  it('fails closed while the broker is stopped and recovers by itself when it starts again', async () => {
    await waitFor(async () => (is(await asPerson('erin'), 200) ? true : undefined), { what: 'erin served', timeoutMs: 20_000 });
    await broker.broker.stop();
    await waitFor(async () => (is(await asPerson('erin'), 503, 'PLX_AGENT_PROXY_REVOCATIONS_STALE') ? true : undefined), { what: 'erin refused: revocations stale', timeoutMs: 20_000 });
    await waitFor(async () => ((await readyz()).text.includes('no revocation update from the broker') ? true : undefined), { what: '/readyz names the stale revocations', timeoutMs: 20_000 });
    broker = await restartTestBroker(broker, { listen: `127.0.0.1:${brokerPort}`, watchBookmarkIntervalMs: BOOKMARK_MS, leaseCheckIntervalMs: 600_000 });
    await waitFor(async () => (is(await asPerson('erin'), 200) ? true : undefined), { what: 'erin served after the broker restart', timeoutMs: 20_000 });
    expect(await asPerson('dana')).toEqual({ status: 401, code: 'PLX_AGENT_PROXY_USER_REVOKED' });
    await waitFor(async () => ((await readyz()).status === 200 ? true : undefined), { what: '/readyz ready again', timeoutMs: 20_000 });
  });
});
