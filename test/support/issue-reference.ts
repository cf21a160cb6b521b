// The plain path for building a leaf's TBSCertificate, through @peculiar/x509's
// generator. issueCertificate uses the hand-encoded fast path in leaf-tbs.ts; this
// reference exists so tests can check, byte for byte, that both agree (STYLE: keep the
// plain path beside a fast path). Not used on any production path.
import '../../certs/setup.ts';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import type { Extension, JsonGeneralName } from '@peculiar/x509';
import type { CaSigner } from '../../certs/ca.ts';
import { certificateParts } from '../../certs/certificate-der.ts';
import { webCryptoSignParams } from '../../certs/keys.ts';
import { USAGE_OID } from '../../certs/leaf-tbs.ts';
import type { LeafTemplate } from '../../certs/leaf-tbs.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function ipText(ip: Uint8Array): string {
  if (ip.length === 4) return Array.from(ip).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return groups.join(':');
}

function referenceExtensions(t: LeafTemplate, ca: CaSigner): Extension[] {
  const usage = KeyUsageFlags.digitalSignature | (t.keyAlgorithm === 'RSA-2048' ? KeyUsageFlags.keyEncipherment : 0);
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(usage, true),
    new ExtendedKeyUsageExtension(t.usages.map((u) => USAGE_OID[u])),
    new SubjectKeyIdentifierExtension(hex(t.subjectKeyId)),
    new AuthorityKeyIdentifierExtension(hex(ca.keyId)),
  ];
  const names: JsonGeneralName[] = [
    ...(t.uri !== undefined ? [{ type: 'url' as const, value: t.uri }] : []),
    ...t.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...t.ipAddresses.map((ip) => ({ type: 'ip' as const, value: ipText(ip) })),
  ];
  if (names.length > 0) extensions.push(new SubjectAlternativeNameExtension(names));
  return extensions;
}

/** The TBSCertificate @peculiar/x509 builds for `t`; the signature is a placeholder. */
export async function referenceLeafTbs(t: LeafTemplate, ca: CaSigner): Promise<Uint8Array> {
  const cert = await X509CertificateGenerator.create({
    serialNumber: hex(t.serial),
    subject: new Name([...t.organizations.map((o) => ({ O: [{ utf8String: o }] })), { CN: [{ utf8String: t.commonName }] }]),
    issuer: new Name(ca.subject),
    notBefore: t.notBefore,
    notAfter: t.notAfter,
    publicKey: t.spki,
    signature: new Uint8Array(ca.algorithm === 'P-256' ? 64 : 256).fill(1),
    signingAlgorithm: { ...webCryptoSignParams(ca.algorithm), hash: 'SHA-256' },
    extensions: referenceExtensions(t, ca),
  });
  return certificateParts(new Uint8Array(cert.rawData)).signed;
}
