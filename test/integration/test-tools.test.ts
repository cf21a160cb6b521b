// `npm test` installs the system tools its suites drive, as the README promises for a fresh
// machine: the dashboard suite once failed its setup there with "no Chromium at
// /usr/bin/chromium" because only .ci/run installed Chromium and dig.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/plexus-process.ts';

describe('test tools', () => {
  it('npm test provides Chromium, dig, openssl and the NSS tools itself (no Chromium on a fresh machine)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toContain('scripts/test-tools.sh');
    // Idempotent: on a machine that has the tools it returns at once; otherwise it installs them.
    execFileSync('bash', [join(repoRoot, 'scripts/test-tools.sh')], { stdio: 'inherit' });
    for (const tool of ['chromium', 'dig', 'openssl', 'certutil', 'pk12util']) {
      expect(() => execFileSync('bash', ['-c', `command -v ${tool}`]), tool).not.toThrow();
    }
  });
});
