// Installs every crds/*.yaml into a cluster by server-side apply and waits until each
// CustomResourceDefinition reports Established, so custom objects can be created at once.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiextensionsV1Api, KubernetesObjectApi, PatchStrategy, loadAllYaml } from '@kubernetes/client-node';
import type { KubeConfig, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { HarnessError } from './errors.ts';
import { waitFor } from './wait-for.ts';

export const DEFAULT_CRD_DIR = path.resolve(import.meta.dirname, '..', '..', 'crds');
const FIELD_MANAGER = 'plexus-harness';

/** Every CustomResourceDefinition in the *.yaml files of `dir`, in file-name order. */
export function readCrds(dir = DEFAULT_CRD_DIR): V1CustomResourceDefinition[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    for (const doc of loadAllYaml(readFileSync(path.join(dir, file), 'utf8')) as V1CustomResourceDefinition[]) {
      if (!doc) continue;
      if (doc.kind !== 'CustomResourceDefinition' || !doc.metadata?.name) {
        throw new HarnessError('PLX_HARNESS_BAD_OPTION', `${file}: expected CustomResourceDefinitions only, found ${doc.kind}`);
      }
      crds.push(doc);
    }
  }
  return crds;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
}

/** Applies the CRDs and resolves with their names once all are Established. */
export async function installCrds(
  kc: KubeConfig,
  o: { crds?: V1CustomResourceDefinition[]; timeoutMs?: number } = {},
): Promise<string[]> {
  const crds = o.crds ?? readCrds();
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await Promise.all(crds.map((crd) =>
    objects.patch(crd, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)));
  const names = crds.map((c) => c.metadata!.name!);
  await Promise.all(names.map((name) => waitFor(
    async () => (isEstablished(await ext.readCustomResourceDefinition({ name })) ? true : undefined),
    { what: `CRD ${name} to be Established`, timeoutMs: o.timeoutMs ?? 30_000, intervalMs: 50 },
  )));
  return names;
}
