import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**", "wasm/**", "dist-firefox/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.webextensions },
    },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-script-url": "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-console": "off",
    },
  },
  {
    files: ["src/content/**/*.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["scripts/**", "test/**", "eslint.config.js"],
    languageOptions: { globals: { ...globals.node } },
  },
];
