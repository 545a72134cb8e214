import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/cli.ts', 'src/bench.ts', 'src/replica.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
