import { defineConfig, type Options } from 'tsup';

/**
 * The one build every skipnet package shares: ESM and CommonJS with types, for Node 20 and bundlers. Source maps
 * point at the published `src`-free paths without embedding the sources (`sourcesContent`), which would double
 * the tarball for no user. A package passes only its entries and what really differs.
 */
export function skipnetTsup(options: Options) {
  return defineConfig({
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...options,
    esbuildOptions(esbuild, context) {
      esbuild.sourcesContent = false;
      options.esbuildOptions?.(esbuild, context);
    },
  });
}
