import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOGUES, DOC_PATH, renderErrorCodesDoc } from './error-codes-doc.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = ['agent', 'broker', 'certs', 'gateway', 'cli', 'bin', 'scripts'];
/** A whole code: a prefix mention such as PLX_RBAC_* or `PLX_AGENT_PROXY_${string}` is not one. */
const CODE = /\bPLX_[A-Z0-9_]*[A-Z0-9]\b/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sourceFiles(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** code → the files that use it, over the non-test sources of the scanned folders. */
function codesInSource(): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const file of SCANNED.flatMap((d) => sourceFiles(path.join(ROOT, d)))) {
    for (const [code] of readFileSync(file, 'utf8').matchAll(CODE)) {
      const rel = path.relative(ROOT, file);
      const files = uses.get(code) ?? [];
      if (!files.includes(rel)) files.push(rel);
      uses.set(code, files);
    }
  }
  return uses;
}

describe('error code catalogues', () => {
  it('every PLX_ code used in agent, broker, certs, cli, bin and scripts is in a catalogue (PLX_AGENT_TRUST_BUNDLE_CLASH, PLX_HEALTH_* and PLX_RBAC_* were in none)', () => {
    const catalogued = new Set(CATALOGUES.flatMap((c) => Object.keys(c.entries)));
    const missing = [...codesInSource()].filter(([code]) => !catalogued.has(code)).map(([code, files]) => `${code} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('each code is in exactly one catalogue, the one of the package that owns its prefix, with a meaning and a remedy', () => {
    const seen = new Map<string, string>();
    for (const c of CATALOGUES) {
      for (const [code, e] of Object.entries(c.entries)) {
        expect(seen.get(code), `${code} is in ${seen.get(code)} and ${c.pkg}`).toBeUndefined();
        seen.set(code, c.pkg);
        expect(c.prefixes.some((p) => code.startsWith(p)), `${code} in the ${c.pkg} catalogue`).toBe(true);
        expect(e.meaning.trim(), `${code} meaning`).not.toBe('');
        expect(e.remedy.trim(), `${code} remedy`).not.toBe('');
      }
    }
    expect(seen.size).toBeGreaterThan(100);
  });

  it('docs/errors.md is what `npm run docs:errors` writes (run it after changing a catalogue)', () => {
    expect(readFileSync(DOC_PATH, 'utf8')).toBe(renderErrorCodesDoc());
  });

  it('the page lists every code once, with its package and HTTP status', () => {
    const doc = renderErrorCodesDoc();
    expect(doc).toContain('| `PLX_BROKER_TOKEN_USED` | broker | 401 |');
    expect(doc).toContain('| `PLX_AGENT_PROXY_REVOCATIONS_STALE` | agent | 503 |');
    expect(doc).toContain('| `PLX_CERTS_EXPIRED` | certs |  |');
    expect(doc).toContain('| `PLX_HEALTH_UNHEALTHY` | cli |  |');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `PLX_'));
    expect(rows).toHaveLength(CATALOGUES.reduce((n, c) => n + Object.keys(c.entries).length, 0));
    expect(renderErrorCodesDoc([{ pkg: 'cli', file: 'x.ts', prefixes: ['PLX_X_'], entries: { PLX_X_A: { meaning: 'a | b', remedy: 'c\nd' } } }]))
      .toContain('| `PLX_X_A` | cli |  | a \\| b | c d |');
  });
});
