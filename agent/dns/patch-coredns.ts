// `plexus agent dns patch-coredns [--undo]`: edits the cluster's CoreDNS Corefile
// (kube-system/coredns ConfigMap, key Corefile) through the Corefile transform, with
// server-side apply of that one key and the resourceVersion read as a precondition, so a
// concurrent edit fails instead of being overwritten. Idempotent both ways.
import { AgentError } from '../errors.ts';
import { CONFIG_MAPS, type KubeApi } from '../kube/index.ts';
import { isPatched, patchCorefile, unpatchCorefile, type StubDomainOptions } from './corefile.ts';

export interface PatchCorednsOptions {
  readonly namespace?: string;
  readonly name?: string;
  /** Required unless undo. */
  readonly stub?: StubDomainOptions;
  readonly undo?: boolean;
}

export interface PatchCorednsResult {
  readonly changed: boolean;
  readonly patched: boolean;
  readonly corefile: string;
}

export async function patchCoredns(api: KubeApi, o: PatchCorednsOptions): Promise<PatchCorednsResult> {
  const ref = { namespace: o.namespace ?? 'kube-system', name: o.name ?? 'coredns' };
  const cm = await api.get(CONFIG_MAPS, ref);
  const corefile = cm?.data?.Corefile;
  if (!cm || corefile === undefined) {
    throw new AgentError('PLX_AGENT_KUBE', `ConfigMap ${ref.namespace}/${ref.name} with a Corefile key not found`);
  }
  let next: string;
  if (o.undo) next = unpatchCorefile(corefile);
  else if (o.stub) next = patchCorefile(corefile, o.stub);
  else throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'patch-coredns needs an upstream (the agent DNS Service address) unless --undo');
  if (next === corefile) return { changed: false, patched: isPatched(next), corefile: next };
  await api.apply(CONFIG_MAPS, {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: ref.name, namespace: ref.namespace, resourceVersion: cm.metadata?.resourceVersion },
    data: { Corefile: next },
  });
  return { changed: true, patched: isPatched(next), corefile: next };
}
