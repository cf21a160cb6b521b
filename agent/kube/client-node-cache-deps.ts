// What client-node's ListWatch (dist/cache.js) uses of client-node's serializer: it
// serializes its label and field selectors as 'string', which that serializer returns
// unchanged. client-node-slim.ts serves this module in place of the serializer to cache.js
// alone; the real one imports every generated model (758 modules, about 8 MiB resident).
// Any other use throws instead of guessing (client-node-slim.test.ts pins cache.js's uses).
export const ObjectSerializer = {
  serialize(data: unknown, type: string): unknown {
    if (type !== 'string' || (data !== undefined && data !== null && typeof data !== 'string')) {
      throw new Error(`client-node-cache-deps: ListWatch serialized a ${typeof data} as '${type}'; only strings are provided (agent/kube/client-node-slim.ts)`);
    }
    return data;
  },
};
