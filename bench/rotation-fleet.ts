// bench:rotation's fleet: a broker process started the way an operator starts one
// (`plexus broker init`, `plexus broker start`), and N clusters enrolled with admin-API
// join tokens and real CSRs (keys made before the joins, so joins run back to back).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { BrokerClient } from '../agent/broker-client/broker-client.ts';
import { AdminClient } from '../broker/admin-client.ts';
import { dataDirLayout } from '../broker/data-dir.ts';
import { createCsr } from '../certs/csr.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../certs/keys.ts';
import { plexus, plexusDaemon } from '../test/support/plexus-process.ts';
import { pool } from './pool.ts';

export interface BrokerProcess {
  url: string;
  pid: number;
  caPem: string;
  admin: AdminClient;
  stop(): Promise<void>;
}

export interface Enrolled {
  clusterId: string;
  certPem: string;
  keyPem: string;
}

const clusterId = (i: number) => `agent-${String(i).padStart(4, '0')}`;

export async function startBroker(root: string, clusterset: string, lifetimeS: number): Promise<BrokerProcess> {
  const dataDir = path.join(root, 'broker');
  await plexus(['broker', 'init', '--data-dir', dataDir, '--clusterset', clusterset]);
  const child: ChildProcess = plexusDaemon(['broker', 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'warn',
    '--lease-duration', '1h', '--cluster-cert-lifetime', `${lifetimeS}s`], 2);
  const layout = dataDirLayout(dataDir);
  let admin: AdminClient | undefined;
  const stop = async () => {
    await admin?.close();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    if (existsSync(layout.brokerJson)) {
      const info = JSON.parse(readFileSync(layout.brokerJson, 'utf8')) as { url: string; pid: number };
      if (info.pid === child.pid) {
        admin = AdminClient.fromDataDir(dataDir, info.url);
        return { url: info.url, pid: child.pid, caPem: readFileSync(layout.adminCa, 'utf8'), admin, stop };
      }
    }
    await delay(50);
  }
  await stop();
  throw new Error('broker did not start within 30 s');
}

export async function mintTokens(broker: BrokerProcess, n: number): Promise<string[]> {
  return pool(n, 8, async (i) => (await broker.admin.createToken({ cluster: clusterId(i) })).token);
}

export interface KeyMaterial { keyPem: string; csr: string }

/** A fresh P-256 key and a CSR for cluster `id`. */
export async function keyAndCsr(clusterset: string, id: string): Promise<KeyMaterial> {
  const keys = await generateKeyPair('P-256');
  const csr = await createCsr({ keys, commonName: id, identity: { trustDomain: clusterset, kind: 'cluster', name: id } });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csr };
}

/** Enrolls one cluster per token (8 at a time); returns the fleet and how long each phase took. */
export async function joinAll(broker: BrokerProcess, clusterset: string, tokens: string[]) {
  let t = performance.now();
  const material: KeyMaterial[] = [];
  for (let i = 0; i < tokens.length; i++) material.push(await keyAndCsr(clusterset, clusterId(i)));
  const prepS = (performance.now() - t) / 1000;
  t = performance.now();
  const client = new BrokerClient({ baseUrl: broker.url, trustBundle: broker.caPem });
  const joinedAt: number[] = [];
  try {
    const fleet = await pool(tokens.length, 8, async (i): Promise<Enrolled> => {
      const m = material[i]!;
      const res = await client.join({ token: tokens[i]!, csr: m.csr });
      joinedAt.push(Date.now());
      return { clusterId: clusterId(i), certPem: res.certificate, keyPem: m.keyPem };
    });
    const enrollS = (performance.now() - t) / 1000;
    return { fleet, prepS, enrollS, enrollSpanS: (Math.max(...joinedAt) - Math.min(...joinedAt)) / 1000 };
  } finally {
    await client.close();
  }
}
