import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "dist-client/", "gen/", "third_party/", ".data/", "bench/results/", "bench/work/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-imports": "off",
    },
  },
  {
    // The domain is pure: it may not reach into transport, service or storage.
    files: ["src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["../transport/*", "../service/*", "../storage/*", "../../gen/*", "@connectrpc/*", "postgres", "drizzle-orm*"], message: "The domain imports nothing from transport, service or storage." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/storage/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../transport/*", "../service/*", "@connectrpc/*"], message: "Storage does not depend on transport or service." }] },
      ],
    },
  },
);
