import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../../..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
}

/** Every publishable package of the workspace (the libraries, and the CLI in examples/train-node): its folder and manifest. */
export function publicPackages(): Array<{ dir: string; manifest: Manifest }> {
  return ['packages', 'examples']
    .flatMap((folder) => readdirSync(join(repoRoot, folder)).map((name) => join(repoRoot, folder, name)))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
    }))
    .filter((p) => !p.manifest.private);
}

/**
 * Packs each package with pnpm (which turns `workspace:^` into real ranges and applies `publishConfig`, as a
 * publish would) and returns the tarball paths by package name.
 */
export function packAll(destination: string): Record<string, string> {
  const tarballs: Record<string, string> = {};
  for (const { dir, manifest } of publicPackages()) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', destination], {
      cwd: dir,
      encoding: 'utf8',
    });
    const file = out.trim().split('\n').pop()!.trim();
    tarballs[manifest.name] = file.startsWith('/') ? file : join(destination, file);
  }
  return tarballs;
}

/**
 * Makes an empty npm project outside the workspace that depends on the tarballs and on tfjs from the registry,
 * and installs it with plain npm. `overrides` points our packages' dependencies on each other at the tarballs
 * too, so nothing is taken from the registry under our names.
 */
export function installWithNpm(tarballs: Record<string, string>, extra: Record<string, string>): string {
  const project = mkdtempSync(join(tmpdir(), 'skipnet-npm-install-'));
  const files = Object.fromEntries(Object.entries(tarballs).map(([name, path]) => [name, `file:${path}`]));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      { name: 'skipnet-user', private: true, dependencies: { ...files, ...extra }, overrides: files },
      null,
      2,
    ),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return project;
}
