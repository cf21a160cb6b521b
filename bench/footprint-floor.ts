// The floor for bench:footprint: a bare Node process that loads the libraries a role's
// process loads (`plexus agent run` / `plexus broker start`) and then does nothing. Its RSS
// is what the runtime and those libraries cost before any Plexus object exists; the gap
// between it and the real process is Plexus's own state. With no role it loads nothing
// (the bare runtime). Each line on stdin is answered with process.memoryUsage() as JSON, so
// the bench reads the heap the same way it reads the real processes' metrics.
import { createInterface } from 'node:readline';
import { roleLibraries } from './role-libraries.ts';

const role = process.argv[2] ?? 'runtime';
const libs = roleLibraries[role];
if (!libs) throw new Error(`unknown role ${role}; one of ${Object.keys(roleLibraries).join(', ')}`);
if (role === 'agent') await import('../agent/kube/client-node-slim.ts');
for (const lib of libs) await import(lib);
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify(process.memoryUsage()) + '\n'));
process.stdout.write('ready\n');
