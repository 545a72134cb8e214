import { mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `pnpm bench`: bench/*.bench.ts, which print measurements rather than assert them.
export default mergeConfig(base, { test: { include: ['bench/**/*.bench.ts'], testTimeout: 3_600_000 } });
