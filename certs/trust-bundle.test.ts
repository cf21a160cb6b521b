import { beforeAll, describe, expect, it } from 'vitest';
import { createRootCa } from './ca.ts';
import type { CertificateAuthority } from './ca.ts';
import { issueCertificate } from './issue.ts';
import { generateKeyPair } from './keys.ts';
import { fingerprintSha256 } from './pem.ts';
import { T0 } from '../test/support/test-certs.ts';
import { TrustBundle } from './trust-bundle.ts';
import { certErrorCode as codeOf } from '../test/support/cert-error-code.ts';


let a: CertificateAuthority;
let b: CertificateAuthority;
let c: CertificateAuthority;
beforeAll(async () => {
  a = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
  b = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
  c = (await createRootCa({ clusterset: 'acme', now: T0, algorithm: 'RSA-2048' })).ca;
});

describe('TrustBundle', () => {
  it('reads one or more roots, in order, and writes them back', () => {
    const bundle = TrustBundle.fromPem(a.certPem + b.certPem + c.certPem);
    expect(bundle.roots).toHaveLength(3);
    expect(bundle.fingerprints()).toEqual([a, b, c].map((x) => fingerprintSha256(x.cert)));
    expect(bundle.toPem()).toBe(a.certPem + b.certPem + c.certPem);
    expect(TrustBundle.fromPem(bundle.toPem()).fingerprints()).toEqual(bundle.fingerprints());
  });

  it('collapses duplicates', () => {
    expect(TrustBundle.fromPem(a.certPem + a.certPem).roots).toHaveLength(1);
    expect(TrustBundle.fromPem(a.certPem).with(a.cert).roots).toHaveLength(1);
  });

  it('answers has() by exact fingerprint', () => {
    const bundle = TrustBundle.fromPem(a.certPem);
    const fp = fingerprintSha256(a.cert);
    expect(bundle.has(fp)).toBe(true);
    expect(bundle.has(fingerprintSha256(b.cert))).toBe(false);
    expect(bundle.has(fp.slice(0, 20))).toBe(false);
  });

  it('is immutable: with/without return new bundles (the rotation phases)', () => {
    const old = TrustBundle.fromPem(a.certPem);
    const both = old.with(b.cert);
    const next = both.without(fingerprintSha256(a.cert));
    expect(old.fingerprints()).toEqual([fingerprintSha256(a.cert)]);
    expect(both.fingerprints()).toEqual([a, b].map((x) => fingerprintSha256(x.cert)));
    expect(next.fingerprints()).toEqual([fingerprintSha256(b.cert)]);
    expect(Object.isFrozen(both.roots)).toBe(true);
  });

  it('only(): the pinned root alone, or undefined when it is absent', () => {
    const both = TrustBundle.fromPem(a.certPem + b.certPem);
    expect(both.only(fingerprintSha256(b.cert))?.fingerprints()).toEqual([fingerprintSha256(b.cert)]);
    expect(TrustBundle.fromPem(a.certPem).only(fingerprintSha256(b.cert))).toBeUndefined();
  });

  it('treats removing an absent root as success', () => {
    const bundle = TrustBundle.fromPem(a.certPem);
    expect(bundle.without(fingerprintSha256(b.cert))).toBe(bundle);
  });

  it('refuses to remove its last root', () => {
    const bundle = TrustBundle.fromPem(a.certPem);
    expect(codeOf(() => bundle.without(fingerprintSha256(a.cert)))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });

  it('rejects bad PEM and non-CA certificates', async () => {
    expect(codeOf(() => TrustBundle.fromPem(''))).toBe('PLX_CERTS_BAD_PEM');
    expect(codeOf(() => TrustBundle.fromPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).toBe('PLX_CERTS_BAD_PEM');
    const keys = await generateKeyPair();
    const leaf = await issueCertificate({ ca: a, publicKey: keys.publicKey, commonName: 'x', usages: ['clientAuth'], lifetimeSeconds: 60, now: T0 });
    expect(codeOf(() => TrustBundle.fromPem(a.certPem + leaf.certPem))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(codeOf(() => TrustBundle.fromPem(a.certPem).with(leaf.cert))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });
});
