import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ALL_CRDS, CLUSTER_PROPERTY, CLUSTER_PROPERTY_VALUE_MAX_LENGTH, SERVICE_EXPORT, SERVICE_EXPORT_REASONS,
  SERVICE_IMPORT, SERVICE_IMPORT_REASONS, crdNameOf,
} from './types.ts';
import type { CrdDescriptor } from './types.ts';
import type {
  V1CustomResourceDefinition, V1CustomResourceDefinitionVersion, V1JSONSchemaProps,
} from '@kubernetes/client-node';

// loadAllYaml returns typed client-node models (V1CustomResourceDefinition): its
// serializer renames a few keys, e.g. `enum` becomes `_enum`.
type Crd = V1CustomResourceDefinition;
type Schema = V1JSONSchemaProps;
type CrdVersion = V1CustomResourceDefinitionVersion;

// Below an `items` the serializer keeps the raw object, so `enum` keeps its own name there.
function enumOf(s: Schema): string[] | undefined {
  return s._enum ?? (s as { enum?: string[] }).enum;
}

const dir = import.meta.dirname;
const yamlFiles = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

function load(file: string): Crd {
  const docs = loadAllYaml(readFileSync(path.join(dir, file), 'utf8')) as Crd[];
  expect(docs).toHaveLength(1);
  return docs[0]!;
}

function at(schema: Schema, ...keys: string[]): Schema {
  let s = schema;
  for (const k of keys) {
    const next: Schema | undefined = k === '[]' ? (s.items as Schema | undefined) : s.properties?.[k];
    if (!next) throw new Error(`schema has no ${keys.join('.')}`);
    s = next;
  }
  return s;
}

/** The stored version's entry (the one Plexus reads and writes). */
function storedVersion(crd: Crd): CrdVersion {
  const stored = crd.spec.versions.filter((v) => v.storage);
  expect(stored).toHaveLength(1);
  return stored[0]!;
}

describe('crds/*.yaml', () => {
  it('has exactly one descriptor in types.ts per YAML file', () => {
    expect(ALL_CRDS.map((c) => c.file).sort()).toEqual(yamlFiles);
  });

  describe.each(ALL_CRDS.map((c) => [c.kind, c] as [string, CrdDescriptor]))('%s', (_kind, desc) => {
    const crd = load(desc.file);

    it('matches the constants in types.ts', () => {
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.kind).toBe('CustomResourceDefinition');
      expect(crd.metadata?.name).toBe(crdNameOf(desc));
      expect(crd.spec.group).toBe(desc.group);
      expect(crd.spec.scope).toBe(desc.scope);
      expect(crd.spec.names).toEqual({
        kind: desc.kind, listKind: desc.listKind, plural: desc.plural, singular: desc.singular,
        ...(desc.shortNames.length ? { shortNames: [...desc.shortNames] } : {}),
      });
    });

    it('stores the version in types.ts and serves exactly it plus alsoServed', () => {
      const v = storedVersion(crd);
      expect({ name: v.name, served: v.served, storage: v.storage }).toEqual({ name: desc.version, served: true, storage: true });
      expect(v.schema!.openAPIV3Schema!.type).toBe('object');
      expect(crd.spec.versions.filter((x) => x.served).map((x) => x.name).sort()).toEqual([desc.version, ...desc.alsoServed].sort());
    });

    it('gives every served version the same schema, columns and subresources (no conversion webhook needed)', () => {
      const shape = (x: CrdVersion) => ({ schema: x.schema, columns: x.additionalPrinterColumns, subresources: x.subresources });
      for (const x of crd.spec.versions) expect(shape(x)).toEqual(shape(storedVersion(crd)));
      expect(crd.spec.conversion?.strategy ?? 'None').toBe('None');
    });

    it('carries the API approval annotation when its group is protected (*.k8s.io, *.kubernetes.io)', () => {
      const protectedGroup = /(^|\.)(k8s|kubernetes)\.io$/.test(desc.group);
      const approval = crd.metadata?.annotations?.['api-approved.kubernetes.io'];
      if (protectedGroup) expect(approval).toMatch(/^https:\/\/github\.com\/kubernetes\/enhancements\//);
      else expect(approval).toBeUndefined();
    });

    it('prints an Age column', () => {
      const cols = storedVersion(crd).additionalPrinterColumns ?? [];
      expect(cols.find((c) => c.name === 'Age')?.jsonPath).toBe('.metadata.creationTimestamp');
    });
  });
});

describe('ServiceExport schema', () => {
  const v = storedVersion(load(SERVICE_EXPORT.file));
  const condition = at(v.schema!.openAPIV3Schema!, 'status', 'conditions', '[]');

  it('has a status subresource and Valid/Ready/Conflict columns', () => {
    expect(v.subresources?.status).toEqual({});
    const cols = Object.fromEntries((v.additionalPrinterColumns ?? []).map((c) => [c.name, c.jsonPath]));
    for (const type of ['Valid', 'Ready', 'Conflict']) {
      expect(cols[type]).toBe(`.status.conditions[?(@.type=="${type}")].status`);
    }
  });

  it('shapes conditions as metav1.Condition', () => {
    expect(condition.required?.sort()).toEqual(['lastTransitionTime', 'message', 'reason', 'status', 'type']);
    expect(enumOf(at(condition, 'status'))).toEqual(['True', 'False', 'Unknown']);
  });

  it('accepts every reason Plexus writes, including comma-joined conflicts', () => {
    const pattern = new RegExp(at(condition, 'reason').pattern!);
    const reasons = Object.values(SERVICE_EXPORT_REASONS).flat();
    for (const r of [...reasons, 'PortConflict,TypeConflict']) expect(r).toMatch(pattern);
  });

  it('has spec.exportedLabels and spec.exportedAnnotations as string maps (mcs-api v1beta1)', () => {
    const spec = at(v.schema!.openAPIV3Schema!, 'spec');
    expect(Object.keys(spec.properties ?? {}).sort()).toEqual(['exportedAnnotations', 'exportedLabels']);
    for (const k of ['exportedAnnotations', 'exportedLabels']) {
      expect(at(spec, k).type).toBe('object');
      expect((at(spec, k).additionalProperties as Schema).type).toBe('string');
    }
  });
});

describe('ServiceImport schema', () => {
  const v = storedVersion(load(SERVICE_IMPORT.file));
  const spec = at(v.schema!.openAPIV3Schema!, 'spec');

  it('has the upstream spec fields and requires ports and type', () => {
    expect(Object.keys(spec.properties ?? {}).sort())
      .toEqual(['internalTrafficPolicy', 'ipFamilies', 'ips', 'ports', 'sessionAffinity', 'sessionAffinityConfig', 'trafficDistribution', 'type']);
    expect(spec.required?.sort()).toEqual(['ports', 'type']);
    expect(Object.keys(at(spec, 'ports', '[]').properties ?? {}).sort()).toEqual(['appProtocol', 'name', 'port', 'protocol']);
    expect(enumOf(at(spec, 'type'))).toEqual(['ClusterSetIP', 'Headless']);
  });

  it('allows at most two IPs (one per family), each named by ipFamilies', () => {
    expect(at(spec, 'ips').maxItems).toBe(2);
    expect(at(spec, 'ipFamilies').maxItems).toBe(2);
    expect(enumOf(at(spec, 'ipFamilies', '[]'))).toEqual(['IPv4', 'IPv6']);
  });

  it('has status.conditions accepting every Ready reason', () => {
    const condition = at(v.schema!.openAPIV3Schema!, 'status', 'conditions', '[]');
    const pattern = new RegExp(at(condition, 'reason').pattern!);
    for (const r of SERVICE_IMPORT_REASONS.Ready) expect(r).toMatch(pattern);
  });

  it('keys status.clusters by cluster', () => {
    expect(at(v.schema!.openAPIV3Schema!, 'status', 'clusters', '[]').required).toEqual(['cluster']);
    expect(v.subresources?.status).toEqual({});
  });
});

describe('ClusterProperty schema', () => {
  const v = storedVersion(load(CLUSTER_PROPERTY.file));

  it('requires spec.value of at most 128 KiB', () => {
    const spec = at(v.schema!.openAPIV3Schema!, 'spec');
    expect(spec.required).toEqual(['value']);
    expect(at(spec, 'value').maxLength).toBe(CLUSTER_PROPERTY_VALUE_MAX_LENGTH);
    expect(v.additionalPrinterColumns?.find((c) => c.name === 'Value')?.jsonPath).toBe('.spec.value');
  });
});
