// The tunnel table: what the local east-west gateway's sending side listens on. Each entry
// maps a local port of the gateway pod to one remote service port behind one remote
// cluster's gateway. The import controller writes it (ConfigMap `plexus-gateway-tunnels`
// in the agent namespace, key `tunnels.json`); the gateway reads it. The schema is the
// contract between the two, validated on both sides.
import { z } from 'zod';
import { gatewayAddressSchema } from '../../broker/api/advertisement.ts';
import { clusterIdSchema, dnsLabelSchema } from '../../broker/api/names.ts';

export const TUNNEL_TABLE_CONFIG_MAP = 'plexus-gateway-tunnels';
export const TUNNEL_TABLE_KEY = 'tunnels.json';

const port = z.number().int().min(1).max(65535);

export const tunnelEntrySchema = z.object({
  /** Port the local gateway listens on (pod network); the imported EndpointSlice's port. */
  listenPort: port,
  /** Source cluster of the endpoints behind this tunnel. */
  cluster: clusterIdSchema,
  /** `host:port` of that cluster's gateway (its advertisement), dialled with mTLS. */
  gateway: gatewayAddressSchema,
  namespace: dnsLabelSchema,
  name: dnsLabelSchema,
  /** The exported Service's port (what the remote gateway connects to: name.namespace:port). */
  port,
  /** Only TCP is tunnelled. */
  protocol: z.literal('TCP'),
  portName: z.string().max(63).optional(),
}).strict();
export type TunnelEntry = z.infer<typeof tunnelEntrySchema>;

export const tunnelTableSchema = z.object({
  version: z.literal(1),
  /** Where the imported slices point: the local gateway pod's address(es). */
  localAddresses: z.array(z.string()).max(2),
  /** Sorted by listenPort; listen ports are unique. */
  tunnels: z.array(tunnelEntrySchema),
}).strict().superRefine((t, ctx) => {
  const seen = new Set<number>();
  for (const e of t.tunnels) {
    if (seen.has(e.listenPort)) ctx.addIssue({ code: 'custom', message: `listenPort ${e.listenPort} appears twice` });
    seen.add(e.listenPort);
  }
});
export type TunnelTable = z.infer<typeof tunnelTableSchema>;

/** The identity a listen port is allocated for: (source cluster, namespace, service, protocol, port). */
export function tunnelKey(e: Pick<TunnelEntry, 'cluster' | 'namespace' | 'name' | 'protocol' | 'port'>): string {
  return `${e.cluster}/${e.namespace}/${e.name}/${e.protocol}/${e.port}`;
}

/** JSON with a fixed order, so an unchanged table is byte-identical (no write). */
export function serializeTunnelTable(t: TunnelTable): string {
  const tunnels = [...t.tunnels].sort((a, b) => a.listenPort - b.listenPort).map((e) => ({
    listenPort: e.listenPort, cluster: e.cluster, gateway: e.gateway, namespace: e.namespace, name: e.name,
    port: e.port, protocol: e.protocol, ...(e.portName ? { portName: e.portName } : {}),
  }));
  return `${JSON.stringify({ version: 1, localAddresses: t.localAddresses, tunnels }, null, 1)}\n`;
}

/** Parses the ConfigMap value; a problem string instead of throwing (a hand-edited table must not stop the agent). */
export function parseTunnelTable(raw: string): TunnelTable | string {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return `${TUNNEL_TABLE_KEY} is not JSON: ${(err as Error).message}`;
  }
  const r = tunnelTableSchema.safeParse(json);
  return r.success ? r.data : `${TUNNEL_TABLE_KEY} does not match the schema: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
}
