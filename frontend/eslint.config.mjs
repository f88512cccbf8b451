// ESLint (flat config) for the front end and the browser-test scripts; run by scripts/lint.sh
// from the repository root, so that tests/e2e is inside the base path (patterns below are
// relative to the root):
//   frontend/node_modules/.bin/eslint --config frontend/eslint.config.mjs frontend tests/e2e
// Everything comes from frontend/node_modules (npm ci); nothing is fetched at run time.
import js from '@eslint/js';
import globals from 'globals';

export default [
  js.configs.recommended,
  {
    files: ['frontend/**/*.{js,mjs}', 'tests/e2e/*.mjs'],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    // Both tabs and the diagram library: browser ES modules, bundled by esbuild.
    files: ['frontend/src/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    // The build script and the node unit tests.
    files: ['frontend/*.mjs', 'frontend/test/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
  {
    // Node scripts driving Chromium: the functions they pass to page.evaluate() and
    // waitForFunction() run inside the page, so browser globals are in scope there too.
    files: ['tests/e2e/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
  },
];
