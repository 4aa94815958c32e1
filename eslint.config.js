// ESLint (flat config): typescript-eslint with the promise rules that matter in an async codebase,
// and the fence around workflow code, which must stay deterministic and carry no secrets.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** What workflow code may not import: Node built-ins, the activities, vendor clients, config (secrets). */
const NOT_IN_WORKFLOWS = {
  patterns: [
    { group: ['node:*'], message: 'Workflow code runs in a deterministic sandbox: no Node built-ins.' },
    {
      group: ['**/activities/*', '!**/activities/index.js'],
      message: 'Workflows call activities through proxyActivities; import their types from activities/index.js.',
      allowTypeImports: true,
    },
    { group: ['**/activities/index.js'], message: 'Only types of the activities belong in workflow code.', allowTypeImports: true },
    {
      group: ['**/config.js', '**/env.js', '**/sources/*', '**/api.js', '**/worker.js', '**/main.js', '**/dispatch.js'],
      message: 'Not workflow code (it reads settings and secrets).',
      allowTypeImports: true,
    },
  ],
  paths: [
    ...[
      'fs',
      'path',
      'crypto',
      'os',
      'child_process',
      'http',
      'https',
      'net',
      'url',
      'util',
      'stream',
      'events',
      'timers',
      'worker_threads',
    ].map((name) => ({
      name,
      message: 'Workflow code runs in a deterministic sandbox: no Node built-ins.',
    })),
    ...[
      '@slack/web-api',
      'jira.js',
      'jira.js/core',
      '@temporalio/client',
      '@temporalio/worker',
      '@temporalio/activity',
      'express',
      'pino',
      'prom-client',
      'yaml',
      'json5',
    ].map((name) => ({
      name,
      message: 'Vendor clients, SDK clients and server libraries stay out of workflow code.',
      allowTypeImports: true,
    })),
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.warroom/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises its runner awaits (deploy/helm/chart.test.ts).
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Test doubles and decoded payloads are typed loosely on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', NOT_IN_WORKFLOWS] },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
