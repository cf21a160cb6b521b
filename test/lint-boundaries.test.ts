// The import boundaries of STYLE.md are enforced by ESLint; this pins that the rule
// actually fires (a misconfigured pattern would silently allow everything).
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: repo });

async function restricted(file: string, source: string): Promise<boolean> {
  const [result] = await eslint.lintText(source, { filePath: path.join(repo, file) });
  return result!.messages.some((m) => m.ruleId === 'no-restricted-imports');
}

describe('import boundaries', () => {
  it('certs/ may import neither broker/ nor agent/', async () => {
    expect(await restricted('certs/probe.ts', "import '../broker/config.ts';\n")).toBe(true);
    expect(await restricted('certs/probe.ts', "import '../agent/errors.ts';\n")).toBe(true);
    expect(await restricted('certs/probe.ts', "import './pem.ts';\n")).toBe(false);
  });

  it('agent/ may import only broker/api/ from the broker', async () => {
    expect(await restricted('agent/join/probe.ts', "import '../../broker/config.ts';\n")).toBe(true);
    expect(await restricted('agent/join/probe.ts', "import '../../broker/store/store.ts';\n")).toBe(true);
    expect(await restricted('agent/join/probe.ts', "import '../../broker/api/types.ts';\n")).toBe(false);
    expect(await restricted('agent/join/probe.ts', "import '../../broker/apiary.ts';\n")).toBe(true);
  });

  it('gateway/ may import certs/ and broker/api/, never the rest of the broker, cli/ or fastify', async () => {
    expect(await restricted('gateway/probe.ts', "import '../certs/verify.ts';\n")).toBe(false);
    expect(await restricted('gateway/probe.ts', "import '../broker/api/addresses.ts';\n")).toBe(false);
    expect(await restricted('gateway/probe.ts', "import '../broker/config.ts';\n")).toBe(true);
    expect(await restricted('gateway/probe.ts', "import '../cli/output.ts';\n")).toBe(true);
    expect(await restricted('gateway/probe.ts', "import 'fastify';\n")).toBe(true);
  });

  it('production code may not import test code, and the broker may not import the agent', async () => {
    expect(await restricted('broker/probe.ts', "import '../agent/errors.ts';\n")).toBe(true);
    expect(await restricted('broker/probe.ts', "import '../test/harness/index.ts';\n")).toBe(true);
    expect(await restricted('agent/probe.ts', "import '../test/harness/index.ts';\n")).toBe(true);
  });

  it('runtime code never imports the test-support fakes; unit tests beside it may', async () => {
    for (const file of ['agent/kube/probe.ts', 'broker/probe.ts', 'certs/probe.ts', 'gateway/probe.ts', 'cli/probe.ts', 'bin/probe.ts']) {
      const support = path.relative(path.dirname(file), 'test/support/fake-timers.ts');
      expect(await restricted(file, `import '${support}';\n`), file).toBe(true);
      expect(await restricted(file.replace(/\.ts$/, '.test.ts'), `import '${support}';\n`), file).toBe(false);
    }
    // A unit test still keeps its folder's boundaries.
    expect(await restricted('certs/probe.test.ts', "import '../agent/errors.ts';\n")).toBe(true);
    expect(await restricted('agent/probe.test.ts', "import '../broker/config.ts';\n")).toBe(true);
  });

  it('node:sqlite stays in broker/store/, and only the composition roots import the store backend', async () => {
    for (const file of ['broker/catalog/probe.ts', 'broker/http/probe.ts', 'broker/probe.ts', 'agent/probe.ts', 'cli/probe.ts', 'certs/probe.ts', 'broker/catalog/probe.test.ts']) {
      expect(await restricted(file, "import 'node:sqlite';\n"), file).toBe(true);
    }
    expect(await restricted('broker/store/probe.ts', "import 'node:sqlite';\n")).toBe(false);
    expect(await restricted('broker/catalog/probe.ts', "import '../store/sqlite-store.ts';\n")).toBe(true);
    expect(await restricted('broker/http/probe.ts', "import '../store/store.ts';\n")).toBe(true);
    expect(await restricted('broker/main.ts', "import './store/sqlite-store.ts';\n")).toBe(false);
    expect(await restricted('broker/init.ts', "import './store/sqlite-store.ts';\n")).toBe(false);
    // A unit test may run on the real backend.
    expect(await restricted('broker/catalog/probe.test.ts', "import '../store/sqlite-store.ts';\n")).toBe(false);
  });
});
