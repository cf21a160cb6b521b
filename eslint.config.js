// Lint: TypeScript rules plus the import boundaries from STYLE.md.
//   certs/  imports neither broker/ nor agent/ (it is a pure library).
//   agent/  imports only broker/api/ from the broker (the wire contract).
import tseslint from 'typescript-eslint';

const crossesInto = (dir) => ({ regex: `(^|/)${dir}(/|$)`, message: `certs/ is a pure library and must not import ${dir}/` });

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
    rules: { 'no-restricted-imports': ['error', { patterns: [crossesInto('broker'), crossesInto('agent'), crossesInto('test')] }] },
  },
  {
    files: ['agent/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)broker/(?!api(/|$))', message: 'agent/ may import only broker/api/ (the wire contract) from the broker' },
        { regex: '(^|/)test/', message: 'production code must not import test code' },
      ] }],
    },
  },
  {
    files: ['broker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [
      { regex: '(^|/)agent(/|$)', message: 'broker/ must not import agent/' },
      { regex: '(^|/)test/', message: 'production code must not import test code' },
    ] }] },
  },
);
