import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ObjectSerializer } from './client-node-cache-deps.ts';
import * as configDeps from './client-node-config-deps.ts';

const source = (m: string) => readFileSync(createRequire(import.meta.url).resolve(`@kubernetes/client-node/dist/${m}`), 'utf8');

/** Names `module` imports from `specifier` (one `import { … } from` statement, nothing else from it). */
function namesImported(module: string, specifier: string): string[] {
  const from = `from\\s*'${specifier.replace(/[./]/g, '\\$&')}'`;
  const src = source(module);
  const named = [...src.matchAll(new RegExp(`import\\s*\\{([^}]*)\\}\\s*${from}`, 'g'))];
  expect(named).toHaveLength(1);
  expect(src.match(new RegExp(from, 'g'))).toHaveLength(1);
  return named[0]![1]!.split(',').map((n) => n.trim()).filter(Boolean).map((n) => n.split(/\s+as\s+/)[0]!);
}

describe('client-node-slim', () => {
  it('serves client-node\'s config.js every name it imports from the generated index (an upgrade that imports another would break KubeConfig)', () => {
    expect(Object.keys(configDeps).sort()).toEqual(namesImported('config.js', './gen/index.js').sort());
  });

  it('serves client-node\'s cache.js the serializer it uses: serialize(selector, \'string\') only', () => {
    expect(namesImported('cache.js', './serializer.js')).toEqual(['ObjectSerializer']);
    const uses = [...source('cache.js').matchAll(/ObjectSerializer\.(\w+)\(([^)]*)\)/g)];
    expect(uses.length).toBeGreaterThan(0);
    for (const [, method, args] of uses) {
      expect(method).toBe('serialize');
      expect(args).toMatch(/, 'string'$/);
    }
  });

  it('the cache.js serializer returns strings unchanged and refuses anything else', () => {
    expect(ObjectSerializer.serialize('app=x,tier!=y', 'string')).toBe('app=x,tier!=y');
    expect(ObjectSerializer.serialize(undefined, 'string')).toBeUndefined();
    expect(() => ObjectSerializer.serialize({ a: 1 }, 'V1Service')).toThrow(/only strings/);
  });
});
