// `plexus kubeconfig` as a pure function plus its file handling: one context per cluster
// with a proxy, certificate by path, tls-server-name; re-runs are idempotent, follow
// clusters joining and leaving, and keep everything that is not this clusterset's.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import { configDirLayout } from '../../cli/user/config-dir.ts';
import { buildKubeconfig, readKubeconfig, writeKubeconfig } from '../../cli/user/kubeconfig.ts';

const ad = (cluster: string, proxyUrl?: string): ClusterAdvertisement => ({
  cluster, latencies: {}, updatedAt: '2030-01-01T00:00:00Z', revision: 1, ...(proxyUrl ? { proxyUrl } : {}),
});

describe('plexus kubeconfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-kubeconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const layout = () => configDirLayout(path.join(dir, 'id'));
  const build = (existing: ReturnType<typeof readKubeconfig>, ads: ClusterAdvertisement[]) =>
    buildKubeconfig({ existing, advertisements: ads, clusterset: 'acme.example', userName: 'alice', layout: layout() });

  it('writes a context per cluster with a proxy, pointing at the files, verifying the cluster name', () => {
    const { doc, contexts } = build(undefined, [ad('west-1', 'https://10.0.0.2:8443'), ad('east-1', 'https://10.0.0.1:8443'), ad('dark-1')]);
    expect(contexts).toEqual(['plexus-east-1', 'plexus-west-1']);
    expect(doc.clusters).toContainEqual({ name: 'plexus-east-1', cluster: { server: 'https://10.0.0.1:8443', 'certificate-authority': layout().ca, 'tls-server-name': 'east-1.cluster.acme.example' } });
    expect(doc.users).toEqual([{ name: 'plexus-alice@acme.example', user: { 'client-certificate': layout().cert, 'client-key': layout().key } }]);
    expect(doc['current-context']).toBe('plexus-east-1');
  });

  it('is idempotent, follows clusters joining and leaving, and keeps unrelated entries and the current context', () => {
    const file = path.join(dir, 'config');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: mine',
      'clusters:', '- name: mine', '  cluster: {server: "https://k8s.example"}',
      '- name: plexus-other', '  cluster: {server: "https://x", tls-server-name: "a.cluster.other.example"}',
      'users:', '- name: me', '  user: {token: t}',
      'contexts:', '- name: mine', '  context: {cluster: mine, user: me}', '',
    ].join('\n'));
    const first = build(readKubeconfig(file), [ad('east-1', 'https://10.0.0.1:8443'), ad('west-1', 'https://10.0.0.2:8443')]);
    writeKubeconfig(file, first.doc);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = build(readKubeconfig(file), [ad('east-1', 'https://10.0.0.1:8443'), ad('west-1', 'https://10.0.0.2:8443')]);
    expect(again.doc).toEqual(readKubeconfig(file));
    const after = build(readKubeconfig(file), [ad('east-1', 'https://10.0.0.1:8443'), ad('north-1', 'https://10.0.0.3:8443')]).doc;
    expect(after.clusters!.map((c) => c.name).sort()).toEqual(['mine', 'plexus-east-1', 'plexus-north-1', 'plexus-other']);
    expect(after.contexts!.map((c) => c.name).sort()).toEqual(['mine', 'plexus-east-1', 'plexus-north-1']);
    expect(after.users!.map((u) => u.name).sort()).toEqual(['me', 'plexus-alice@acme.example']);
    expect(after['current-context']).toBe('mine');
    expect(readFileSync(file, 'utf8')).not.toContain('client-certificate-data');
  });
});
