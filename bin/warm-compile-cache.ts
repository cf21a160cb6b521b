// Fills Node's compile cache (the directory NODE_COMPILE_CACHE names) with every module of
// the program, so that `plexus` starts from it instead of from source. Node runs our
// TypeScript by stripping its types, and the first .ts file a process loads brings up the
// stripper (a WebAssembly module): about 20 MiB resident for the life of the process. With
// the stripped and compiled code in the cache it never loads, and the libraries' code is
// not compiled again either (bench:footprint: about 20 MiB less per agent and 27 MiB less
// per broker). The image runs this at build time (Dockerfile); bench:footprint runs it the
// same way before it starts the processes it measures. The sources are unchanged: the
// cache holds only what Node derived from them, checked against them on every load. Node
// keeps one cache per user id inside the directory: run this as the user that will run the
// program (the image does it as `node`, uid 1000, which deploy/ runs as).
//
//   NODE_COMPILE_CACHE=<dir> node bin/warm-compile-cache.ts
import { readdirSync } from 'node:fs';
import { flushCompileCache, getCompileCacheDir } from 'node:module';
import path from 'node:path';
// First, as in bin/plexus.ts: KubeConfig's module then resolves as it does in the program.
import '../agent/kube/client-node-slim.ts';

const repo = path.resolve(import.meta.dirname, '..');
/** The folders the image copies (Dockerfile), whose modules the program may load. */
const FOLDERS = ['bin', 'cli', 'certs', 'broker', 'agent', 'gateway', 'crds'];
const ENTRY = path.join(repo, 'bin', 'plexus.ts');

if (!getCompileCacheDir()) {
  process.stderr.write('warm-compile-cache: NODE_COMPILE_CACHE is not set; nothing to fill\n');
  process.exit(2);
}

/** Every module in `dir`, tests excepted (the test fakes live in test/support/, which the image does not copy). */
function modulesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

const modules = FOLDERS.flatMap((f) => modulesIn(path.join(repo, f))).filter((m) => m !== ENTRY && m !== import.meta.filename);
for (const m of modules) await import(m);
// The entry runs the program when loaded: load it as `plexus --version`, which only prints.
process.argv = [process.argv[0]!, ENTRY, '--version'];
await import(ENTRY);
flushCompileCache();
process.stderr.write(`warm-compile-cache: ${modules.length + 1} modules in ${getCompileCacheDir()}\n`);
process.exit(0);
