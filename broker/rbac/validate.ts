// Safety rules for an RBAC baseline. Pure: raw objects in, canonical objects and every
// problem (each with a stable PLX_RBAC_* code) out. A baseline with any problem is
// rejected whole; nothing is stored. The rules aim at what a fleet-wide push must never
// do: grant wildcards, hand out escalate/bind/impersonate, give cluster-admin-like power
// to everyone (system:authenticated and friends), or touch kube-system unasked.
import {
  RBAC_API_VERSION, namespacedRbacKinds, rbacKinds, rbacObjectSchema, rbacRefKey,
  type PolicyRule, type RbacObject, type RbacProblem, type RbacRuleCode, type Subject,
} from '../api/rbac.ts';

export interface ValidateOptions {
  readonly allowKubeSystem: boolean;
}

export interface ValidationResult {
  readonly objects: RbacObject[];
  readonly problems: RbacProblem[];
}

/** Built-in roles that amount to full control of what they are bound over. */
const POWERFUL_BUILTIN_ROLES = new Set(['cluster-admin', 'admin', 'edit']);
const DANGEROUS_VERBS: ReadonlyMap<string, RbacRuleCode> = new Map([
  ['escalate', 'PLX_RBAC_ESCALATE'],
  ['bind', 'PLX_RBAC_BIND'],
  ['impersonate', 'PLX_RBAC_IMPERSONATE'],
]);

/** Groups every identity (or every workload) of a cluster belongs to. */
export function isBroadSubject(s: Subject): boolean {
  return s.kind === 'Group' && s.name.startsWith('system:');
}

function ruleProblems(rules: readonly PolicyRule[], object: string): RbacProblem[] {
  const out: RbacProblem[] = [];
  rules.forEach((rule, i) => {
    if (rule.verbs.includes('*')) out.push({ code: 'PLX_RBAC_WILDCARD_VERB', object, message: `rules[${i}] grants every verb ("*")` });
    if (rule.resources?.includes('*')) out.push({ code: 'PLX_RBAC_WILDCARD_RESOURCE', object, message: `rules[${i}] grants every resource ("*")` });
    for (const verb of rule.verbs) {
      const code = DANGEROUS_VERBS.get(verb);
      if (code) out.push({ code, object, message: `rules[${i}] grants "${verb}", which lets holders raise their own privileges` });
    }
  });
  return out;
}

function isWildcardRole(o: RbacObject | undefined): boolean {
  return (o?.rules ?? []).some((r) => r.verbs.includes('*') && (r.resources?.includes('*') ?? false));
}

function bindingProblems(o: RbacObject, object: string, byKey: ReadonlyMap<string, RbacObject>): RbacProblem[] {
  const ref = o.roleRef!;
  const roleKey = rbacRefKey({ kind: ref.kind, namespace: ref.kind === 'Role' ? o.metadata.namespace : undefined, name: ref.name });
  const baselineRole = byKey.get(roleKey);
  const builtin = ref.kind === 'ClusterRole' && !baselineRole && POWERFUL_BUILTIN_ROLES.has(ref.name);
  const adminLike = (ref.kind === 'ClusterRole' && ref.name === 'cluster-admin') || isWildcardRole(baselineRole);
  const broad = (o.subjects ?? []).filter(isBroadSubject).map((s) => s.name);
  const out: RbacProblem[] = [];
  if ((adminLike || builtin) && broad.length > 0) {
    out.push({ code: 'PLX_RBAC_BROAD_SUBJECT', object, message: `binds ${ref.kind} "${ref.name}" to ${broad.join(', ')}: every identity in those groups would get it` });
  }
  if (ref.kind === 'ClusterRole' && ref.name === 'cluster-admin') {
    out.push({ code: 'PLX_RBAC_CLUSTER_ADMIN', object, message: 'binds cluster-admin, which grants every verb on every resource' });
  }
  return out;
}

function shapeProblems(o: RbacObject, object: string): RbacProblem[] {
  const out: RbacProblem[] = [];
  const bad = (message: string) => out.push({ code: 'PLX_RBAC_MALFORMED', object, message });
  const wantVersion = o.kind === 'Namespace' ? 'v1' : RBAC_API_VERSION;
  if (o.apiVersion !== wantVersion) bad(`apiVersion must be ${wantVersion}`);
  const namespaced = namespacedRbacKinds.has(o.kind);
  if (namespaced && !o.metadata.namespace) bad(`${o.kind} needs metadata.namespace`);
  if (!namespaced && o.metadata.namespace) bad(`${o.kind} is cluster-scoped; remove metadata.namespace`);
  const isRole = o.kind === 'Role' || o.kind === 'ClusterRole';
  const isBinding = o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding';
  if (isRole && (o.roleRef || o.subjects)) bad('a role has rules, not roleRef or subjects');
  if (isBinding && !o.roleRef) bad('a binding needs roleRef');
  if (isBinding && o.rules) bad('a binding has roleRef and subjects, not rules');
  if (o.kind === 'ClusterRoleBinding' && o.roleRef?.kind === 'Role') bad('a ClusterRoleBinding can only reference a ClusterRole');
  if (o.kind === 'Namespace' && (o.rules || o.roleRef || o.subjects)) bad('a Namespace has only metadata');
  return out;
}

function kubeSystemProblem(o: RbacObject, object: string): RbacProblem | undefined {
  const touches = o.metadata.namespace === 'kube-system' || (o.kind === 'Namespace' && o.metadata.name === 'kube-system');
  return touches ? { code: 'PLX_RBAC_KUBE_SYSTEM', object, message: 'touches kube-system; pass --allow-kube-system if that is intended' } : undefined;
}

function parseOne(raw: unknown, i: number): { object?: RbacObject; problem?: RbacProblem } {
  const where = `objects[${i}]`;
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !(rbacKinds as readonly string[]).includes(kind)) {
    return { problem: { code: 'PLX_RBAC_UNKNOWN_KIND', object: where, message: `kind ${JSON.stringify(kind ?? null)} is not one of ${rbacKinds.join(', ')}` } };
  }
  const parsed = rbacObjectSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((x) => `${x.path.join('.') || '(object)'}: ${x.message}`).join('; ');
    return { problem: { code: 'PLX_RBAC_MALFORMED', object: where, message: `${kind}: ${issues}` } };
  }
  return { object: parsed.data };
}

export function validateBaseline(raw: readonly unknown[], o: ValidateOptions): ValidationResult {
  const problems: RbacProblem[] = [];
  const byKey = new Map<string, RbacObject>();
  raw.forEach((r, i) => {
    const { object, problem } = parseOne(r, i);
    if (problem) problems.push(problem);
    if (!object) return;
    const key = rbacRefKey({ kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name });
    if (byKey.has(key)) problems.push({ code: 'PLX_RBAC_DUPLICATE', object: key, message: 'appears more than once' });
    byKey.set(key, object);
  });
  for (const [key, obj] of byKey) {
    const shape = shapeProblems(obj, key);
    problems.push(...shape);
    if (shape.length > 0) continue;
    problems.push(...ruleProblems(obj.rules ?? [], key));
    if (obj.roleRef) problems.push(...bindingProblems(obj, key, byKey));
    const ks = o.allowKubeSystem ? undefined : kubeSystemProblem(obj, key);
    if (ks) problems.push(ks);
  }
  return { objects: [...byKey.values()], problems };
}
