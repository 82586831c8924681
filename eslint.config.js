// Type-aware lint: the rule that matters most here is no-floating-promises, because a
// promise nobody awaits in a Lambda handler is work that silently never finishes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '.venv/', '.venv-*/', 'lambdas/domain/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Asymmetric matchers (expect.any, expect.stringMatching) are typed `any` by vitest.
    files: ['**/*.test.ts', 'infra-tests/support/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // The dashboard shows what task submitters wrote: as text only, never parsed as HTML (dashboard/app/dom.ts).
    files: ['dashboard/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'srcdoc', 'createContextualFragment', 'parseFromString', 'setHTMLUnsafe'].map((property) => ({
          property,
          message: 'task text goes into the page as text: build elements with h() from dashboard/app/dom.ts',
        })),
        { object: 'document', property: 'write', message: 'build elements with h() from dashboard/app/dom.ts' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
