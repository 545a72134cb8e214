import { basename } from 'node:path';
import { defineProject, mergeConfig, type UserWorkspaceConfig } from 'vitest/config';

/**
 * The one test setup every package shares. Tests read sibling packages from `src` through the
 * `@skipnet/source` export condition, so `pnpm test` needs no build first.
 */
export function skipnetProject(dir: string, overrides: UserWorkspaceConfig = {}) {
  const conditions = ['@skipnet/source', 'module', 'node', 'import', 'default'];
  return mergeConfig(
    defineProject({
      resolve: { conditions },
      ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
      test: {
        name: basename(dir),
        root: dir,
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        environment: 'node',
        testTimeout: 120_000,
        hookTimeout: 120_000,
        // tfjs backends keep global state: isolate each file in its own process.
        pool: 'forks',
      },
    }),
    overrides,
  );
}
