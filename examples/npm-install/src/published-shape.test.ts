// What a publish would upload, checked as the registry's users' tools see it: publint (the manifest against the
// files) and arethetypeswrong (types under node10, node16 from CJS and ESM, and bundlers), on the tarballs that
// src/global-setup.ts packed for this run; and the fields every skipnet package carries.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { problemKindInfo } from '@arethetypeswrong/core/problems';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, inject, it } from 'vitest';
import { publicPackages, repoRoot } from './pack.ts';

const tarballs = inject('tarballs');
const packages = publicPackages().map(({ dir, manifest }) => ({
  name: manifest.name,
  folder: dir.slice(repoRoot.length + 1),
  tarball: tarballs[manifest.name]!,
}));
const rootManifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
};

function tarballBytes(name: string): Uint8Array {
  const path = tarballs[name];
  if (!path) throw new Error(`${name} was not packed (src/global-setup.ts packs every public package)`);
  return new Uint8Array(readFileSync(path));
}

describe.each(packages)('$name as published', ({ name, folder, tarball }) => {
  const bytes = tarballBytes(name);
  // The manifest in the tarball: what pnpm made of ours (publishConfig applied, workspace ranges resolved).
  const manifest = JSON.parse(
    execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  ) as Record<string, unknown>;

  it('passes publint at every level (suggestions too), warnings counted as errors', async () => {
    const { messages, pkg } = await publint({
      pack: { tarball: bytes.slice().buffer },
      level: 'suggestion',
      strict: true,
    });
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`)).toEqual([]);
  });

  it('has types that resolve for node10, node16 (CJS and ESM) and bundlers (arethetypeswrong)', async () => {
    if (!manifest['exports']) {
      // A command-line tool only (the CLI): nothing to import, so no types to check; say so, and hold it.
      expect(manifest['bin'], `${name} has neither exports nor bin`).toBeDefined();
      expect(manifest['main'] ?? manifest['types']).toBeUndefined();
      return;
    }
    const result = await checkPackage(createPackageFromTarballData(bytes));
    expect(result.types, `${name} ships no types`).not.toBe(false);
    const problems = 'problems' in result ? result.problems : [];
    expect(
      problems.map((p) => {
        const where = [
          'entrypoint' in p ? p.entrypoint : '',
          'resolutionKind' in p ? p.resolutionKind : '',
        ].filter(Boolean);
        return `${problemKindInfo[p.kind].title} (${where.join(', ')})`;
      }),
    ).toEqual([]);
  });

  it('says where it comes from, which Node it needs, and what it is about', () => {
    expect(manifest['license']).toBe('Apache-2.0');
    expect(manifest['engines']).toEqual({ node: rootManifest.engines.node });
    expect(manifest['repository']).toEqual({
      type: 'git',
      url: 'git+https://github.com/skipnet/skipnet.git',
      directory: folder,
    });
    expect(manifest['homepage']).toBe(`https://github.com/skipnet/skipnet/tree/main/${folder}#readme`);
    expect(manifest['bugs']).toBe('https://github.com/skipnet/skipnet/issues');
    expect((manifest['keywords'] as string[] | undefined)?.length, 'keywords').toBeGreaterThan(0);
    expect(manifest['description']).toEqual(expect.any(String));
  });
});

describe('the task graph', () => {
  it('builds every package before this example packs it (each is a devDependency, so turbo waits for its build)', () => {
    const own = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    for (const { name } of packages) expect(own.devDependencies[name], name).toBe('workspace:^');
  });
});
