// One lint configuration for the monorepo: typescript-eslint's type-aware rules, with the
// house rules that matter for money and async code (Temporal: no floating promises;
// exhaustive switches with no catch-all default; no float helpers near amounts; a pure domain).
import { builtinModules } from "node:module";
import tseslint from "typescript-eslint";

/**
 * What `src/domain/` may not import: the domain is pure decide/evolve code, so transports,
 * databases, telemetry, Node's own modules and the service's adapters and use cases stay out.
 * Its test is services/order/src/lint-house-rules.test.ts.
 */
const domainRestrictedImports = {
  paths: builtinModules
    .filter((name) => !name.startsWith("_"))
    .map((name) => ({ name, message: "The domain is pure: Node built-ins belong in an adapter or main.ts." })),
  // Regexes, not gitignore globs: a glob like `pg-*` would also match `../adapters/pg-order-store.js`.
  patterns: [
    { regex: "^node:", message: "The domain is pure: Node built-ins belong in an adapter or main.ts." },
    { regex: "^pg(?:/|$)", message: "The domain is pure: Postgres belongs in adapters/db." },
    { regex: "^kafkajs(?:/|$)", message: "The domain is pure: Kafka belongs in adapters/kafka." },
    { regex: "^@grpc/", message: "The domain is pure: gRPC belongs in adapters/grpc." },
    { regex: "^(?:@opentelemetry/|@tributary/telemetry(?:/|$))", message: "The domain is pure: telemetry belongs in adapters or main.ts." },
    { regex: "^(?:@prisma/|prisma(?:/|$))", message: "The domain is pure: the database belongs in adapters/db." },
    {
      regex: "^@tributary/(?:events|grpc)(?:/|$)",
      message: "The domain is pure: the outbox, consumers and gRPC plumbing belong in adapters.",
    },
    {
      regex: "^\\.{1,2}/(?:.*/)?(?:adapters|app)(?:/|$)|^\\.{1,2}/(?:.*/)?main(?:\\.js)?$",
      message: "The domain imports nothing from adapters/, app/ or main.ts: dependencies point inward.",
    },
  ],
};

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/dist/**", "**/src/gen/**", "**/test/gen/**", "**/generated/**", "**/.cache/**", "**/*.mjs", "**/*.cjs"],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // One program for every file (the root tsconfig.json includes every workspace's src/ and
      // test/, scripts/ and bench/). The project service built one per workspace tsconfig and
      // re-checked shared sources in each: `eslint .` took 100 s on this machine, this way 53 s.
      parserOptions: { project: "./tsconfig.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/require-await": "off",
      // kafkajs hands its callbacks (resolveOffset, heartbeat, …) as plain functions to destructure.
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/no-misused-promises": "error",
      // A `default:` must not stand in for the cases of a union (the catch-all status mapping
      // STYLE.md bans): every member gets its case and the end is `assertNever`. A switch over an
      // open type (a string from outside) must say what happens to the rest.
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: true, allowDefaultCaseForExhaustiveSwitch: true },
      ],
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
  {
    files: ["**/src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", domainRestrictedImports],
    },
  },
);
