// PEM in and out (RFC 7468, strict form: no headers, base64 alphabet only), and the
// certificate fingerprint every other package uses to name a certificate.
import './setup.ts';
import { createHash } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import { CertError } from './errors.ts';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Wraps DER as one canonical PEM block: 64-character lines, LF, trailing newline. */
export function encodePem(der: Uint8Array | ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * The DER of every block labelled `label`, in order. Blocks with other labels and text
 * between blocks are ignored; a block with our label that is malformed is an error.
 */
export function decodePemBlocks(pem: string, label: string): Uint8Array[] {
  if (typeof pem !== 'string') throw new CertError('PLX_CERTS_BAD_PEM', 'PEM must be a string');
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(BLOCK)) {
    const [, begin, body = '', end] = m;
    if (begin !== label && end !== label) continue;
    if (begin !== end) throw new CertError('PLX_CERTS_BAD_PEM', `PEM block BEGIN ${begin} ends with END ${end}`);
    const b64 = body.replace(/[ \t\r\n]+/g, '');
    if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
      throw new CertError('PLX_CERTS_BAD_PEM', `PEM block ${label} has a malformed body`);
    }
    out.push(new Uint8Array(Buffer.from(b64, 'base64')));
  }
  if (out.length === 0) throw new CertError('PLX_CERTS_BAD_PEM', `no ${label} PEM block found`);
  return out;
}

/** Each `label` block, re-emitted canonically. */
export function splitPemBlocks(pem: string, label: string): string[] {
  return decodePemBlocks(pem, label).map((der) => encodePem(der, label));
}

export function certificateFromDer(der: Uint8Array | ArrayBuffer): X509Certificate {
  try {
    return new X509Certificate(der instanceof ArrayBuffer ? der : new Uint8Array(der));
  } catch (cause) {
    throw new CertError('PLX_CERTS_BAD_PEM', 'certificate is not valid DER', { cause });
  }
}

export function certificatesFromPem(pem: string): X509Certificate[] {
  return decodePemBlocks(pem, 'CERTIFICATE').map(certificateFromDer);
}

export function certificateToPem(cert: X509Certificate): string {
  return encodePem(cert.rawData, 'CERTIFICATE');
}

/** "sha256:<64 lowercase hex>" of the DER; a string is read as PEM (its first certificate). */
export function fingerprintSha256(cert: X509Certificate | string): string {
  const der = typeof cert === 'string' ? decodePemBlocks(cert, 'CERTIFICATE')[0]! : new Uint8Array(cert.rawData);
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}
