// `plexus agent dns …`: CoreDNS integration. Parsing and presentation only; the Corefile
// transform is corefile.ts and the API calls are patch-coredns.ts.
import { Command } from 'commander';
import { AgentError } from '../../agent/errors.ts';

interface PatchFlags { kubeconfig?: string; upstream?: string; undo?: boolean; namespace: string; configmap: string; cache: string }

const UPSTREAM = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/;

function patchCommand(): Command {
  return new Command('patch-coredns')
    .description('Forward clusterset.local from the cluster\'s CoreDNS to the Plexus agent (a stub domain).\n\n'
      + 'Adds one marked server block to the Corefile in the kube-system/coredns ConfigMap and leaves\n'
      + 'everything else untouched. Idempotent; --undo removes exactly that block.')
    .option('--kubeconfig <path>', 'kubeconfig of the member cluster (default: in-cluster credentials)')
    .option('--upstream <ip[:port]>', 'the agent DNS Service address CoreDNS forwards to, e.g. 10.96.0.53')
    .option('--undo', 'remove the block again')
    .option('--namespace <ns>', 'namespace of the CoreDNS ConfigMap', 'kube-system')
    .option('--configmap <name>', 'name of the CoreDNS ConfigMap', 'coredns')
    .option('--cache <seconds>', 'CoreDNS cache TTL for the zone', '5')
    .action(async (flags: PatchFlags) => {
      if (!flags.undo && (!flags.upstream || !UPSTREAM.test(flags.upstream))) {
        throw new AgentError('PLX_AGENT_BAD_ARGUMENT', '--upstream IP[:port] is required (the agent DNS Service ClusterIP), unless --undo');
      }
      const cache = Number(flags.cache);
      if (!Number.isInteger(cache) || cache < 0 || cache > 3600) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', '--cache must be 0..3600 seconds');
      const { loadKubeConfig } = await import('../../agent/kube/secrets.ts');
      const { HttpKubeApi } = await import('../../agent/kube/kube-api.ts');
      const { patchCoredns } = await import('../../agent/dns/patch-coredns.ts');
      const result = await patchCoredns(new HttpKubeApi(loadKubeConfig(flags.kubeconfig)), {
        namespace: flags.namespace, name: flags.configmap, undo: Boolean(flags.undo),
        ...(flags.upstream ? { stub: { upstream: flags.upstream, cacheSeconds: cache } } : {}),
      });
      const what = result.patched ? 'forwards clusterset.local to the agent' : 'has no Plexus block';
      process.stdout.write(`${flags.namespace}/${flags.configmap}: ${result.changed ? 'updated' : 'unchanged'}; the Corefile ${what}\n`);
    });
}

export function dnsCommand(): Command {
  return new Command('dns')
    .description('Clusterset DNS (clusterset.local): CoreDNS integration')
    .addCommand(patchCommand());
}
