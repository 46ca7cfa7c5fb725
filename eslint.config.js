// ESLint: TypeScript + Vue, and the architecture of docs/ARCHITECTURE.md ("Layers"), checked on every import:
//   - the layers (eslint-plugin-boundaries): each folder may import only the layers below it;
//   - only the two Electron shells import `electron`;
//   - code that must also run in the renderer or a worker (src-shared, kernels, the renderer) imports no Node API;
//   - no function longer than 150 lines outside generated code (a reader needs a name for each part).
// tests/unit/architecture.spec.ts lints deliberate violations with this config and expects each rule to fire.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';
import boundaries from 'eslint-plugin-boundaries';

/**
 * The layers, as folders (a file belongs to the first element whose folder holds it). Tests, benchmarks and scripts
 * may import anything; the two Electron shells (src-main/index.ts, src-preload/index.ts) and the CLI entry are the
 * top and belong to no layer.
 */
const ELEMENTS = [
  { type: 'test', pattern: 'tests', partialMatch: false },
  { type: 'test', pattern: 'bench', partialMatch: false },
  { type: 'test', pattern: 'scripts', partialMatch: false },
  { type: 'shared', pattern: 'src-shared', partialMatch: false },
  { type: 'kernels', pattern: 'src-main/kernels', partialMatch: false },
  { type: 'crystallography', pattern: 'src-main/crystallography', partialMatch: false },
  { type: 'io', pattern: 'src-main/io', partialMatch: false },
  { type: 'workers', pattern: 'src-main/workers', partialMatch: false },
  { type: 'stages', pattern: 'src-main/stages', partialMatch: false },
  { type: 'synth', pattern: 'src-main/synth', partialMatch: false },
  { type: 'services', pattern: 'src-main/services', partialMatch: false },
  { type: 'ipc', pattern: 'src-main/ipc', partialMatch: false },
  { type: 'cli', pattern: 'src-main/cli', partialMatch: false },
  { type: 'preload', pattern: 'src-preload', partialMatch: false },
  { type: 'renderer', pattern: 'src-renderer', partialMatch: false },
  { type: 'resources', pattern: 'resources', partialMatch: false },
];

/** Who may import whom (besides itself). */
const ALLOWED = {
  shared: [],
  kernels: ['shared'],
  crystallography: ['shared', 'kernels', 'resources'],
  io: ['shared', 'kernels', 'crystallography'],
  // The worker entry's task table lists every stage's tasks.
  workers: ['shared', 'stages'],
  stages: ['shared', 'kernels', 'crystallography', 'io', 'workers'],
  synth: ['shared', 'kernels', 'crystallography', 'io', 'resources'],
  services: ['shared', 'kernels', 'crystallography', 'io', 'workers', 'stages', 'synth'],
  ipc: ['shared', 'io', 'services', 'stages', 'resources'],
  cli: ['shared', 'kernels', 'crystallography', 'io', 'workers', 'stages', 'synth', 'services', 'resources'],
  preload: ['shared'],
  renderer: ['shared'],
  resources: [],
};

const layerPolicies = Object.entries(ALLOWED).map(([from, to]) => ({
  from: { element: { type: from } },
  allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
}));

const NODE_APIS = {
  patterns: [
    { group: ['node:*', 'fs', 'path', 'os', 'worker_threads', 'child_process'], message: 'This code also runs in the renderer or a worker without Node: no Node API here (docs/ARCHITECTURE.md, "Layers").' },
  ],
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'bench-results/**', 'coverage/**', 'tmp/**', '.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setImmediate: 'readonly', performance: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        window: 'readonly', document: 'readonly', location: 'readonly', WebSocket: 'readonly', navigator: 'readonly',
        requestAnimationFrame: 'readonly', cancelAnimationFrame: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly',
        structuredClone: 'readonly', queueMicrotask: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
      },
    },
  },
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
  },
  {
    plugins: { boundaries },
    settings: {
      'boundaries/elements': ELEMENTS,
      // Specs and their helpers sit beside the code they test and may import anything.
      'boundaries/files': [{ category: 'test', pattern: ['**/__tests__/**', '**/*.spec.ts'] }],
      'boundaries/include': ['src-main/**', 'src-preload/**', 'src-renderer/**', 'src-shared/**', 'resources/**', 'package.json', 'tests/**', 'bench/**', 'scripts/**'],
      'import/resolver': {
        typescript: { project: ['tsconfig.node.json', 'tsconfig.web.json', 'tsconfig.e2e.json'], noWarnOnMultipleProjects: true, extensions: ['.ts', '.vue', '.js', '.mjs', '.json'] },
        node: { extensions: ['.ts', '.vue', '.js', '.mjs', '.json'] },
      },
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            ...layerPolicies,
            { from: { element: { type: 'test' } }, allow: { to: { element: { type: '*' } } } },
            { from: { file: { categories: 'test' } }, allow: { to: { element: { type: '*' } } } },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-lines-per-function': ['error', { max: 150 }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/first-attribute-linebreak': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/html-indent': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only src-main/index.ts and src-preload/index.ts may import electron (docs/ARCHITECTURE.md, "Layers").' }] },
      ],
    },
  },
  {
    // TypeScript already checks names; no-undef does not know DOM or Node types.
    files: ['**/*.ts', '**/*.vue'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['src-shared/**/*.ts', 'src-main/kernels/**/*.ts', 'src-renderer/**/*.ts', 'src-renderer/**/*.vue'],
    ignores: ['**/__tests__/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only src-main/index.ts and src-preload/index.ts may import electron.' }], ...NODE_APIS },
      ],
    },
  },
  {
    files: ['src-main/index.ts', 'src-preload/index.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Generated WebAssembly modules and the AssemblyScript kernels (unrolled SIMD loops, compiled by asc, not tsc).
    files: ['**/*.generated.ts', 'src-main/kernels/wasm/*-kernel.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
