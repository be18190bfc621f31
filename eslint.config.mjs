// One lint configuration for the monorepo: typescript-eslint's type-aware rules, with the
// house rules that matter for money and async code (Temporal: no floating promises;
// exhaustive switches; no float helpers near amounts).
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "**/src/gen/**", "**/test/gen/**", "**/generated/**", "**/.cache/**", "**/*.mjs", "**/*.cjs"],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/require-await": "off",
      // kafkajs hands its callbacks (resolveOffset, heartbeat, …) as plain functions to destructure.
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-globals": ["error", { name: "parseFloat", message: "Money is bigint minor units: use @tributary/money's parseDecimal." }],
      "no-restricted-properties": [
        "error",
        { object: "Number", property: "parseFloat", message: "Money is bigint minor units: use @tributary/money's parseDecimal." },
        { property: "toFixed", message: "Money is bigint minor units: use @tributary/money's formatDecimal." },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "**/test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-restricted-properties": "off",
    },
  },
);
