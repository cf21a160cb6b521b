// deploy/etcd/ applied to a real-node lab cluster the way users apply it (issue 16): the
// image from scripts/etcd-image.sh imported into the node, the certificate Secrets made
// with the project's certs/ library, `kubectl apply -k` of an overlay on
// deploy/overlays/real-nodes/etcd, then wait until all three members are Ready.
//
// The harness plays the lab's missing storage provisioner (one hostPath PV per member,
// below the set's dir, bound to its claim data-etcd-<n>). The host has no route to pods, so
// every etcd call runs `curl` (and `openssl s_client`) in the node's network namespace,
// naming the member by its certificate's DNS name (curl --resolve): real TLS 1.3, the
// server's name checked exactly, the client certificate shown or not as a test says.
import '../../certs/setup.ts';
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRootCa } from '../../certs/ca.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { ExtendedUsage } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import type { Cluster, KubectlOptions } from './cluster.ts';
import type { ClusterSet } from './cluster-set.ts';
import { HarnessError } from './errors.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** The names deploy/etcd/ fixes (its certificates carry them). */
export const ETCD = { namespace: 'plexus-etcd', statefulSet: 'etcd', peerService: 'etcd-peer', clientService: 'etcd', members: 3, uid: 65532 } as const;

export interface EtcdImage { readonly tar: string; readonly ref: string }

let imageBuild: Promise<EtcdImage> | undefined;

/** scripts/etcd-image.sh: the cached tar, built when its inputs changed (once per process). */
export function etcdImage(): Promise<EtcdImage> {
  imageBuild ??= run('bash', [path.join(repoRoot, 'scripts', 'etcd-image.sh')], { timeout: 600_000 }).then(({ stdout }) => {
    const [tar, ref] = stdout.trim().split('\n').at(-1)!.split(' ');
    if (!tar || !ref) throw new HarnessError('PLX_HARNESS_START_FAILED', `scripts/etcd-image.sh printed no "<tar> <ref>": ${stdout}`);
    return { tar, ref };
  }, (err: Error & { stderr?: string }) => {
    imageBuild = undefined;
    throw new HarnessError('PLX_HARNESS_START_FAILED', `building the etcd image failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}`, { cause: err });
  });
  return imageBuild;
}

/** A certificate and key as PEM, plus the CA that verifies the other side. */
export interface TlsFiles { readonly ca: string; readonly cert: string; readonly key: string }

export interface EtcdPki {
  /** Secret etcd-server-tls: the client port's serving certificate; ca.crt verifies clients. */
  readonly server: TlsFiles;
  /** Secret etcd-peer-tls: each member's certificate on the peer port, both ways (CN etcd-peer). */
  readonly peer: TlsFiles;
  /** The broker's client certificate (CN plexus-broker); ca.crt verifies the server. */
  readonly client: TlsFiles;
}

export const memberName = (i: number, ns: string = ETCD.namespace): string => `etcd-${i}.${ETCD.peerService}.${ns}.svc`;

/** Every DNS name a member answers to on the client port, short and with the cluster domain. */
export function serverDnsNames(ns: string = ETCD.namespace, members: number = ETCD.members): string[] {
  const names = [...Array.from({ length: members }, (_, i) => memberName(i, ns)), `${ETCD.clientService}.${ns}.svc`];
  return [...names, ...names.map((n) => `${n}.cluster.local`)];
}

async function leaf(ca: CertificateAuthority, caPem: string, commonName: string, usages: ExtendedUsage[], dnsNames: string[], now: Date): Promise<TlsFiles> {
  const keys = await generateKeyPair();
  const { certPem } = await issueCertificate({ ca, publicKey: keys.publicKey, commonName, usages, dnsNames, lifetimeSeconds: 30 * 86_400, now });
  return { ca: caPem, cert: certPem, key: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * The lab's etcd PKI, as a user would make it (deploy/README.md): one CA for the client port (it issues the
 * serving certificate and the clients'), another for the peer port (members only), so no
 * client certificate can ever act as a member.
 */
export async function makeEtcdPki(ns: string = ETCD.namespace, now = new Date()): Promise<EtcdPki> {
  const clientCa = await createRootCa({ clusterset: 'etcd.plexus.test', commonName: 'plexus etcd client CA', now });
  const peerCa = await createRootCa({ clusterset: 'etcd.plexus.test', commonName: 'plexus etcd peer CA', now });
  const peerNames = Array.from({ length: ETCD.members }, (_, i) => memberName(i, ns));
  return {
    // clientAuth too: etcd's v3 JSON gateway dials the member's own gRPC port presenting
    // this certificate, and with serverAuth alone every gateway call failed (503, the member
    // logging "certificate specifies an incompatible key usage").
    server: await leaf(clientCa.ca, clientCa.ca.certPem, 'etcd', ['serverAuth', 'clientAuth'], serverDnsNames(ns), now),
    peer: await leaf(peerCa.ca, peerCa.ca.certPem, 'etcd-peer', ['serverAuth', 'clientAuth'], [...peerNames, ...peerNames.map((n) => `${n}.cluster.local`)], now),
    client: await leaf(clientCa.ca, clientCa.ca.certPem, 'plexus-broker', ['clientAuth'], [], now),
  };
}

/** Writes ca.crt, tls.crt, tls.key (keys 0600) into `dir`, the layout of the Secrets. */
export function writeTlsFiles(dir: string, f: TlsFiles): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
  writeFileSync(files.ca, f.ca);
  writeFileSync(files.cert, f.cert);
  writeFileSync(files.key, f.key, { mode: 0o600 });
  return files;
}

export interface CurlResult { readonly code: number; readonly status: number; readonly body: string; readonly stderr: string }

export interface CurlOptions {
  /** Which member answers: its index (its pod IP), or 'service' for the client Service's ClusterIP. */
  readonly to: number | 'service';
  /** The client certificate to show; 'none' shows none. Default: the broker's. */
  readonly as?: 'broker' | 'none' | 'peer';
  readonly body?: unknown;
  readonly timeoutSeconds?: number;
}

async function kubectlOk(cluster: Cluster, args: readonly string[], o?: KubectlOptions): Promise<string> {
  const r = await cluster.kubectl(args, o);
  if (r.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `kubectl ${args.slice(0, 4).join(' ')} in ${cluster.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export class EtcdDeployment {
  readonly cluster: Cluster;
  readonly image: EtcdImage;
  readonly pki: EtcdPki;
  readonly dir: string;
  readonly files: { server: TlsFiles; peer: TlsFiles; client: TlsFiles };
  readonly timings = { image: 0, ready: 0 };

  constructor(cluster: Cluster, image: EtcdImage, pki: EtcdPki, dir: string) {
    this.cluster = cluster;
    this.image = image;
    this.pki = pki;
    this.dir = dir;
    this.files = {
      server: writeTlsFiles(path.join(dir, 'tls', 'server'), pki.server),
      peer: writeTlsFiles(path.join(dir, 'tls', 'peer'), pki.peer),
      client: writeTlsFiles(path.join(dir, 'tls', 'client'), pki.client),
    };
  }

  get netns(): string { return this.cluster.node!.netns; }

  kubectl(args: readonly string[], o?: KubectlOptions): Promise<string> { return kubectlOk(this.cluster, ['-n', ETCD.namespace, ...args], o); }

  /** The pod IP of member i (empty while it has none). */
  async podIp(i: number): Promise<string> {
    return (await this.kubectl(['get', 'pod', `etcd-${i}`, '-o', 'jsonpath={.status.podIP}'])).trim();
  }

  /** The client Service's ClusterIP (kube-proxy's rules live in the node's namespace). */
  async serviceIp(): Promise<string> {
    return (await this.kubectl(['get', 'svc', ETCD.clientService, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  }

  /** Runs a command in the node's network namespace; never throws on a non-zero exit. */
  async inNode(cmd: string, args: readonly string[], o: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile('nsenter', [`--net=/run/netns/${this.netns}`, '--', cmd, ...args], { timeout: o.timeoutMs ?? 20_000, maxBuffer: 8 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
      child.stdin?.end(o.input ?? '');
    });
  }

  /**
   * An HTTPS call to etcd's v3 JSON gateway or /health with curl from the node: POST when
   * `body` is given. The member is named by its certificate name (`curl --resolve`), so the
   * server's identity is checked exactly.
   */
  async curl(urlPath: string, o: CurlOptions): Promise<CurlResult> {
    const ip = o.to === 'service' ? await this.serviceIp() : await this.podIp(o.to);
    if (!ip) return { code: -1, status: 0, body: '', stderr: `etcd-${String(o.to)} has no pod IP` };
    const host = o.to === 'service' ? `${ETCD.clientService}.${ETCD.namespace}.svc` : memberName(o.to);
    const who = o.as ?? 'broker';
    const cert = who === 'none' ? [] : who === 'peer' ? ['--cert', this.files.peer.cert, '--key', this.files.peer.key] : ['--cert', this.files.client.cert, '--key', this.files.client.key];
    const body = o.body === undefined ? [] : ['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', '@-'];
    const r = await this.inNode('curl', ['-sS', '--max-time', String(o.timeoutSeconds ?? 10), '--cacert', this.files.client.ca, ...cert,
      '--resolve', `${host}:2379:${ip}`, '-w', '\n%{http_code}', ...body, `https://${host}:2379${urlPath}`], { input: o.body === undefined ? '' : JSON.stringify(o.body) });
    const lines = r.stdout.split('\n');
    const status = Number(lines.pop() ?? 0);
    return { code: r.code, status, body: lines.join('\n'), stderr: r.stderr };
  }

  /** POST to the v3 gateway as the broker; a transport error or non-200 throws. */
  async v3<T>(urlPath: string, body: unknown, to: number | 'service' = 'service'): Promise<T> {
    const r = await this.curl(urlPath, { to, body });
    if (r.code !== 0 || r.status !== 200) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `etcd ${urlPath} via ${String(to)}: curl ${r.code}, HTTP ${r.status}: ${r.stderr.trim()} ${r.body.trim()}`);
    return JSON.parse(r.body) as T;
  }

  async put(key: string, value: string, to: number | 'service' = 'service'): Promise<void> {
    await this.v3('/v3/kv/put', { key: b64(key), value: b64(value) }, to);
  }

  /**
   * The value of `key` as member `to` has it. Serializable: that member answers from its own
   * copy (no round to the leader), which is what shows a rejoined member caught up.
   */
  async get(key: string, to: number | 'service' = 'service', serializable = false): Promise<string | undefined> {
    const r = await this.v3<{ kvs?: { value?: string }[] }>('/v3/kv/range', { key: b64(key), serializable }, to);
    const v = r.kvs?.[0]?.value;
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
  }

  /** Every key under `prefix` with its value, as member `to` has it (serializable). */
  async list(prefix: string, to: number | 'service'): Promise<Record<string, string>> {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const r = await this.v3<{ kvs?: { key: string; value?: string }[] }>('/v3/kv/range', { key: b64(prefix), range_end: b64(end), serializable: true }, to);
    return Object.fromEntries((r.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value ?? '', 'base64').toString()]));
  }

  /** Member i's view: its member ID and the leader's (decimal strings, as the gateway prints uint64). */
  async status(i: number): Promise<{ memberId: string; leader: string; raftIndex: string }> {
    const r = await this.v3<{ header: { member_id: string }; leader: string; raftIndex: string }>('/v3/maintenance/status', {}, i);
    return { memberId: r.header.member_id, leader: r.leader, raftIndex: r.raftIndex };
  }

  /** Names by member ID, from the member list. */
  async members(): Promise<Map<string, string>> {
    const r = await this.v3<{ members: { ID: string; name: string }[] }>('/v3/cluster/member/list', {});
    return new Map(r.members.map((m) => [m.ID, m.name]));
  }

  /** Index of the member that leads now (asked of every member that answers; they must agree). */
  async leader(): Promise<number> {
    const names = await this.members();
    const views = await Promise.all([0, 1, 2].map((i) => this.status(i).catch(() => undefined)));
    const leaders = new Set(views.filter((v) => v && v.leader !== '0').map((v) => v!.leader));
    if (leaders.size !== 1) throw new HarnessError('PLX_HARNESS_TIMEOUT', `members disagree on the leader: ${[...leaders].join(', ') || 'none'}`);
    const name = names.get([...leaders][0]!);
    const i = Number(/^etcd-(\d+)$/.exec(name ?? '')?.[1]);
    if (!Number.isInteger(i)) throw new HarnessError('PLX_HARNESS_TIMEOUT', `leader ${[...leaders][0]} is not a known member`);
    return i;
  }

  /** /health of member i over TLS as the broker: true when it reports healthy (it has a leader and serves). */
  async healthy(i: number): Promise<boolean> {
    const r = await this.curl('/health', { to: i, timeoutSeconds: 5 });
    return r.code === 0 && r.status === 200 && (JSON.parse(r.body) as { health?: string }).health === 'true';
  }

  /** Until all three StatefulSet pods are Ready and every member reports healthy over TLS. */
  async waitHealthy(timeoutMs = 300_000): Promise<void> {
    await waitFor(async () => {
      const ready = (await this.kubectl(['get', 'statefulset', ETCD.statefulSet, '-o', 'jsonpath={.status.readyReplicas}'])).trim();
      if (ready !== String(ETCD.members)) return undefined;
      for (let i = 0; i < ETCD.members; i++) if (!(await this.healthy(i))) return undefined;
      return true;
    }, { what: `3 etcd members healthy over TLS in ${this.cluster.name}`, timeoutMs, intervalMs: 1000 });
  }

  /** Resident memory (cgroup total_rss) of each member's pod, by pod name; undefined where not found. */
  async memberMemoryBytes(): Promise<Record<string, number | undefined>> {
    const root = path.join('/sys/fs/cgroup/memory', this.netns, 'kubepods');   // the lab's kubelet cgroup root is named as its netns
    const out: Record<string, number | undefined> = {};
    for (let i = 0; i < ETCD.members; i++) {
      const uid = (await this.kubectl(['get', 'pod', `etcd-${i}`, '-o', 'jsonpath={.metadata.uid}'])).trim();
      out[`etcd-${i}`] = ['', 'burstable', 'besteffort'].map((qos) => {
        try {
          const m = /^total_rss (\d+)$/m.exec(readFileSync(path.join(root, qos, `pod${uid}`, 'memory.stat'), 'utf8'));
          return m ? Number(m[1]) : undefined;
        } catch {
          return undefined;
        }
      }).find((v) => v !== undefined);
    }
    return out;
  }

  /** The errors member i logged for connections it refused on the client port ("rejected connection on client endpoint"). */
  async rejections(i: number): Promise<string[]> {
    const out = await this.kubectl(['logs', `etcd-${i}`], { timeoutMs: 20_000 });
    return out.split('\n').flatMap((l) => {
      try {
        const e = JSON.parse(l) as { msg?: string; error?: string };
        return e.msg === 'rejected connection on client endpoint' ? [e.error ?? ''] : [];
      } catch {
        return [];
      }
    });
  }

  /** Pods, events, and each member's log: for a failed test. */
  async logs(): Promise<string> {
    const cmds = [['get', 'pods,pvc,svc,endpointslices', '-o', 'wide'], ['describe', 'pods'], ['get', 'events', '--sort-by=.lastTimestamp'],
      ...[0, 1, 2].map((i) => ['logs', `etcd-${i}`, '--tail=80'])];
    const outs = await Promise.all(cmds.map(async (args) => {
      const r = await this.cluster.kubectl(['-n', ETCD.namespace, ...args], { timeoutMs: 20_000 }).catch((e: Error) => ({ stdout: '', stderr: e.message }));
      return `### kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`;
    }));
    return outs.join('\n');
  }
}

/** The PVs a provisioner would make: hostPath below the set dir, each bound to one member's claim. */
function memberVolumes(dir: string): string {
  return Array.from({ length: ETCD.members }, (_, i) => {
    const data = path.join(dir, `data-${i}`);
    mkdirSync(data, { recursive: true, mode: 0o700 });
    chownSync(data, ETCD.uid, ETCD.uid);                 // hostPath gets no fsGroup
    return `apiVersion: v1
kind: PersistentVolume
metadata: { name: plexus-etcd-data-${i}, labels: { app.kubernetes.io/part-of: plexus } }
spec:
  capacity: { storage: 4Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: { namespace: ${ETCD.namespace}, name: data-etcd-${i} }
  hostPath: { path: ${JSON.stringify(data)}, type: Directory }
`;
  }).join('---\n');
}

export interface EtcdDeployOptions {
  /** Index of the cluster to deploy into; default 0. */
  readonly cluster?: number;
  readonly timeoutMs?: number;
}

/** deploy/etcd/ into one real-node cluster; resolves when all three members are healthy over TLS. */
export async function deployEtcd(set: ClusterSet, o: EtcdDeployOptions = {}): Promise<EtcdDeployment> {
  const idx = o.cluster ?? 0;
  const cluster = set.clusters[idx];
  const node = set.lab?.nodes[idx];
  if (!cluster?.node || !node) throw new HarnessError('PLX_HARNESS_BAD_OPTION', 'deployEtcd needs real nodes: startClusters(n, { nodes: true })');
  let t = performance.now();
  const image = await etcdImage();
  await node.importImages([image.tar]);
  const dir = path.join(set.dir, 'etcd-deploy', cluster.name);
  const d = new EtcdDeployment(cluster, image, await makeEtcdPki(), dir);
  d.timings.image = Math.round(performance.now() - t);
  t = performance.now();
  try {
    await kubectlOk(cluster, ['apply', '-f', '-'], { input: memberVolumes(path.join(dir, 'volumes')) });
    const k = dir;                                       // kustomize reads Secret files only in or below its dir
    const [, tag] = image.ref.split(':');
    const secret = (name: string, f: { ca: string; cert: string; key: string }): string =>
      `  - { name: ${name}, namespace: ${ETCD.namespace}, type: kubernetes.io/tls, files: ${JSON.stringify([`ca.crt=${path.relative(k, f.ca)}`, `tls.crt=${path.relative(k, f.cert)}`, `tls.key=${path.relative(k, f.key)}`])} }`;
    writeFileSync(path.join(k, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: ${JSON.stringify([path.relative(k, path.join(repoRoot, 'deploy', 'overlays', 'real-nodes', 'etcd'))])}
images:
  - { name: plexus.local/etcd, newTag: ${JSON.stringify(tag)} }
secretGenerator:
${secret('etcd-server-tls', d.files.server)}
${secret('etcd-peer-tls', d.files.peer)}
generatorOptions: { disableNameSuffixHash: true }
`);
    await kubectlOk(cluster, ['apply', '-k', k], { timeoutMs: 60_000 });
    await d.waitHealthy(o.timeoutMs ?? 300_000);
    d.timings.ready = Math.round(performance.now() - t);
    return d;
  } catch (err) {
    const file = path.join(set.logsDir, 'etcd-deploy.log');
    writeFileSync(file, await d.logs().catch((e: Error) => e.message));
    throw new HarnessError(err instanceof HarnessError ? err.code : 'PLX_HARNESS_START_FAILED', `deploying etcd failed: ${(err as Error).message} (diagnostics: ${file})`, { cause: err });
  }
}
