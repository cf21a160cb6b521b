// The floor for bench:footprint: a bare Node process that loads the libraries a role's
// process loads (`plexus agent run` / `plexus broker start`) and then does nothing. Its RSS
// is what the runtime and those libraries cost before any Plexus object exists; the gap
// between it and the real process is Plexus's own state. With no role it loads nothing
// (the bare runtime). Each line on stdin is answered with process.memoryUsage() as JSON, so
// the bench reads the heap the same way it reads the real processes' metrics.
import { createInterface } from 'node:readline';

/** The packages each role's process has loaded after it settles (bench:footprint traced them with a resolve hook). */
export const roleLibraries: Record<string, string[]> = {
  // The agent loads client-node's KubeConfig, ListWatch, Watch and patch modules, not its
  // index, through the resolve hook bin/plexus.ts registers (agent/kube/client-node-slim.ts).
  agent: ['reflect-metadata', '@peculiar/x509', 'commander', 'undici', 'zod', 'pino', ...['config', 'cache', 'watch', 'patch'].map((m) => `@kubernetes/client-node/dist/${m}.js`), 'prom-client'],
  broker: ['reflect-metadata', '@peculiar/x509', 'commander', 'undici', 'zod', 'pino', 'fastify', 'prom-client', 'node:sqlite'],
  runtime: [],
};

const role = process.argv[2] ?? 'runtime';
const libs = roleLibraries[role];
if (!libs) throw new Error(`unknown role ${role}; one of ${Object.keys(roleLibraries).join(', ')}`);
if (role === 'agent') await import('../agent/kube/client-node-slim.ts');
for (const lib of libs) await import(lib);
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify(process.memoryUsage()) + '\n'));
process.stdout.write('ready\n');
