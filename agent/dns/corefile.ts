// The Corefile text transform behind `plexus agent dns patch-coredns`: a stub domain for
// `clusterset.local` forwarded to the agent's DNS server, as one marked block that can be
// added, replaced and removed without touching a byte of anything else in the Corefile.
// Pure text in, text out; patch-coredns.ts does the API calls.

export const BLOCK_BEGIN = '# BEGIN plexus clusterset.local stub domain (plexus agent dns patch-coredns; remove with --undo)';
export const BLOCK_END = '# END plexus clusterset.local stub domain';

export interface StubDomainOptions {
  /** Where CoreDNS forwards the zone: the agent DNS Service's ClusterIP, with `:port` when not 53. */
  readonly upstream: string;
  readonly zone?: string;
  /** Seconds CoreDNS may cache answers; at most the agent's TTL is sensible. */
  readonly cacheSeconds?: number;
  /** Port CoreDNS serves the zone on (53 in a cluster; tests use a free one). */
  readonly port?: number;
}

export function stubDomainBlock(o: StubDomainOptions): string {
  return [
    BLOCK_BEGIN,
    `${o.zone ?? 'clusterset.local'}:${o.port ?? 53} {`,
    '    errors',
    `    cache ${o.cacheSeconds ?? 5}`,
    `    forward . ${o.upstream}`,
    '}',
    BLOCK_END,
    '',
  ].join('\n');
}

/** The Corefile without the Plexus block (the text as it was before patching). */
export function unpatchCorefile(text: string): string {
  const begin = text.indexOf(BLOCK_BEGIN);
  if (begin < 0) return text;
  const endMarker = text.indexOf(BLOCK_END, begin);
  if (endMarker < 0) return text;
  let end = endMarker + BLOCK_END.length;
  if (text[end] === '\n') end++;
  return unpatchCorefile(text.slice(0, begin) + text.slice(end));
}

/** Adds (or replaces) the block at the top of the Corefile; applying it twice changes nothing. */
export function patchCorefile(text: string, o: StubDomainOptions): string {
  return stubDomainBlock(o) + unpatchCorefile(text);
}

export function isPatched(text: string): boolean {
  return text.includes(BLOCK_BEGIN);
}
