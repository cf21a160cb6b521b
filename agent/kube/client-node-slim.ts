// Lets the agent use client-node's KubeConfig and ListWatch without loading its whole
// generated client. KubeConfig's module (dist/config.js) imports two names from the
// generated client's index, which re-exports every generated API and model (about 25 MB of
// source, 30 MiB resident); ListWatch's module (dist/cache.js) imports the serializer, which
// imports every generated model (about 8 MiB), to pass its selectors through unchanged. An
// agent calls no typed API (bench:footprint). This resolve hook gives those two imports, from
// those two modules and nothing else, small modules that provide exactly what they use
// (client-node-config-deps.ts: the same two names from the modules that define them;
// client-node-cache-deps.ts: the string case of serialize), so KubeConfig and ListWatch run
// unchanged. Anything that asks for the index or the serializer itself (the CLI's typed
// clients, tests) still gets the real one. client-node-slim.test.ts fails if an upgrade of
// client-node makes either module use more.
// Imported first by bin/plexus.ts (a module runs once, so the hook is registered once).
import { registerHooks } from 'node:module';

const DIST = '/node_modules/@kubernetes/client-node/dist/';
/** `<importing module>` → `<specifier>` → what it gets instead. */
const REDIRECTS: Record<string, Record<string, string>> = {
  'config.js': { './gen/index.js': new URL('./client-node-config-deps.ts', import.meta.url).href },
  'cache.js': { './serializer.js': new URL('./client-node-cache-deps.ts', import.meta.url).href },
};

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL;
    const i = parent?.lastIndexOf(DIST) ?? -1;
    const url = i === -1 ? undefined : REDIRECTS[parent!.slice(i + DIST.length)]?.[specifier];
    if (url) return { url, shortCircuit: true };
    return nextResolve(specifier, context);
  },
});
