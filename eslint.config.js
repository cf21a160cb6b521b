// Lint: TypeScript rules plus the import boundaries from STYLE.md.
//   certs/  imports neither broker/ nor agent/ (it is a pure library).
//   agent/  imports only broker/api/ from the broker (the wire contract).
//   cli/    is the top of the program: it imports the runtime packages, never the other
//           way round. broker/, agent/ and certs/ import neither cli/ nor commander.
import tseslint from 'typescript-eslint';

const crossesInto = (dir) => ({ regex: `(^|/)${dir}(/|$)`, message: `certs/ is a pure library and must not import ${dir}/` });
const noCli = [
  { regex: '(^|/)cli(/|$)', message: 'runtime packages (broker/, agent/, certs/) must not import cli/: commands live in cli/ and import the runtime, not the other way round' },
  { regex: '^commander(/|$)', message: 'commander belongs to the commands in cli/, not to a runtime package' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['certs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [crossesInto('broker'), crossesInto('agent'), crossesInto('test'), ...noCli] }] },
  },
  {
    files: ['agent/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)broker/(?!api(/|$))', message: 'agent/ may import only broker/api/ (the wire contract) from the broker' },
        { regex: '(^|/)test/', message: 'production code must not import test code' },
        ...noCli,
      ] }],
    },
  },
  {
    files: ['broker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [
      { regex: '(^|/)agent(/|$)', message: 'broker/ must not import agent/' },
      { regex: '(^|/)test/', message: 'production code must not import test code' },
      ...noCli,
    ] }] },
  },
);
