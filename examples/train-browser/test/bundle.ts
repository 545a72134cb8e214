// Bundles each published package's browser entries as a user's bundler would (esbuild and Vite, platform
// 'browser', the published exports), and reports every Node built-in reached, with the import chain to it.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import type { Plugin } from 'vite';

export const repoRoot = resolve(import.meta.dirname, '../../..');

/** Subpaths that only make sense in Node; each package's README must say so. */
export const NODE_ONLY: Record<string, string> = {
  '@skipnet/wasm-kernels/threads':
    'starts the threaded wasm build under Node; in a page tfjs starts it itself when cross-origin isolated',
};

type Exports = Record<string, unknown>;

interface Manifest {
  name: string;
  private?: boolean;
  exports: Record<string, Exports | string>;
  publishConfig?: { exports?: Record<string, Exports | string> };
}

export interface Entry {
  /** `@skipnet/nn` or `@skipnet/nn/gradients`. */
  specifier: string;
  packageDir: string;
  /** The file a browser bundler resolves the published entry to. */
  file: string;
}

/** Every package in packages/ that is published. */
export function publishedPackages(): Array<{ dir: string; manifest: Manifest }> {
  const root = join(repoRoot, 'packages');
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
    }))
    .filter((p) => !p.manifest.private);
}

const BROWSER_CONDITIONS = ['browser', 'import', 'default'];

/** Where `target` (an exports value) leads under a browser bundler's conditions, as Node's algorithm walks it. */
export function resolveConditions(target: unknown, conditions = BROWSER_CONDITIONS): string | null {
  if (typeof target === 'string') return target;
  if (target === null || typeof target !== 'object') return null;
  for (const [key, value] of Object.entries(target)) {
    if (key === 'types' || !(conditions.includes(key) || key === 'default')) continue;
    const found = resolveConditions(value, conditions);
    if (found) return found;
  }
  return null;
}

/** The published package's browser entries: every subpath but package.json and the Node-only ones. */
export function browserEntries(): Entry[] {
  return publishedPackages().flatMap(({ dir, manifest }) =>
    Object.entries(manifest.publishConfig?.exports ?? manifest.exports)
      .filter(([subpath]) => subpath !== './package.json')
      .map(([subpath, target]) => ({
        specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`,
        packageDir: dir,
        file: join(dir, resolveConditions(target) ?? `(no browser condition in ${subpath})`),
      }))
      .filter((e) => !(e.specifier in NODE_ONLY)),
  );
}

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));
export const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!);

/** The package.json nearest above `file`. */
function packageJsonOf(file: string): { dir: string; manifest: { name?: string; browser?: unknown } } | null {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) return { dir, manifest: JSON.parse(readFileSync(path, 'utf8')) };
  }
  return null;
}

/**
 * Whether `importer`'s own package declares `builtin` empty in the browser (`"browser": { "fs": false }`), as
 * tfjs does for the Node paths of its Emscripten glue; bundlers honour that and ship nothing. Our packages may not
 * lean on it: in an `@skipnet/*` file every built-in counts.
 */
function declaredEmptyInBrowser(builtin: string, importer: string): boolean {
  const pkg = packageJsonOf(importer);
  if (!pkg || pkg.manifest.name?.startsWith('@skipnet/')) return false;
  const browser = pkg.manifest.browser;
  return (
    typeof browser === 'object' && browser !== null && (browser as Record<string, unknown>)[builtin] === false
  );
}

/** A path as the report shows it: `@skipnet/trainer` for a package's file, else relative to the repo. */
function label(path: string): string {
  const rel = relative(repoRoot, path.replace(/^\0/, '').split('?')[0]!);
  const pkg = /^packages\/([^/]+)\/(.+)$/.exec(rel);
  if (pkg) return `@skipnet/${pkg[1]} (${pkg[2]})`;
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.+)$/.exec(rel);
  return dep ? `${dep[1]} (${dep[2]})` : rel;
}

/** A Node built-in found in a bundle, and how the entry reaches it. */
export interface BuiltinImport {
  builtin: string;
  chain: string[];
}

/** The shortest import chain from `entry` to `target` in a graph of importer → imported. */
function chainTo(graph: Map<string, string[]>, entry: string, target: string): string[] {
  const previous = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === target) break;
    for (const next of graph.get(node) ?? []) {
      if (previous.has(next)) continue;
      previous.set(next, node);
      queue.push(next);
    }
  }
  const chain: string[] = [];
  for (let node: string | null | undefined = target; node; node = previous.get(node)) chain.unshift(node);
  return chain;
}

export interface BundleResult {
  builtins: BuiltinImport[];
  /** The bundled JavaScript, minified (for sizes). */
  code: string;
}

/** Bundles `entry` with esbuild for the browser; Node built-ins are recorded and left out. */
export async function bundleWithEsbuild(
  entry: Entry,
  options: { minify?: boolean; external?: string[] } = {},
): Promise<BundleResult> {
  const found: Array<{ builtin: string; importer: string }> = [];
  const result = await esbuild.build({
    entryPoints: [entry.file],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    minify: options.minify ?? false,
    external: options.external ?? [],
    // The check keeps every module, side effects or not, so that a built-in behind an unused export is still
    // found; a size (minified) is what a user's bundle gets, with the packages' sideEffects honoured.
    ignoreAnnotations: !options.minify,
    logLevel: 'silent',
    absWorkingDir: repoRoot,
    plugins: [
      {
        name: 'record-node-builtins',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            const importer = resolve(repoRoot, args.importer);
            if (!isBuiltin(args.path) || declaredEmptyInBrowser(args.path, importer)) return undefined;
            found.push({ builtin: args.path, importer });
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const graph = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    graph.set(
      resolve(repoRoot, file),
      input.imports.filter((i) => !i.external).map((i) => resolve(repoRoot, i.path)),
    );
  }
  return {
    builtins: found.map(({ builtin, importer }) => ({
      builtin,
      chain: [...chainTo(graph, entry.file, importer).map(label), builtin],
    })),
    code: result.outputFiles.map((f) => f.text).join('\n'),
  };
}

/** Bundles `entry` with Vite (library mode, for the browser); Node built-ins are recorded and left out. */
export async function bundleWithVite(
  entry: Entry,
  options: { minify?: boolean } = {},
): Promise<BundleResult> {
  const { build } = await import('vite');
  const found: Array<{ builtin: string; importer: string }> = [];
  const importers = new Map<string, string[]>();
  const recorder: Plugin = {
    name: 'record-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!isBuiltin(source) || (importer && declaredEmptyInBrowser(source, importer))) return null;
      found.push({ builtin: source, importer: importer ?? entry.file });
      return { id: source, external: true };
    },
    buildEnd() {
      for (const id of this.getModuleIds()) {
        for (const importer of this.getModuleInfo(id)?.importers ?? []) {
          importers.set(importer, [...(importers.get(importer) ?? []), id]);
        }
      }
    },
  };
  const output = await build({
    configFile: false,
    logLevel: 'silent',
    root: entry.packageDir,
    plugins: [recorder],
    build: {
      write: false,
      minify: options.minify ?? false,
      lib: { entry: entry.file, formats: ['es'], fileName: 'bundle' },
      rolldownOptions: { treeshake: false },
    },
  });
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => ('output' in o ? o.output : []));
  return {
    builtins: found.map(({ builtin, importer }) => ({
      builtin,
      chain: [...chainTo(importers, entry.file, importer).map(label), builtin],
    })),
    code: chunks.map((c) => ('code' in c ? c.code : '')).join('\n'),
  };
}

/** One line per built-in: `node:fs/promises ← @skipnet/trainer (dist/index.js) ← ...`. */
export function describeBuiltins(entry: Entry, builtins: BuiltinImport[]): string {
  return builtins.map((b) => `${entry.specifier}: ${b.chain.join(' → ')}`).join('\n');
}
