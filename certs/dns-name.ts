// The name grammars every package checks: RFC-1123 labels (cluster IDs, namespaces, the
// labels of a DNS name), DNS host names (certificate SANs, trust domains, listen hosts),
// Kubernetes DNS subdomains (object names) and the person/group names of identities.
// They live here, at the bottom of the import graph, because certs/ may import nothing
// else; everything outside certs/ takes them through the wire contract
// (broker/api/names.ts), never by copying a regular expression.

/** RFC-1123 label: 1..63 lowercase alphanumerics and "-", starting and ending alphanumeric. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A person's name in spiffe://<trust domain>/user/<name>: 1..64 of [a-z0-9._@-], alphanumeric at both ends. */
export const PERSON_NAME = /^[a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?$/;

/** A group as carried in a certificate's O= (e.g. "system:masters"). */
export const GROUP_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._:-]{0,62}[a-zA-Z0-9])?$/;

const SUBDOMAIN_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return typeof s === 'string' && DNS_LABEL.test(s);
}

/** A lowercase DNS host name: 1..253 characters, dot-separated RFC-1123 labels, no trailing dot. */
export function isDnsName(s: string): boolean {
  return typeof s === 'string' && s.length >= 1 && s.length <= 253 && s.split('.').every((l) => DNS_LABEL.test(l));
}

/** A certificate SAN dNSName: a DNS name, optionally with one leading "*." wildcard label. */
export function isSanDnsName(s: string): boolean {
  return typeof s === 'string' && s.length <= 253 && isDnsName(s.startsWith('*.') ? s.slice(2) : s);
}

/**
 * Kubernetes' DNS subdomain (IsDNS1123Subdomain, the rule for most object names): at most
 * 253 characters of dot-separated labels; unlike a host name, a label may exceed 63.
 */
export function isDnsSubdomain(s: string): boolean {
  return typeof s === 'string' && s.length >= 1 && s.length <= 253 && s.split('.').every((l) => SUBDOMAIN_LABEL.test(l));
}
