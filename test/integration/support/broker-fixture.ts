// A real broker for integration tests: a fresh data dir from initBroker, startBroker on
// 127.0.0.1:0 with real TLS 1.3, an injected clock that tests move instead of sleeping,
// and helpers to call it over undici with real client certificates.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Agent, request } from 'undici';
import { createCsr } from '../../../certs/csr.ts';
import type { Identity } from '../../../certs/identity.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../../certs/keys.ts';
import type { IdentityResponse } from '../../../broker/api/types.ts';
import { paths } from '../../../broker/api/types.ts';
import { parseBrokerConfig, type BrokerConfigInput } from '../../../broker/config.ts';
import { dataDirLayout, type DataDirLayout } from '../../../broker/data-dir.ts';
import { initBroker } from '../../../broker/init.ts';
import { startBroker, type RunningBroker } from '../../../broker/main.ts';

export class TestClock {
  #now: number;
  constructor(start = new Date()) {
    this.#now = start.getTime();
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}

export interface ClientIdentity {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** JSON-encoded unless rawBody is given. */
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  identity?: ClientIdentity;
}

export interface CallResult {
  status: number;
  body: unknown;
}

export interface TestBroker {
  readonly url: string;
  readonly clusterset: string;
  readonly dataDir: string;
  readonly layout: DataDirLayout;
  readonly clock: TestClock;
  readonly broker: RunningBroker;
  readonly caPem: string;
  readonly admin: ClientIdentity;
  call(path: string, o?: CallOptions): Promise<CallResult>;
  stop(): Promise<void>;
}

/** `clock`: the broker's clock (default a TestClock fixed at the start; tests move it). */
export async function startTestBroker(o: { clusterset?: string; config?: BrokerConfigInput; logger?: Logger; clock?: TestClock } = {}): Promise<TestBroker> {
  const clusterset = o.clusterset ?? 'acme.example';
  const root = mkdtempSync(join(tmpdir(), 'plexus-broker-it-'));
  const dataDir = join(root, 'broker');
  const clock = o.clock ?? new TestClock();
  await initBroker({ dataDir, clusterset, now: clock.now() });
  const config = parseBrokerConfig({ dataDir, listen: '127.0.0.1:0', logLevel: 'silent', ...o.config });
  const broker = await startBroker(config, { clock, logger: o.logger ?? pino({ level: 'silent' }) });
  const layout = dataDirLayout(dataDir);
  const caPem = readFileSync(layout.adminCa, 'utf8');
  const admin = { certPem: readFileSync(layout.adminCert, 'utf8'), keyPem: readFileSync(layout.adminKey, 'utf8') };
  return {
    url: broker.url, clusterset, dataDir, layout, clock, broker, caPem, admin,
    call: (path, co) => callBroker(broker.url, caPem, path, co),
    async stop() {
      await broker.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function callBroker(url: string, caPem: string, path: string, o: CallOptions = {}): Promise<CallResult> {
  const dispatcher = new Agent({
    connect: { ca: caPem, ...(o.identity ? { cert: o.identity.certPem, key: o.identity.keyPem } : {}) },
  });
  try {
    const hasBody = o.body !== undefined || o.rawBody !== undefined;
    const res = await request(new URL(path, url), {
      method: o.method ?? (hasBody ? 'POST' : 'GET'),
      dispatcher,
      ...(hasBody ? { body: o.rawBody ?? JSON.stringify(o.body), headers: { 'content-type': o.contentType ?? 'application/json' } } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  } finally {
    await dispatcher.close();
  }
}

/** The error code of a failed call (undefined for a success). */
export function errorCode(r: CallResult): string | undefined {
  return (r.body as { error?: { code?: string } } | undefined)?.error?.code;
}

export interface ClusterKeys {
  readonly keys: Awaited<ReturnType<typeof generateKeyPair>>;
  readonly keyPem: string;
}

export async function clusterKeys(): Promise<ClusterKeys> {
  const keys = await generateKeyPair('P-256');
  return { keys, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

export async function clusterCsr(k: ClusterKeys, clusterset: string, clusterId: string, o: { commonName?: string; identity?: Identity } = {}): Promise<string> {
  return createCsr({
    keys: k.keys,
    commonName: o.commonName ?? clusterId,
    identity: o.identity ?? { trustDomain: clusterset, kind: 'cluster', name: clusterId },
  });
}

export async function createToken(b: TestBroker, cluster: string, ttlSeconds?: number): Promise<{ token: string; id: string }> {
  const r = await b.call(paths.adminTokens, { body: { cluster, ...(ttlSeconds ? { ttlSeconds } : {}) }, identity: b.admin });
  if (r.status !== 201) throw new Error(`token create failed: ${JSON.stringify(r.body)}`);
  const body = r.body as { token: string; info: { id: string } };
  return { token: body.token, id: body.info.id };
}

/** Mints a token and joins with a fresh key; returns the cluster's client identity. */
export async function joinCluster(b: TestBroker, clusterId: string): Promise<{ identity: ClientIdentity; response: IdentityResponse; keys: ClusterKeys }> {
  const { token } = await createToken(b, clusterId);
  const keys = await clusterKeys();
  const r = await b.call(paths.join, { body: { token, csr: await clusterCsr(keys, b.clusterset, clusterId) } });
  if (r.status !== 201) throw new Error(`join failed: ${JSON.stringify(r.body)}`);
  const response = r.body as IdentityResponse;
  return { identity: { certPem: response.certificate, keyPem: keys.keyPem }, response, keys };
}
