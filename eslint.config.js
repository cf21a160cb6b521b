// Lint: TypeScript rules plus the import boundaries from STYLE.md.
//   certs/  imports neither broker/ nor agent/ (it is a pure library).
//   agent/  imports only broker/api/ from the broker (the wire contract).
//   broker/ does not import agent/.
//   cli/    is the top of the program: it imports the runtime packages, never the other
//           way round. broker/, agent/ and certs/ import neither cli/ nor commander.
//   fastify is imported only in broker/http/: every route plugin lives there, and the
//           subsystems (catalog/, rbac/, users/, ca/, fleet/, metrics/ …) export services.
//   node:sqlite is imported only in broker/store/ (the embedded backend). broker/ runtime code
//           outside broker/store/ does not import broker/store/ either: each consumer declares
//           the store interface it needs in its own folder, and only the composition roots
//           (broker/main.ts, broker/init.ts) pick a backend. Unit tests may use the real one.
//   gateway/ imports certs/ (and, like agent/, only broker/api/ of the broker); never cli/.
//   Runtime code (agent/ broker/ certs/ gateway/ cli/ bin/, not their *.test.ts) never imports test/:
//   the fakes of test/support/ and the harness stay out of the image. Unit tests beside the
//   code may import test/support/. Nor does it import a devDependency kept for a benchmark (etcd3).
import tseslint from 'typescript-eslint';

const crossesInto = (dir) => ({ regex: `(^|/)${dir}(/|$)`, message: `certs/ is a pure library and must not import ${dir}/` });
const testCode = { regex: '(^|/)test(/|$)', message: 'runtime code must not import test code (test/, test/support/ fakes): it is not in the image' };
const noCli = [
  { regex: '(^|/)cli(/|$)', message: 'runtime packages (broker/, agent/, certs/) must not import cli/: commands live in cli/ and import the runtime, not the other way round' },
  { regex: '^commander(/|$)', message: 'commander belongs to the commands in cli/, not to a runtime package' },
];
// Dev-only packages (benchmarks' peers) are not in the image (npm ci --omit=dev).
const devOnly = { regex: '^etcd3(/|$)', message: 'etcd3 is a devDependency, the peer of bench:etcd-client only; the broker reaches etcd through broker/etcd/ (its JSON gateway over undici)' };
const noFastify = { regex: '^(fastify|@fastify/)', message: 'fastify is imported only in broker/http/: route plugins live there; a subsystem exports a service for http/ to mount' };
const brokerNoAgent = { regex: '(^|/)agent(/|$)', message: 'broker/ must not import agent/' };
const noSqlite = { regex: '^node:sqlite$', message: 'node:sqlite is the embedded store backend: only broker/store/ imports it; code elsewhere uses the store interface its consumer declares' };
const noStoreBackend = { regex: '(^|/)store/', message: 'broker/store/ is a backend: only broker/main.ts and broker/init.ts choose it; declare the store interface you need in your own folder' };
// Later entries replace earlier ones for the files both match (broker/http/ after broker/).
const boundaries = {
  certs: [crossesInto('broker'), crossesInto('agent'), ...noCli, noFastify, noSqlite],
  agent: [{ regex: '(^|/)broker/(?!api(/|$))', message: 'agent/ may import only broker/api/ (the wire contract) from the broker' }, ...noCli, noFastify, noSqlite],
  broker: [brokerNoAgent, ...noCli, noFastify, noSqlite],
  'broker/http': [brokerNoAgent, ...noCli, noSqlite],
  'broker/store': [brokerNoAgent, ...noCli, noFastify],
  gateway: [{ regex: '(^|/)broker/(?!api(/|$))', message: 'gateway/ may import only broker/api/ (the wire contract) from the broker' }, ...noCli, noFastify, noSqlite],
  cli: [noSqlite],
  bin: [noSqlite],
};
// Runtime files only (their unit tests may open the real store): the store backend stays
// behind the composition roots.
const runtimeOnly = { broker: [noStoreBackend], 'broker/http': [noStoreBackend] };
const compositionRoots = ['broker/main.ts', 'broker/init.ts'];
const tests = ['**/*.test.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // One block per folder for its tests and one for its runtime files: a later block replaces
  // the rule's options, so the runtime block repeats the folder's boundaries.
  ...Object.entries(boundaries).flatMap(([dir, patterns]) => [
    { files: tests.map((t) => `${dir}/${t}`), rules: { 'no-restricted-imports': ['error', { patterns }] } },
    { files: [`${dir}/**/*.ts`], ignores: tests, rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, ...(runtimeOnly[dir] ?? []), testCode, devOnly] }] } },
  ]),
  { files: compositionRoots, rules: { 'no-restricted-imports': ['error', { patterns: [...boundaries.broker, testCode, devOnly] }] } },
);
