// `plexus agent …` subcommands. Parsing and presentation only; the work lives in the
// subsystem modules.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseOutputFormat, printData } from '../output.ts';
import { AgentError } from '../../agent/errors.ts';
import { FileIdentityStore } from '../../agent/identity/file-identity-store.ts';
import type { IdentityStore } from '../../agent/identity/identity-store.ts';
import { joinClusterset } from '../../agent/join/join.ts';
import { dnsCommand } from './dns-commands.ts';

interface JoinFlags {
  broker: string; token?: string; tokenFile?: string; clusterId: string; caFingerprint: string;
  dataDir?: string; kubeconfig?: string; inCluster?: boolean; namespace: string; secretName: string;
  keyAlgorithm: 'P-256' | 'RSA-2048'; force?: boolean; output: 'table' | 'json';
}

function readToken(flags: JoinFlags): string {
  const sources = [flags.token, flags.tokenFile, process.env.PLEXUS_JOIN_TOKEN].filter((s) => s !== undefined);
  if (flags.token && flags.tokenFile) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'give either --token or --token-file, not both');
  if (sources.length === 0) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'a join token is required: --token, --token-file, or PLEXUS_JOIN_TOKEN');
  if (flags.tokenFile) {
    try {
      return readFileSync(flags.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `cannot read --token-file ${flags.tokenFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  return (flags.token ?? process.env.PLEXUS_JOIN_TOKEN ?? '').trim();
}

/**
 * Secret when a cluster is reachable (kubeconfig or in-cluster), else a data dir. The
 * Kubernetes client is loaded only when needed: it costs about a second of start-up.
 */
export async function chooseIdentityStore(flags: Pick<JoinFlags, 'dataDir' | 'kubeconfig' | 'inCluster' | 'namespace' | 'secretName'>): Promise<IdentityStore> {
  const inCluster = flags.inCluster ?? (!flags.kubeconfig && !flags.dataDir && Boolean(process.env.KUBERNETES_SERVICE_HOST));
  const chosen = [flags.dataDir !== undefined, flags.kubeconfig !== undefined, Boolean(flags.inCluster)].filter(Boolean).length;
  if (chosen > 1) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'choose one identity location: --data-dir, --kubeconfig or --in-cluster');
  if (flags.kubeconfig || inCluster) {
    const { loadKubeConfig, secretAccess } = await import('../../agent/kube/secrets.ts');
    const { SecretIdentityStore } = await import('../../agent/identity/secret-identity-store.ts');
    // With --kubeconfig the operator's own credentials create a missing namespace; in a pod it is the agent's own.
    return new SecretIdentityStore(secretAccess(loadKubeConfig(flags.kubeconfig)), flags.namespace, flags.secretName, { createNamespace: Boolean(flags.kubeconfig) });
  }
  if (!flags.dataDir) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'where should the identity go? pass --kubeconfig PATH (Secret in that cluster), --in-cluster, or --data-dir DIR');
  return new FileIdentityStore(flags.dataDir);
}

function joinCommand(): Command {
  return new Command('join')
    .description('Enroll this cluster with the broker and store its identity.\n\n'
      + 'The private key is generated here and never leaves; only a CSR is sent, with the one-time\n'
      + 'token. The broker is trusted only if it presents the root whose fingerprint you pin.\n'
      + 'The identity goes to a kubernetes.io/tls Secret when a cluster is reachable, else to a 0600 file.')
    .requiredOption('--broker <url>', 'broker URL, e.g. https://broker.example:7443')
    .option('--token <token>', 'one-time join token from `plexus broker token create`')
    .option('--token-file <path>', 'read the token from a file (e.g. a mounted Secret); env PLEXUS_JOIN_TOKEN also works')
    .requiredOption('--cluster-id <id>', 'this cluster\'s ID (RFC-1123 label); must match the token')
    .requiredOption('--ca-fingerprint <sha256:hex>', 'fingerprint of the broker root, printed by `token create`')
    .option('--data-dir <dir>', 'store the identity in DIR/identity.json (mode 0600)')
    .option('--kubeconfig <path>', 'store the identity in a Secret in this cluster')
    .option('--in-cluster', 'store the identity in a Secret using in-cluster credentials (default when running in a pod)')
    .option('--namespace <ns>', 'namespace of the identity Secret', 'plexus-system')
    .option('--secret-name <name>', 'name of the identity Secret', 'plexus-agent-identity')
    .addOption(new Option('--key-algorithm <alg>', 'key algorithm').choices(['P-256', 'RSA-2048']).default('P-256'))
    .option('--force', 'join again even if a valid identity is already stored')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table').argParser(parseOutputFormat))
    .addHelpText('after', '\nExample:\n  plexus agent join --broker https://10.0.0.5:7443 --token plx1.… --cluster-id east-1 \\\n    --ca-fingerprint sha256:… --kubeconfig ~/.kube/east-1.yaml')
    .action(async (flags: JoinFlags) => {
      const store = await chooseIdentityStore(flags);
      const result = await joinClusterset({
        brokerUrl: flags.broker, token: readToken(flags), clusterId: flags.clusterId, caFingerprint: flags.caFingerprint,
        store, now: () => new Date(), keyAlgorithm: flags.keyAlgorithm, force: Boolean(flags.force),
      });
      const row = { status: result.status, identity: result.identity.identity, notAfter: result.identity.notAfter, location: result.location };
      printData(flags.output, row, [row], [
        { header: 'status', value: (r) => r.status },
        { header: 'identity', value: (r) => r.identity },
        { header: 'expires', value: (r) => r.notAfter },
        { header: 'stored in', value: (r) => r.location },
      ]);
    });
}

interface RunFlags {
  kubeconfig?: string; dataDir?: string; namespace: string; secretName: string; broker?: string;
  zone?: string; region?: string; logLevel: string; probeListen?: string; probeUrl?: string; probeInterval?: string; probeTimeout?: string; latencyBand?: string; proxyListen?: string; proxyUrl?: string; revocationMaxStaleness?: string; dnsListen?: string; dnsTtl?: string;
  metricsListen?: string; trustBundleRefresh?: string;
  network?: string; gatewayAddress?: string; gatewayServiceAddress?: string; tunnelPorts?: string;
}

function identityLocationOptions(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <path>', 'kubeconfig of this member cluster (default: in-cluster credentials)')
    .option('--data-dir <dir>', 'read the identity from DIR/identity.json instead of the Secret')
    .option('--namespace <ns>', 'namespace of the identity Secret', 'plexus-system')
    .option('--secret-name <name>', 'name of the identity Secret', 'plexus-agent-identity');
}

async function agentConfig(flags: RunFlags) {
  const { parseAgentConfig } = await import('../../agent/config.ts');
  return parseAgentConfig({
    kubeconfig: flags.kubeconfig, dataDir: flags.dataDir, secretNamespace: flags.namespace, secretName: flags.secretName,
    brokerUrl: flags.broker, zone: flags.zone, region: flags.region, logLevel: flags.logLevel,
    probeListen: flags.probeListen, probeUrl: flags.probeUrl,
    ...(flags.probeInterval === undefined ? {} : { probeIntervalMs: Number(flags.probeInterval) }),
    ...(flags.probeTimeout === undefined ? {} : { probeTimeoutMs: Number(flags.probeTimeout) }),
    ...(flags.latencyBand === undefined ? {} : { latencyBandMs: Number(flags.latencyBand) }),
    proxyListen: flags.proxyListen, proxyUrl: flags.proxyUrl,
    ...(flags.revocationMaxStaleness === undefined ? {} : { revocationMaxStalenessMs: Number(flags.revocationMaxStaleness) }),
    dnsListen: flags.dnsListen, ...(flags.dnsTtl === undefined ? {} : { dnsTtlSeconds: Number(flags.dnsTtl) }),
    metricsListen: flags.metricsListen,
    network: flags.network, gatewayAddress: flags.gatewayAddress, gatewayServiceAddress: flags.gatewayServiceAddress, tunnelPorts: flags.tunnelPorts,
    ...(flags.trustBundleRefresh === undefined ? {} : { trustBundleRefreshIntervalMs: Number(flags.trustBundleRefresh) }),
  });
}

function runCommand(): Command {
  return identityLocationOptions(new Command('run'))
    .description('Run the agent: keep membership and the broker lease, export ServiceExports, import ServiceImports.\n\n'
      + 'Needs the identity stored by `plexus agent join`. Stops gracefully on SIGTERM/SIGINT;\n'
      + 'membership is kept (use `plexus agent leave` to leave the clusterset).')
    .option('--broker <url>', 'broker URL (default: the one recorded at join)')
    .option('--zone <zone>', 'zone of this cluster (topology for nearest-instance answers)')
    .option('--region <region>', 'region of this cluster')
    .option('--probe-listen <host:port|off>', 'mTLS probe endpoint other agents measure RTT against (default 127.0.0.1:0)')
    .option('--probe-url <url>', 'probe URL to advertise (default: https://<listen host>:<port>)')
    .option('--probe-interval <ms>', 'how often every other cluster is probed (default 1000)')
    .option('--trust-bundle-refresh <ms>', 'how often the trust bundle is acknowledged and refreshed during a CA rollover (default 60000)')
    .option('--probe-timeout <ms>', 'a probe without an answer by then failed (default 1000)')
    .option('--latency-band <ms>', 'RTTs within the same band rank as ties, then zone and region decide (default 5)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--proxy-listen <host:port|off>', 'access proxy address (default 127.0.0.1:0 with --kubeconfig, 0.0.0.0:8443 in-cluster)')
    .option('--proxy-url <url>', 'access proxy URL to advertise (default: derived from --proxy-listen)')
    .option('--revocation-max-staleness <ms>', 'with no revocation update from the broker for this long, the access proxy refuses everyone '
      + '(503 PLX_AGENT_PROXY_REVOCATIONS_STALE) until one arrives (default 300000)')
    .option('--dns-listen <host:port>', 'clusterset.local DNS server, UDP and TCP (default 0.0.0.0:53 in a cluster, 127.0.0.1:0 = a free port otherwise)')
    .option('--dns-ttl <seconds>', 'TTL of clusterset.local answers (default 5)')
    .option('--network <name>', 'network of this cluster\'s pods (RFC-1123 label); wins over the ClusterProperty network.plexus.io '
      + '(default: that property, else "default", one network shared by every cluster)')
    .option('--gateway-address <host:port>', 'advertise this cluster\'s east-west gateway at HOST:PORT, routable from the other networks')
    .option('--gateway-service-address <ip[,ip]>', 'pod IP(s) of the local gateway: imported endpoints of other networks point here (one per family)')
    .option('--tunnel-ports <min-max>', 'listen ports the local gateway is given, one per tunnelled cluster, service and port (default 20000-29999)')
    .option('--metrics-listen <host:port|off>', 'plain-HTTP /metrics, /healthz, /readyz (default 0.0.0.0:9090 in a cluster, 127.0.0.1:0 with --kubeconfig)')
    .action(async (flags: RunFlags) => {
      const { runAgent } = await import('../../agent/main.ts');
      await runAgent(await agentConfig(flags));
      // Stopped (every part, or past its stop deadline): a handle a hung part left open
      // must not keep the process, and so the Pod, alive. Unref'd: a clean exit comes first.
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
}

function leaveCommand(): Command {
  return new Command('leave')
    .description('Leave the clusterset: remove the clusterset.k8s.io ClusterProperty from this cluster.\n'
      + 'Run it after stopping the agent; it is idempotent.')
    .option('--kubeconfig <path>', 'kubeconfig of this member cluster (default: in-cluster credentials)')
    .action(async (flags: { kubeconfig?: string }) => {
      const { loadKubeConfig } = await import('../../agent/kube/secrets.ts');
      const { HttpKubeApi } = await import('../../agent/kube/kube-api.ts');
      const { leave } = await import('../../agent/controllers/membership/membership.ts');
      await leave(new HttpKubeApi(loadKubeConfig(flags.kubeconfig)));
      process.stdout.write('left the clusterset (clusterset.k8s.io removed)\n');
    });
}

export function registerAgentCommands(program: Command): void {
  program.command('agent')
    .description('Run in a member cluster: enroll with the broker and keep this cluster in the mesh')
    .addCommand(joinCommand())
    .addCommand(runCommand())
    .addCommand(leaveCommand())
    .addCommand(dnsCommand());
}
