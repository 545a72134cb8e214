import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', gradients: 'src/register-gradients.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // tfjs-core's gradient configs are not reachable through its public API (and its ESM dist has
  // extensionless imports Node cannot load): bundle them, as the @tensorflow/tfjs union package does.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
