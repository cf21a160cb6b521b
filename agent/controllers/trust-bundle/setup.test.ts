import type { V1Namespace } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveIdentity } from '../../identity/live-identity.ts';
import type { StoredIdentity } from '../../identity/identity-store.ts';
import { FakeKube } from '../../../test/support/fake-kube.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import { InformerRegistry, NAMESPACES, TRUST_BUNDLE_CONFIG_MAPS } from '../../kube/index.ts';
import { setupTrustBundleController, type TrustBundleController } from './setup.ts';
import { BUNDLE_KEY, LABEL_TRUST_BUNDLE } from './trust-bundle-config-map.ts';

const log = pino({ level: 'silent' });
const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;
const identity = (trustBundle: string): StoredIdentity => ({
  clusterId: 'east-1', identity: 'spiffe://acme.example/cluster/east-1', brokerUrl: 'https://broker.invalid',
  certPem: pem('leaf'), keyPem: 'key', trustBundle, notAfter: '2026-01-02T00:00:00Z',
});
const ns = (name: string, enabled: boolean): V1Namespace =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(enabled ? { labels: { [LABEL_TRUST_BUNDLE]: 'enabled' } } : {}) } });

describe('setupTrustBundleController', () => {
  let kube: FakeKube;
  let registry: InformerRegistry;
  let live: LiveIdentity;
  let tb: TrustBundleController;

  beforeEach(async () => {
    kube = new FakeKube();
    const timers = new FakeTimers();
    registry = new InformerRegistry({ listWatch: kube.listWatch, logger: log, timers });
    live = new LiveIdentity(identity(pem('root-1')));
    kube.put(NAMESPACES, ns('a', true));
    kube.put(NAMESPACES, ns('b', true));
    kube.put(NAMESPACES, ns('c', false));
    tb = setupTrustBundleController({ api: kube, informers: registry, identity: live, clusterId: 'east-1', logger: log, clock: timers, timers });
    registry.start();
    await tb.start();
    await tb.controller.idle();
  });

  afterEach(async () => {
    await tb.stop();
    await registry.stop();
  });

  const bundles = () => Object.fromEntries(kube.objects(TRUST_BUNDLE_CONFIG_MAPS).map((c) => [c.metadata!.namespace!, c.data?.[BUNDLE_KEY]]));

  it('publishes into every opted-in namespace at start', () => {
    expect(bundles()).toEqual({ a: pem('root-1'), b: pem('root-1') });
  });

  it('republishes everywhere when the identity\'s trust bundle changes, and not for a leaf-only change', async () => {
    const writes = kube.writes.length;
    await live.update({ ...live.current(), certPem: pem('leaf-2') });
    await tb.controller.idle();
    expect(kube.writes.length).toBe(writes);
    await live.update({ ...live.current(), trustBundle: pem('root-1') + pem('root-2') });
    await tb.controller.idle();
    expect(bundles()).toEqual({ a: pem('root-1') + pem('root-2'), b: pem('root-1') + pem('root-2') });
  });

  it('follows the label: added publishes, removed deletes', async () => {
    kube.put(NAMESPACES, ns('c', true));
    kube.put(NAMESPACES, ns('a', false));
    await tb.controller.idle();
    expect(Object.keys(bundles())).toEqual(['b', 'c']);
  });

  it('stops listening to identity changes when stopped', async () => {
    await tb.stop();
    const writes = kube.writes.length;
    await live.update({ ...live.current(), trustBundle: pem('root-3') });
    expect(kube.writes.length).toBe(writes);
  });
});
