import type { V1ConfigMap, V1Namespace } from '@kubernetes/client-node';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeKube } from '../../../test/support/fake-kube.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import {
  EVENTS, InformerRegistry, NAMESPACES, TRUST_BUNDLE_CONFIG_MAP, TRUST_BUNDLE_CONFIG_MAPS, TerminalError, type KubeObject,
} from '../../kube/index.ts';
import { TRUST_BUNDLE_CLASH } from './clash-event.ts';
import { TrustBundleReconciler } from './reconciler.ts';
import { BUNDLE_KEY, LABEL_TRUST_BUNDLE, LABEL_TRUST_BUNDLE_OWNED } from './trust-bundle-config-map.ts';

const ctx = { log: pino({ level: 'silent' }) };
const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;
const namespace = (name: string, labels?: Record<string, string>, extra: Partial<V1Namespace['metadata']> = {}): V1Namespace =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}), ...extra } });
const optedIn = { [LABEL_TRUST_BUNDLE]: 'enabled' };

describe('TrustBundleReconciler', () => {
  let kube: FakeKube;
  let bundle: string;
  let reconciler: TrustBundleReconciler;

  beforeEach(async () => {
    kube = new FakeKube();
    const registry = new InformerRegistry({ listWatch: kube.listWatch, logger: ctx.log, timers: new FakeTimers() });
    const informers = registry.declare('trust-bundle', [NAMESPACES, TRUST_BUNDLE_CONFIG_MAPS]);
    registry.start();
    await informers.waitForSync();
    bundle = pem('root-1');
    reconciler = new TrustBundleReconciler({
      api: kube, informers, bundle: () => bundle, clock: { now: () => new Date('2026-01-01T00:00:00Z') }, clusterId: 'east-1',
    });
  });

  const configMap = (ns: string) => kube.objects(TRUST_BUNDLE_CONFIG_MAPS, ns).find((c) => c.metadata?.name === TRUST_BUNDLE_CONFIG_MAP);
  const writes = () => kube.writes.filter((w) => !w.startsWith('status'));

  it('publishes the bundle under ca.crt, with the ownership label, only where the namespace asks for it', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn));
    kube.put(NAMESPACES, namespace('other', { [LABEL_TRUST_BUNDLE]: 'yes-please' }));
    await reconciler.reconcile('app', ctx);
    await reconciler.reconcile('other', ctx);
    expect(configMap('app')?.data).toEqual({ [BUNDLE_KEY]: bundle });
    expect(configMap('app')?.metadata?.labels?.[LABEL_TRUST_BUNDLE_OWNED]).toBe('true');
    expect(configMap('other')).toBeUndefined();
  });

  it('writes nothing when the ConfigMap already matches', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn));
    await reconciler.reconcile('app', ctx);
    await reconciler.reconcile('app', ctx);
    expect(writes()).toEqual(['apply ConfigMap app/plexus-trust-bundle']);
  });

  it('carries a new bundle after a rollover', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn));
    await reconciler.reconcile('app', ctx);
    bundle = pem('root-1') + pem('root-2');
    await reconciler.reconcile('app', ctx);
    expect(configMap('app')?.data?.[BUNDLE_KEY]).toBe(bundle);
  });

  it('corrects an edit of ca.crt or of its labels', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn));
    await reconciler.reconcile('app', ctx);
    const cm = configMap('app')!;
    kube.put(TRUST_BUNDLE_CONFIG_MAPS, { ...cm, data: { [BUNDLE_KEY]: pem('evil') } });
    await reconciler.reconcile('app', ctx);
    expect(configMap('app')?.data?.[BUNDLE_KEY]).toBe(bundle);
    const { 'app.kubernetes.io/managed-by': _, ...labels } = configMap('app')!.metadata!.labels!;
    kube.put(TRUST_BUNDLE_CONFIG_MAPS, { ...configMap('app')!, metadata: { ...configMap('app')!.metadata, labels } });
    await reconciler.reconcile('app', ctx);
    expect(configMap('app')?.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('plexus');
  });

  it('deletes its ConfigMap when the label goes', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn));
    await reconciler.reconcile('app', ctx);
    kube.put(NAMESPACES, namespace('app'));
    await reconciler.reconcile('app', ctx);
    expect(configMap('app')).toBeUndefined();
  });

  it('leaves someone else\'s ConfigMap of that name alone, labelled namespace or not, and reports it once', async () => {
    const theirs: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: TRUST_BUNDLE_CONFIG_MAP, namespace: 'app' }, data: { mine: 'x' } };
    kube.put(NAMESPACES, namespace('app', optedIn));
    kube.put(TRUST_BUNDLE_CONFIG_MAPS, theirs);
    await reconciler.reconcile('app', ctx);
    await reconciler.reconcile('app', ctx);
    expect(configMap('app')?.data).toEqual({ mine: 'x' });
    const events = kube.objects(EVENTS, 'app') as (KubeObject & { reason?: string; involvedObject?: { name?: string } })[];
    expect(events.map((e) => [e.reason, e.involvedObject?.name])).toEqual([[TRUST_BUNDLE_CLASH, TRUST_BUNDLE_CONFIG_MAP]]);
    expect(writes().filter((w) => w.includes('ConfigMap'))).toEqual([]);
    kube.put(NAMESPACES, namespace('app'));
    await reconciler.reconcile('app', ctx);
    expect(configMap('app')?.data).toEqual({ mine: 'x' });
  });

  it('does not write into a terminating namespace', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn, { deletionTimestamp: '2026-01-01T00:00:00Z' as never }));
    await reconciler.reconcile('app', ctx);
    expect(writes()).toEqual([]);
  });

  it('refuses, without retrying, to publish an empty bundle', async () => {
    kube.put(NAMESPACES, namespace('app', optedIn));
    bundle = '';
    await expect(reconciler.reconcile('app', ctx)).rejects.toBeInstanceOf(TerminalError);
    expect(configMap('app')).toBeUndefined();
  });
});
