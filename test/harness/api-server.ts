// One cluster's kube-apiserver: flags after controller-runtime's envtest (client CA,
// serving certificate, service-account keys and issuer, a service CIDR, RBAC), no
// controller-manager, scheduler or kubelets. It can be stopped and started again on the
// same port with the same etcd prefix, so its objects survive a restart.
import https from 'node:https';
import path from 'node:path';
import { Component } from './component.ts';
import { HarnessError } from './errors.ts';
import { waitFor } from './wait-for.ts';

export interface ApiServerOptions {
  readonly clusterName: string;
  readonly binary: string;
  /** Address to listen on and advertise; default 127.0.0.1 (a lab node's address with nodes). */
  readonly host?: string;
  /** Network namespace to run in (the real-node lab). */
  readonly netns?: string;
  /** The cluster has a real node: the client certificate to present to its kubelet. */
  readonly kubeletClient?: { readonly cert: string; readonly key: string };
  readonly port: number;
  readonly etcdEndpoint: string;
  readonly etcdPrefix: string;
  readonly serviceCidr: string;
  readonly certDir: string;
  readonly files: {
    caCert: string; servingCert: string; servingKey: string; serviceAccountKey: string; serviceAccountPublicKey: string;
  };
  readonly logsDir: string;
  readonly runDir: string;
  readonly startTimeoutMs: number;
  readonly extraArgs: readonly string[];
  /** Credentials that may read /readyz (the admin's). */
  readonly probe: { caPem: string; certPem: string; keyPem: string };
}

function apiServerArgs(o: ApiServerOptions): string[] {
  const host = o.host ?? '127.0.0.1';
  const url = `https://${host}:${o.port}`;
  return [
    `--bind-address=${host}`,
    `--advertise-address=${host}`,
    `--secure-port=${o.port}`,
    `--cert-dir=${o.certDir}`,
    `--tls-cert-file=${o.files.servingCert}`,
    `--tls-private-key-file=${o.files.servingKey}`,
    `--client-ca-file=${o.files.caCert}`,
    `--etcd-servers=${o.etcdEndpoint}`,
    `--etcd-prefix=${o.etcdPrefix}`,
    `--service-cluster-ip-range=${o.serviceCidr}`,
    `--service-account-issuer=${url}`,
    `--service-account-key-file=${o.files.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${o.files.serviceAccountKey}`,
    ...(o.kubeletClient ? [
      // A real node: its kubelet is authorized as a node, and a controller-manager creates
      // the default ServiceAccounts, so the ServiceAccount admission plugin stays on.
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--kubelet-client-certificate=${o.kubeletClient.cert}`,
      `--kubelet-client-key=${o.kubeletClient.key}`,
      '--kubelet-preferred-address-types=InternalIP',   // node names resolve nowhere
    ] : [
      '--authorization-mode=RBAC',
      // No controller-manager creates default ServiceAccounts, so (as envtest does) do not
      // make pods wait for them.
      '--disable-admission-plugins=ServiceAccount',
    ]),
    '--allow-privileged=true',
    '--profiling=false',
    ...o.extraArgs,
  ];
}

/** GET https://<host>:<port><path> with client credentials; resolves the status code. */
function probe(host: string, port: number, urlPath: string, creds: ApiServerOptions['probe']): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({
      host, port, path: urlPath, ca: creds.caPem, cert: creds.certPem, key: creds.keyPem,
      agent: false, timeout: 2000,
    }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('probe timed out')));
    req.once('error', reject);
  });
}

export class ApiServer {
  readonly options: ApiServerOptions;
  readonly component: Component;
  readonly url: string;

  constructor(o: ApiServerOptions) {
    this.options = o;
    this.url = `https://${o.host ?? '127.0.0.1'}:${o.port}`;
    this.component = new Component({
      name: `kube-apiserver-${o.clusterName}`,
      command: o.binary,
      args: apiServerArgs(o),
      logFile: path.join(o.logsDir, `kube-apiserver-${o.clusterName}.log`),
      pidFile: path.join(o.runDir, `kube-apiserver-${o.clusterName}.pid`),
      netns: o.netns,
    });
  }

  get running(): boolean { return this.component.running; }

  /** Starts the process and resolves once /readyz answers 200. */
  async start(): Promise<void> {
    if (this.running) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `${this.component.name} is already running`);
    this.component.start();
    try {
      await this.#waitReady();
    } catch (err) {
      await this.component.stop();
      throw err;
    }
  }

  async #waitReady(): Promise<void> {
    await waitFor(async () => ((await probe(this.options.host ?? '127.0.0.1', this.options.port, '/readyz', this.options.probe)) === 200 ? true : undefined), {
      what: `${this.component.name} /readyz`,
      timeoutMs: this.options.startTimeoutMs,
      failFast: () => this.component.notRunningError(),
    });
  }

  async stop(): Promise<void> {
    await this.component.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
