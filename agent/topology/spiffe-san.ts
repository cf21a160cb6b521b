// Reads the SPIFFE URI of a peer certificate from Node's `subjectaltname` string, exactly:
// a certificate must carry one URI SAN and nothing is normalised. Hostnames and DNS SANs
// play no part in deciding who a peer is.

/** The one URI SAN, or undefined when there is none or more than one. */
export function spiffeUriOf(subjectaltname: string | undefined): string | undefined {
  if (!subjectaltname) return undefined;
  const uris = subjectaltname.split(', ').filter((e) => e.startsWith('URI:'));
  return uris.length === 1 ? uris[0]!.slice('URI:'.length) : undefined;
}
