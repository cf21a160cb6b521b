// What a receiving gateway lets other clusters reach: for each exported service
// (namespace/name) and each exported port, the local backends (host:port) that carry it.
// Built once from validated input and immutable; the gateway swaps the whole table when
// the exports change (setExports), so a lookup never sees half an update. The agent will
// feed it from its ServiceExports; for now `plexus gateway run --exports` reads a file.
//
// Only TCP is carried: a UDP or SCTP port is refused here, when the table is built, with
// PLX_GATEWAY_UDP_UNSUPPORTED, rather than accepted and then silently not served.
import { z } from 'zod';
import { DNS_LABEL } from '../certs/dns-name.ts';
import { GatewayError } from './errors.ts';
import type { RefusalReason } from './refusal.ts';
import { serviceKey, type ServiceTarget } from './target.ts';

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export type Lookup =
  | { readonly ok: true; readonly service: string; readonly backends: readonly Backend[] }
  | { readonly ok: false; readonly reason: Extract<RefusalReason, 'not-exported' | 'port-not-exported'> };

const port = z.number().int().min(1).max(65535);
const backend = z.string().transform((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):([0-9]{1,5})$/.exec(s);
  const p = m ? Number(m[2]) : NaN;
  if (!m || p < 1 || p > 65535) {
    ctx.addIssue({ code: 'custom', message: `backend ${JSON.stringify(s)} is not host:port` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: p };
});

export const exportEntrySchema = z.object({
  namespace: z.string().regex(DNS_LABEL, 'namespace must be an RFC-1123 label'),
  name: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'name must be an RFC-1035 label (a Service name)'),
  ports: z.array(z.object({
    port,
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
    backends: z.array(backend).min(1, 'at least one backend'),
  }).strict()).min(1, 'at least one port'),
}).strict();

export type ExportEntry = z.input<typeof exportEntrySchema>;

export class ExportTable {
  readonly #services: ReadonlyMap<string, ReadonlyMap<number, readonly Backend[]>>;

  private constructor(services: Map<string, Map<number, readonly Backend[]>>) {
    this.#services = services;
  }

  static empty(): ExportTable {
    return new ExportTable(new Map());
  }

  /** Validates every entry and reports every problem at once (PLX_GATEWAY_BAD_EXPORTS / _UDP_UNSUPPORTED). */
  static from(entries: unknown): ExportTable {
    const parsed = z.array(exportEntrySchema).safeParse(entries);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(table)'}: ${i.message}`);
      throw new GatewayError('PLX_GATEWAY_BAD_EXPORTS', `export table is invalid: ${problems.join('; ')}`);
    }
    const udp: string[] = [];
    const duplicates: string[] = [];
    const services = new Map<string, Map<number, readonly Backend[]>>();
    for (const e of parsed.data) {
      const key = serviceKey(e);
      if (services.has(key)) duplicates.push(key);
      const ports = new Map<number, readonly Backend[]>();
      for (const p of e.ports) {
        if (p.protocol !== 'TCP') udp.push(`${key} port ${p.port}/${p.protocol}`);
        if (ports.has(p.port)) duplicates.push(`${key} port ${p.port}`);
        ports.set(p.port, Object.freeze([...p.backends]));
      }
      services.set(key, ports);
    }
    if (udp.length > 0) {
      throw new GatewayError('PLX_GATEWAY_UDP_UNSUPPORTED', `the gateway carries TCP only; not exportable through it: ${udp.join(', ')}`);
    }
    if (duplicates.length > 0) throw new GatewayError('PLX_GATEWAY_BAD_EXPORTS', `export table names more than once: ${duplicates.join(', ')}`);
    return new ExportTable(services);
  }

  lookup(t: ServiceTarget): Lookup {
    const service = serviceKey(t);
    const ports = this.#services.get(service);
    if (!ports) return { ok: false, reason: 'not-exported' };
    const backends = ports.get(t.port);
    if (!backends) return { ok: false, reason: 'port-not-exported' };
    return { ok: true, service, backends };
  }

  /** namespace/name of every exported service: the bounded set of `service` label values. */
  services(): string[] {
    return [...this.#services.keys()];
  }
}
