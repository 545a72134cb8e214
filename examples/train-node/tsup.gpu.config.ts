import { defineConfig } from 'tsup';

// One self-contained file for the GPU machine, which has no registry: every JavaScript dependency is bundled;
// only Dawn's native addon (`webgpu`) travels beside it.
export default defineConfig({
  entry: { 'gpu-check': 'src/gpu-check.ts' },
  outDir: '../../.device',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  bundle: true,
  // Dawn's addon travels beside the bundle; the PNG renderer (an optional peer of the trainer) stays out.
  noExternal: [/^(?!webgpu$|@resvg\/)/],
  external: ['webgpu', '@resvg/resvg-js'],
  splitting: false,
  clean: false,
  banner: {
    // For CommonJS dependencies' require() calls; a name of its own, since bundled modules import createRequire too.
    js: "import { createRequire as skipnetCreateRequire } from 'node:module'; const require = skipnetCreateRequire(import.meta.url);",
  },
});
