// Lint: TypeScript rules plus the import boundaries from STYLE.md.
//   certs/  imports neither broker/ nor agent/ (it is a pure library).
//   agent/  imports only broker/api/ from the broker (the wire contract).
//   broker/ does not import agent/.
//   Runtime code (agent/ broker/ certs/ cli/ bin/, not their *.test.ts) never imports test/:
//   the fakes of test/support/ and the harness stay out of the image. Unit tests beside the
//   code may import test/support/.
import tseslint from 'typescript-eslint';

const crossesInto = (dir) => ({ regex: `(^|/)${dir}(/|$)`, message: `certs/ is a pure library and must not import ${dir}/` });
const testCode = { regex: '(^|/)test(/|$)', message: 'runtime code must not import test code (test/, test/support/ fakes): it is not in the image' };
const boundaries = {
  certs: [crossesInto('broker'), crossesInto('agent')],
  agent: [{ regex: '(^|/)broker/(?!api(/|$))', message: 'agent/ may import only broker/api/ (the wire contract) from the broker' }],
  broker: [{ regex: '(^|/)agent(/|$)', message: 'broker/ must not import agent/' }],
  cli: [],
  bin: [],
};
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
    { files: [`${dir}/**/*.ts`], ignores: tests, rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, testCode] }] } },
  ]),
);
