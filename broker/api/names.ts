// The name rules of the wire contract, in one place for the broker, the agent and the CLI:
// cluster IDs, namespaces and other RFC-1123 labels, DNS names, Kubernetes object names,
// person and group names. The grammars themselves are certs/dns-name.ts (certs/ may
// import nothing, so they sit there); nothing else spells them out again.
import { z } from 'zod';
import { DNS_LABEL, GROUP_NAME, PERSON_NAME, isDnsLabel, isDnsName, isDnsSubdomain } from '../../certs/dns-name.ts';

export { isDnsLabel, isDnsName, isDnsSubdomain };

/** What a cluster ID is, for messages that explain a refusal. */
export const CLUSTER_ID_RULE = 'an RFC-1123 label: lowercase alphanumerics and "-", at most 63 characters';

/** RFC-1123 label: the MCS cluster ID rule (cluster.clusterset.k8s.io). */
export const clusterIdSchema = z.string().regex(DNS_LABEL, `must be ${CLUSTER_ID_RULE}`);

export function isClusterId(s: string): boolean {
  return isDnsLabel(s);
}

/** An RFC-1123 label with no further meaning (EndpointSlice hostnames, port names). */
export const dnsLabelSchema = z.string().regex(DNS_LABEL, 'must be an RFC-1123 label');

/** A Kubernetes namespace name: an RFC-1123 label. */
export const namespaceSchema = dnsLabelSchema;

/**
 * A Kubernetes label value: empty, or 1..63 of [A-Za-z0-9-_.] starting and ending
 * alphanumeric. Zone and region names are label values too (topology.kubernetes.io/*).
 */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A label value that says something: a zone or region. */
export function isNonEmptyLabelValue(s: string): boolean {
  return typeof s === 'string' && s !== '' && LABEL_VALUE.test(s);
}

/** The person's name as in spiffe://<clusterset>/user/<name>. */
export const userNameSchema = z.string().regex(PERSON_NAME, 'must be a user name: lowercase alphanumerics and "._@-", at most 64 characters');

/** A group as carried in O=. Agents prefix it with "plexus:". */
export const userGroupSchema = z.string().regex(GROUP_NAME, 'must be a group name');
