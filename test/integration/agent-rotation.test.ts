// Certificate rotation of a real agent against a real broker (wall clock, real TLS 1.3,
// real kube-apiserver): with 15 s cluster certificates the agent renews at least three
// times on its own. Each renewal brings a new key, is written to the identity file
// atomically (new inode, 0600, no temp file left), and is hot-reloaded: the catalog watch
// stream opened before the first renewal is never reopened and still delivers events,
// while new TLS connections to the probe server and the access proxy see the new serial.
import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPaths } from '../../broker/api/catalog.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { FileIdentityStore } from '../../agent/identity/file-identity-store.ts';
import type { StoredIdentity } from '../../agent/identity/identity-store.ts';
import { joinClusterset } from '../../agent/join/join.ts';
import { startAgent, type RunningAgent } from '../../agent/main.ts';
import { freePorts } from '../harness/free-ports.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { createToken, joinCluster, startTestBroker, TestClock, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

/** The broker on the wall clock: certificates really expire while the test runs. */
class WallClock extends TestClock {
  override now(): Date {
    return new Date();
  }
}

const LIFETIME_S = 15;
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();
const spkiOf = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** The serial a new TLS connection to host:port is served with. */
function servedSerial(port: number, caPem: string, client?: ClientIdentity): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1', port, ca: caPem, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

describe('agent certificate rotation', () => {
  const lab = useClusters(1);
  let broker: TestBroker;
  let agent: RunningAgent;
  let scratch: string;
  let dataDir: string;
  let probePort: number;
  let proxyPort: number;
  const updates: StoredIdentity[] = [];
  const watchRequests: { socket: TLSSocket; serial: string }[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'plexus-rotation-it-'));
    broker = await startTestBroker({ clock: new WallClock(), config: { clusterCertLifetimeSeconds: LIFETIME_S } });
    broker.broker.app.server.on('request', (req: IncomingMessage) => {
      if (!req.url?.startsWith('/v1/watch')) return;
      const socket = req.socket as TLSSocket;
      watchRequests.push({ socket, serial: socket.getPeerCertificate().serialNumber.toLowerCase() });
    });
    const { token } = await createToken(broker, 'east');
    dataDir = join(scratch, 'east');
    await joinClusterset({ brokerUrl: broker.url, token, clusterId: 'east', caFingerprint: fingerprintSha256(broker.caPem), store: new FileIdentityStore(dataDir), now: () => new Date() });
    [probePort, proxyPort] = (await freePorts(2)) as [number, number];
    const config = parseAgentConfig({
      kubeconfig: lab.cluster(0).kubeconfigPath, dataDir, logLevel: 'silent', requeueBaseMs: 20, brokerRetryBaseMs: 50, brokerRetryMaxMs: 1000,
      probeListen: `127.0.0.1:${probePort}`, proxyListen: `127.0.0.1:${proxyPort}`, metricsListen: 'off',
    });
    agent = await startAgent(config, { logger: pino({ level: 'silent' }) });
    agent.identity.subscribe((next) => updates.push(next));
    await agent.ready;
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await broker?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('renews three times with new keys, stores each atomically (0600), keeps the watch stream and serves the new serial', async () => {
    const first = agent.identity.current();
    await waitFor(async () => (watchRequests.length > 0 ? true : undefined), { what: 'the catalog watch stream', timeoutMs: 20_000 });
    const stream = watchRequests[0]!;
    expect(stream.serial).toBe(serialOf(first.certPem));
    const file = join(dataDir, 'identity.json');
    const inodes = new Set([statSync(file).ino]);
    let seen = 0;
    while (updates.length < 3) {
      await waitFor(async () => (updates.length > seen ? true : undefined), { what: `renewal ${seen + 1}`, timeoutMs: LIFETIME_S * 1000 });
      seen = updates.length;
      const now = agent.identity.current();
      const serial = serialOf(now.certPem);
      // Stored before anyone was told: the file already holds what is current.
      const stat = statSync(file);
      expect(stat.mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(now);
      inodes.add(stat.ino);
      expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // New TLS connections get the new certificate.
      expect(await servedSerial(probePort, broker.caPem, now)).toBe(serial);
      expect(await servedSerial(proxyPort, broker.caPem)).toBe(serial);
    }
    const chain = [first, ...updates];
    expect(new Set(chain.map((i) => serialOf(i.certPem))).size).toBe(chain.length);
    expect(new Set(chain.map((i) => spkiOf(i.certPem))).size).toBe(chain.length);
    expect(new Set(chain.map((i) => i.keyPem)).size).toBe(chain.length);
    expect(inodes.size).toBe(chain.length);
    for (const i of updates) expect(new X509Certificate(i.certPem).checkPrivateKey(createPrivateKey(i.keyPem))).toBe(true);

    // The stream opened with the first certificate is the only one, still open, and still delivers.
    expect(watchRequests).toHaveLength(1);
    expect(stream.socket.destroyed).toBe(false);
    // Another cluster joins now (its certificate would have expired by now too) and exports.
    const west = (await joinCluster(broker, 'west')).identity;
    const spec = {
      cluster: 'west', namespace: 'shop', name: 'cart', createdAt: '2020-01-01T00:00:00Z', type: 'ClusterSetIP',
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpoints: [{ addresses: ['10.9.0.1'] }],
    };
    expect((await broker.call(catalogPaths.export('shop', 'cart'), { method: 'PUT', body: spec, identity: west })).status).toBe(200);
    await waitFor(async () => (agent.catalog.get('shop', 'cart') ? true : undefined), { what: 'the export through the old stream', timeoutMs: 10_000 });
    expect(watchRequests).toHaveLength(1);

    // No renewal failed and no broker call of the agent failed across the rotations.
    const outcomes = (await agent.metrics.rotations.get()).values;
    expect(outcomes.filter((v) => v.labels.outcome !== 'success' && v.value > 0)).toEqual([]);
    const leases = (await agent.metrics.leaseRenewals.get()).values;
    expect(leases.filter((v) => v.labels.outcome === 'error' && v.value > 0)).toEqual([]);
  }, 120_000);
});
