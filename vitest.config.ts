import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql ships ESM and CJS builds; without these conditions vitest can load both and graphql
  // then rejects its own schema ("from another module or realm").
  // Not 'import': the forks run with these conditions, and with it CommonJS require() (pg → pg-pool)
  // would load a package's ESM wrapper instead of its class.
  ssr: { resolve: { conditions: ['module-sync', 'node', 'default'] } },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    teardownTimeout: 10_000,
  },
});
