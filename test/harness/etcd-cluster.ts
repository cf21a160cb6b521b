// A real etcd cluster of N members (default 3) on loopback for the broker's etcd tests and
// benchmarks: TLS 1.3 with client-certificate authentication on both client and peer
// traffic (PKI made with certs/, keys 0600), one temp dir that stop() removes. Members can
// be SIGKILLed and restarted on the same ports and data, which is how the tests kill a leader.
// Unlike etcd.ts (the plain-HTTP etcd behind the kube-apiservers) nothing here is shared.
import '../../certs/setup.ts';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { createRootCa } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { resolveBinaries } from './binaries.ts';
import { Component } from './component.ts';
import { HarnessError } from './errors.ts';
import { onProcessExit } from './exit-guard.ts';
import { freePorts } from './free-ports.ts';
import { waitFor } from './wait-for.ts';

export interface EtcdClusterOptions {
  readonly members?: number;            // default 3
  readonly startTimeoutMs?: number;     // default 30 s
  readonly binary?: string;             // default: the cache's etcd (resolveBinaries)
  /** More etcd flags for every member, e.g. ['--watch-progress-notify-interval=1s']. */
  readonly extraArgs?: readonly string[];
}

/** What a client needs: PEM for in-process clients, file paths for child processes. */
export interface EtcdClientTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly files: { readonly ca: string; readonly cert: string; readonly key: string };
}

export interface EtcdMember {
  readonly name: string;                // m0, m1, …
  readonly endpoint: string;            // https://127.0.0.1:<clientPort>
  readonly clientPort: number;
  readonly peerPort: number;
  readonly component: Component;
}

const LIFETIME_SECONDS = 24 * 3600;

function writePrivate(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 });
}

async function issue(ca: Awaited<ReturnType<typeof createRootCa>>['ca'], dir: string, name: string, server: boolean): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  // Members get both usages: a member dials its peers as a client, and etcd's JSON gateway
  // dials the member's own gRPC port with the member's certificate.
  const { certPem } = await issueCertificate({
    ca, publicKey: keys.publicKey, commonName: name,
    ...(server ? { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } : {}),
    usages: server ? ['serverAuth', 'clientAuth'] : ['clientAuth'],
    lifetimeSeconds: LIFETIME_SECONDS, now: new Date(),
  });
  const keyPem = await exportPrivateKeyPem(keys.privateKey);
  writeFileSync(path.join(dir, `${name}.crt`), certPem);
  writePrivate(path.join(dir, `${name}.key`), keyPem);
  return { certPem, keyPem };
}

export class EtcdCluster {
  readonly dir: string;
  readonly members: readonly EtcdMember[];
  readonly endpoints: readonly string[];
  readonly tls: EtcdClientTls;
  readonly #startTimeoutMs: number;
  readonly #agent: Agent;
  readonly #unregister: () => void;
  #stopped = false;

  constructor(parts: { dir: string; members: EtcdMember[]; tls: EtcdClientTls; startTimeoutMs: number }) {
    this.dir = parts.dir;
    this.members = parts.members;
    this.endpoints = parts.members.map((m) => m.endpoint);
    this.tls = parts.tls;
    this.#startTimeoutMs = parts.startTimeoutMs;
    this.#agent = new Agent({ connect: { ca: parts.tls.caPem, cert: parts.tls.certPem, key: parts.tls.keyPem, minVersion: 'TLSv1.3' } });
    this.#unregister = onProcessExit(() => {
      for (const m of this.members) m.component.killNow();
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `no etcd member ${i} (cluster has ${this.members.length})`);
    return m;
  }

  /** A running member's status through the JSON gateway (member id, leader id, revision). */
  async status(i: number): Promise<{ memberId: string; leader: string; revision: number }> {
    const res = await request(`${this.member(i).endpoint}/v3/maintenance/status`, {
      method: 'POST', body: '{}', dispatcher: this.#agent, headersTimeout: 2000, bodyTimeout: 2000,
    });
    const body = await res.body.json() as { header?: { member_id?: string; revision?: string }; leader?: string };
    if (res.statusCode !== 200 || !body.header?.member_id || !body.leader) {
      throw new HarnessError('PLX_HARNESS_START_FAILED', `etcd ${this.member(i).name} status: HTTP ${res.statusCode}`);
    }
    return { memberId: body.header.member_id, leader: body.leader, revision: Number(body.header.revision ?? 0) };
  }

  /** Compacts the key space up to revision (physically, so watches from before it fail). */
  async compact(revision: number): Promise<void> {
    const live = this.members.findIndex((m) => m.component.running);
    const res = await request(`${this.member(live).endpoint}/v3/kv/compaction`, {
      method: 'POST', body: JSON.stringify({ revision: String(revision), physical: true }), dispatcher: this.#agent,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `etcd compaction to ${revision}: HTTP ${res.statusCode} ${text}`);
  }

  /** Index of the current leader, once the running members agree on one. */
  async leader(timeoutMs = this.#startTimeoutMs): Promise<number> {
    return waitFor(async () => {
      const live = this.members.map((m, i) => ({ m, i })).filter(({ m }) => m.component.running);
      const statuses = await Promise.all(live.map(async ({ i }) => ({ i, s: await this.status(i) })));
      const leaders = new Set(statuses.map(({ s }) => s.leader));
      if (leaders.size !== 1 || statuses.length === 0) return undefined;
      const found = statuses.find(({ s }) => s.memberId === statuses[0]!.s.leader);
      return found?.i;
    }, { what: 'the etcd members to agree on a leader', timeoutMs });
  }

  /** SIGKILL one member (no graceful leader transfer); resolves once it is gone. */
  async kill(i: number): Promise<void> {
    const m = this.member(i);
    const pid = m.component.pid();
    if (pid !== undefined) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    m.component.killNow();
    await m.component.exited();
  }

  /** Starts a killed member again on its ports and data dir; resolves when it is healthy. */
  async restart(i: number): Promise<void> {
    if (this.#stopped) throw new HarnessError('PLX_HARNESS_STOPPED', 'the etcd cluster was stopped');
    const m = this.member(i);
    if (m.component.running) await this.kill(i);
    m.component.start();
    await this.#waitHealthy(i);
  }

  async #waitHealthy(i: number): Promise<void> {
    const m = this.member(i);
    await waitFor(async () => {
      const res = await request(`${m.endpoint}/health`, { dispatcher: this.#agent, headersTimeout: 2000, bodyTimeout: 2000 });
      const body = await res.body.json() as { health?: string };
      return body.health === 'true';
    }, { what: `etcd ${m.name} to report healthy`, timeoutMs: this.#startTimeoutMs, failFast: () => m.component.notRunningError() });
  }

  /** Waits until every member reports healthy (used by startEtcdCluster). */
  async waitHealthy(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.#waitHealthy(i)));
  }

  /** Stops every member, removes the temp dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.members.map((m) => m.component.stop()));
    await this.#agent.close();
    rmSync(this.dir, { recursive: true, force: true });
    this.#unregister();
  }
}

/** Starts the cluster; resolves when every member is healthy (a leader exists). */
export async function startEtcdCluster(o: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const n = o.members ?? 3;
  if (!Number.isInteger(n) || n < 1 || n > 7) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `members must be 1..7, got ${n}`);
  const binary = o.binary ?? resolveBinaries().etcd;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-etcd-'));
  try {
    const pki = path.join(dir, 'pki');
    mkdirSync(pki, { mode: 0o700 });
    const { ca } = await createRootCa({ clusterset: 'etcd.test', now: new Date(), commonName: 'plexus-harness etcd CA' });
    writeFileSync(path.join(pki, 'ca.crt'), ca.certPem);
    const client = await issue(ca, pki, 'client', false);
    const ports = await freePorts(2 * n);
    const names = Array.from({ length: n }, (_, i) => `m${i}`);
    const initialCluster = names.map((name, i) => `${name}=https://127.0.0.1:${ports[2 * i + 1]}`).join(',');
    const members: EtcdMember[] = [];
    for (const [i, name] of names.entries()) {
      await issue(ca, pki, name, true);
      const clientPort = ports[2 * i]!;
      const peerPort = ports[2 * i + 1]!;
      const endpoint = `https://127.0.0.1:${clientPort}`;
      const peer = `https://127.0.0.1:${peerPort}`;
      mkdirSync(path.join(dir, name), { mode: 0o700 });
      const crt = path.join(pki, `${name}.crt`);
      const key = path.join(pki, `${name}.key`);
      const caFile = path.join(pki, 'ca.crt');
      const component = new Component({
        name: `etcd-${name}`,
        command: binary,
        args: [
          `--name=${name}`, `--data-dir=${path.join(dir, name, 'data')}`,
          `--listen-client-urls=${endpoint}`, `--advertise-client-urls=${endpoint}`,
          `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=${initialCluster}`, '--initial-cluster-state=new', '--initial-cluster-token=plexus-test',
          `--cert-file=${crt}`, `--key-file=${key}`, `--trusted-ca-file=${caFile}`, '--client-cert-auth=true',
          `--peer-cert-file=${crt}`, `--peer-key-file=${key}`, `--peer-trusted-ca-file=${caFile}`, '--peer-client-cert-auth=true',
          '--tls-min-version=TLS1.3',
          '--unsafe-no-fsync=true', '--log-level=warn',
          ...(o.extraArgs ?? []),
        ],
        logFile: path.join(dir, name, 'etcd.log'),
        pidFile: path.join(dir, name, 'etcd.pid'),
      });
      members.push({ name, endpoint, clientPort, peerPort, component });
    }
    const tls: EtcdClientTls = {
      caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem,
      files: { ca: path.join(pki, 'ca.crt'), cert: path.join(pki, 'client.crt'), key: path.join(pki, 'client.key') },
    };
    const cluster = new EtcdCluster({ dir, members, tls, startTimeoutMs: o.startTimeoutMs ?? 30_000 });
    for (const m of members) m.component.start();
    try {
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
