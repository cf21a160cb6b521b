// The Kubernetes verb and resource of a request, for the audit line only (authorization
// is the API server's, through impersonation). Mirrors the API server's RequestInfo rules
// closely enough to name what a person did: /api/v1/namespaces/ns/pods/name/log.
export interface RequestInfo {
  readonly verb: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly path: string;
}

const byMethod: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

function isWatch(query: string): boolean {
  return /(^|&)watch=(true|1)(&|$)/.test(query);
}

export function requestInfo(method: string, url: string): RequestInfo {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const parts = path.split('/').filter(Boolean);
  const base = byMethod[method] ?? method.toLowerCase();
  // /api/v1/… (core) or /apis/group/version/…; anything else is a non-resource URL.
  const rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : undefined;
  if (!rest || rest.length === 0) return { verb: base, path };
  if (rest[0] === 'watch') return { ...resourceOf(rest.slice(1)), verb: 'watch', path };
  const r = resourceOf(rest);
  let verb = base;
  if (base === 'get' && r.name === undefined) verb = isWatch(query) ? 'watch' : 'list';
  if (base === 'delete' && r.name === undefined) verb = 'deletecollection';
  return { ...r, verb, path };
}

function resourceOf(rest: string[]): Omit<RequestInfo, 'verb' | 'path'> {
  let s = rest;
  let namespace: string | undefined;
  // "namespaces/<ns>/<resource>…" is namespaced; "namespaces/<ns>" alone is the namespace object.
  if (s[0] === 'namespaces' && s.length > 2) {
    namespace = s[1];
    s = s.slice(2);
  }
  const [resource, name, subresource] = s;
  return {
    ...(resource ? { resource } : {}),
    ...(name ? { name } : {}),
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
  };
}
