import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as deps from './client-node-config-deps.ts';

const configModule = createRequire(import.meta.url).resolve('@kubernetes/client-node/dist/config.js');

describe('client-node-slim', () => {
  it('serves client-node\'s config.js every name it imports from the generated index (an upgrade that imports another would break KubeConfig)', () => {
    const source = readFileSync(configModule, 'utf8');
    const fromIndex = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'\.\/gen\/index\.js'/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()).filter(Boolean));
    expect(fromIndex.length).toBeGreaterThan(0);
    expect(/from\s*'\.\/gen\/index\.js'/g.exec(source.replace(/import\s*\{[^}]*\}\s*from\s*'\.\/gen\/index\.js'/g, ''))).toBeNull();
    expect(Object.keys(deps).sort()).toEqual(fromIndex.sort());
  });
});
