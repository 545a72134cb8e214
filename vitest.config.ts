import { defineConfig } from 'vitest/config';

// `pnpm vitest` at the root runs every package's tests in one process tree; `pnpm test` runs them per
// package through turbo (cached).
export default defineConfig({
  test: { projects: ['packages/*', 'examples/*'] },
});
