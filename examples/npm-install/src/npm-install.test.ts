import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installWithNpm, publicPackages } from './pack.ts';

// Our users meet us through `npm install` of single packages: pack what a publish would upload, install it
// with plain npm outside the workspace, and use it from ESM and CommonJS. The tarballs are packed once per run
// (src/global-setup.ts), for this file and published-shape.test.ts.
const programs = join(import.meta.dirname, '..', 'programs');
const tarballs = inject('tarballs');
let project: string;

beforeAll(() => {
  project = installWithNpm(tarballs, {
    '@tensorflow/tfjs-core': '4.22.0',
    '@tensorflow/tfjs-backend-cpu': '4.22.0',
    '@tensorflow/tfjs-backend-wasm': '4.22.0',
    '@tensorflow/tfjs-layers': '4.22.0',
  });
  for (const file of readdirSync(programs)) copyFileSync(join(programs, file), join(project, file));
}, 600_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

function run(file: string): string {
  return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 300_000 });
}

describe('packed tarballs installed with npm', () => {
  it('ship only dist, README and package.json', () => {
    for (const { manifest } of publicPackages()) {
      const listing = execFileSync('tar', ['tzf', tarballs[manifest.name]!], {
        encoding: 'utf8',
      });
      const files = listing.trim().split('\n');
      expect(files, manifest.name).toContain('package/package.json');
      expect(files, manifest.name).toContain('package/README.md');
      expect(files.filter((f) => f.startsWith('package/dist/')).length, manifest.name).toBeGreaterThan(0);
      expect(
        files.filter((f) => /\.test\.|\/src\//.test(f)),
        manifest.name,
      ).toEqual([]);
    }
  });

  it.each(['train.mjs', 'train.cjs'])(
    'train two steps on wasm from %s, using the installed packages only',
    (file) => {
      const result = JSON.parse(run(file).trim().split('\n').pop()!) as {
        backend: string;
        losses: number[];
        keys: number;
        residual: number[];
        webgpu: string;
      };
      expect(result.backend).toBe('wasm');
      expect(result.losses).toHaveLength(2);
      for (const loss of result.losses) expect(Number.isFinite(loss) && loss > 0).toBe(true);
      expect(result.keys).toBe(111); // the seed's state_dict: 60 parameters and 51 BatchNorm buffers
      expect(result.residual).toEqual([1, 4, 4, 8]);
      expect(result.webgpu).toBe('function');
    },
  );

  it.each(['layers.mjs', 'layers.cjs'])(
    'fit, save and load a tfjs-layers model holding the block and the seed ResNet from %s',
    (file) => {
      const result = JSON.parse(run(file).trim().split('\n').pop()!) as {
        backend: string;
        losses: number[];
        equal: boolean;
        loadedClass: string | null;
        toModuleIsResidual: boolean;
        stateKeys: number;
        resnetOutput: number[];
      };
      expect(result.backend).toBe('wasm');
      expect(result.losses).toHaveLength(2);
      for (const loss of result.losses) expect(Number.isFinite(loss) && loss > 0).toBe(true);
      expect(result.equal).toBe(true);
      expect(result.loadedClass).toBe('SkipnetResidual');
      // One Residual class across the package's two entries, in CommonJS too.
      expect(result.toModuleIsResidual).toBe(true);
      expect(result.stateKeys).toBe(14); // conv1, bn1 (5), conv2, bn2 (5), conv3 weight and bias
      expect(result.resnetOutput).toEqual([1, 10]);
    },
  );
});

describe('the skipnet-train CLI installed with npm', () => {
  // What `npx @skipnet/train` runs: the package's bin, from an npm install of the tarball.
  const cli = (args: string[]) =>
    execFileSync(join(project, 'node_modules', '.bin', 'skipnet-train'), args, {
      cwd: project,
      encoding: 'utf8',
      timeout: 300_000,
    });

  it('prints its help', () => {
    const help = cli(['--help']);
    expect(help).toMatch(/^Usage: skipnet-train \[options\]/);
    expect(help).toContain('--resume');
  });

  it('trains a tiny run and writes it under runs/', () => {
    const out = cli([
      '--backend',
      'wasm',
      '--dataset',
      'synthetic',
      '--subset',
      '16',
      '--model',
      'cifar',
      '--widths',
      '4,8,8,8',
      '--epochs',
      '1',
      '--no-progress',
    ]);
    expect(out).toMatch(/^epoch 1, loss \d+\.\d{3}, /m);
    const run = /^out: (\S+)/m.exec(out)?.[1];
    expect(run, out).toBeDefined();
    expect(existsSync(join(run!, 'checkpoints', 'latest.json'))).toBe(true);
  });
});
