// ESLint: TypeScript + Vue, and the two architecture rules of DESIGN §2 — only the Electron shells import
// `electron`, and nothing reaches raw ipcMain/ipcRenderer except those shells.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';

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
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
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
        { paths: [{ name: 'electron', message: 'Only src-main/index.ts and src-preload/index.ts may import electron (DESIGN §2).' }] },
      ],
    },
  },
  {
    // TypeScript already checks names; no-undef does not know DOM or Node types.
    files: ['**/*.ts', '**/*.vue'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['src-main/index.ts', 'src-preload/index.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
