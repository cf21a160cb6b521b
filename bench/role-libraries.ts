// The third-party libraries each Plexus role's process loads: the floor of bench:footprint,
// and the baseline bench:etcd-client measures a client's added memory against.
/** The packages each role's process has loaded after it settles (bench:footprint traced them with a resolve hook). */
export const roleLibraries: Record<string, string[]> = {
  // The agent loads client-node's KubeConfig, ListWatch, Watch and patch modules, not its
  // index, through the resolve hook bin/plexus.ts registers (agent/kube/client-node-slim.ts).
  agent: ['reflect-metadata', '@peculiar/x509', 'commander', 'undici', 'zod', 'pino', ...['config', 'cache', 'watch', 'patch'].map((m) => `@kubernetes/client-node/dist/${m}.js`), 'prom-client'],
  broker: ['reflect-metadata', '@peculiar/x509', 'commander', 'undici', 'zod', 'pino', 'fastify', 'prom-client', 'node:sqlite'],
  runtime: [],
};
