import { skipnetProject } from '../../vitest.shared.ts';

// `pnpm bench`: bench/*.bench.ts only (the tests' include replaced, not added to), which print measurements
// rather than assert them.
const config = skipnetProject(import.meta.dirname);
config.test = { ...config.test, include: ['bench/**/*.bench.ts'], testTimeout: 3_600_000 };
export default config;
