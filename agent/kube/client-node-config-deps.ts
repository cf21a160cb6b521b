// What client-node's KubeConfig (dist/config.js) imports from the generated client's index
// (dist/gen/index.js), from the two small modules that define it. client-node-slim.ts
// serves this module in place of that index to config.js alone; the index re-exports every
// generated API and model, about 25 MB of source kept in memory (bench:footprint).
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
