// Every published package's browser entries bundle for the browser with esbuild and with Vite, with no Node
// built-in anywhere in the bundle (and no polyfill: nothing is shimmed). A failure names the package and the
// import chain to the built-in.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  browserEntries,
  bundleWithEsbuild,
  bundleWithVite,
  describeBuiltins,
  NODE_ONLY,
  publishedPackages,
  resolveConditions,
} from './bundle.ts';

const entries = browserEntries();

describe('every published package bundles for the browser', () => {
  it('finds the packages and their entries (built: this test bundles dist/, as users get it)', () => {
    expect(entries.map((e) => e.specifier)).toEqual(
      expect.arrayContaining(['@skipnet/nn', '@skipnet/trainer']),
    );
    for (const entry of entries)
      expect(existsSync(entry.file), `${entry.specifier}: ${entry.file}`).toBe(true);
  });

  it.each(entries)('$specifier with esbuild', async (entry) => {
    const { builtins } = await bundleWithEsbuild(entry);
    expect(describeBuiltins(entry, builtins)).toBe('');
  });

  it.each(entries)('$specifier with Vite', async (entry) => {
    const { builtins } = await bundleWithVite(entry);
    expect(describeBuiltins(entry, builtins)).toBe('');
  });

  it('the Node-only subpaths are said to be Node only in their package README', () => {
    for (const specifier of Object.keys(NODE_ONLY)) {
      const name = specifier.split('/').slice(0, 2).join('/');
      const pkg = publishedPackages().find((p) => p.manifest.name === name)!;
      const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
      const paragraphs = readme.split(/\n\s*\n/).filter((p) => p.includes(specifier));
      expect(
        paragraphs.some((p) => /Node only/i.test(p)),
        `${name}'s README says ${specifier} is Node only`,
      ).toBe(true);
    }
  });

  it('the workspace exports and the published ones lead to the same files', () => {
    for (const { manifest } of publishedPackages()) {
      for (const [subpath, published] of Object.entries(manifest.publishConfig?.exports ?? {})) {
        for (const conditions of [
          ['browser', 'import'],
          ['node', 'import'],
          ['node', 'require'],
          ['require'],
        ]) {
          expect(
            resolveConditions(manifest.exports[subpath], conditions),
            `${manifest.name} ${subpath}`,
          ).toBe(resolveConditions(published, conditions));
        }
      }
    }
  });
});

describe('the check itself', () => {
  it('finds a Node built-in and names the chain to it', async () => {
    const cifar10 = join(import.meta.dirname, 'fixtures', 'uses-fs.mjs');
    const entry = { specifier: 'uses-fs', packageDir: join(import.meta.dirname, 'fixtures'), file: cifar10 };
    for (const bundle of [bundleWithEsbuild, bundleWithVite]) {
      const { builtins } = await bundle(entry);
      expect(describeBuiltins(entry, builtins)).toBe(
        'uses-fs: examples/train-browser/test/fixtures/uses-fs.mjs → examples/train-browser/test/fixtures/reads-files.mjs → node:fs/promises',
      );
    }
  });
});
