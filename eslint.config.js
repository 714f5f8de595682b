// ESLint: type-aware TypeScript rules, plus the workflow fence of DESIGN §6 (workflow code stays deterministic).
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'crypto',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  // bench/peer/ has its own packages, installed on demand by `npm run bench`; `npm --prefix bench/peer run check` types it.
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.baton/**', 'test-results/**', 'bench/peer/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs', 'src/codec/*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly' },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      'import-x/no-cycle': 'error',
    },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/identity/**/*.ts', 'bench/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((m) => [
              { name: m, message: 'Workflow code is deterministic: do I/O in an activity.' },
              { name: `node:${m}`, message: 'Workflow code is deterministic: do I/O in an activity.' },
            ]),
            { name: 'openai', message: 'Model calls are activities (src/activities/model.ts).' },
            { name: 'yaml', message: 'Blueprints are parsed by the client; workflows receive them normalized.' },
            { name: '@temporalio/worker', message: 'Not available in the workflow sandbox.' },
            { name: '@temporalio/activity', message: 'Activities run outside the workflow sandbox.' },
            { name: '@temporalio/client', message: 'Workflows do not use the client.' },
          ],
          patterns: [
            {
              group: ['../activities/*', '../activities', '../../src/activities/*', '../../src/activities'],
              allowTypeImports: true,
              message: 'Workflows import only types from activities.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', exports: 'writable', module: 'writable' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
