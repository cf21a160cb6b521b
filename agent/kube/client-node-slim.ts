// Lets the agent use client-node's KubeConfig without loading the whole generated client.
// KubeConfig's module imports two names from the generated client's index, and that index
// re-exports every generated API and model: about 25 MB of source and 30 MiB resident in
// an agent that never calls a typed API (bench:footprint). This resolve hook gives that one
// import (from dist/config.js, nothing else) client-node-config-deps.ts, which exports the
// same two names from the same modules, so KubeConfig runs unchanged. Anything that asks for
// the index itself (the CLI's typed clients, tests) still gets the real one.
// client-node-slim.test.ts fails if config.js ever imports another name from the index.
// Imported first by bin/plexus.ts (a module runs once, so the hook is registered once).
import { registerHooks } from 'node:module';

const CONFIG_MODULE = '/node_modules/@kubernetes/client-node/dist/config.js';
const DEPS_URL = new URL('./client-node-config-deps.ts', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === './gen/index.js' && context.parentURL?.endsWith(CONFIG_MODULE)) return { url: DEPS_URL, shortCircuit: true };
    return nextResolve(specifier, context);
  },
});
