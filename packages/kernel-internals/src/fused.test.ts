import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { FusedKernel, fusedKernelsRegistered } from './fused.ts';

describe('fused kernels', () => {
  it('are taken only when the active backend has every one asked for', async () => {
    await tf.setBackend('cpu');
    expect(fusedKernelsRegistered(FusedKernel.AddRelu)).toBe(false);
    tf.registerKernel({
      kernelName: FusedKernel.AddRelu,
      backendName: 'cpu',
      kernelFunc: () => {
        throw new Error('not run');
      },
    });
    try {
      expect(fusedKernelsRegistered(FusedKernel.AddRelu)).toBe(true);
      expect(fusedKernelsRegistered(FusedKernel.AddRelu, FusedKernel.ReluGrad)).toBe(false);
    } finally {
      tf.unregisterKernel(FusedKernel.AddRelu, 'cpu');
    }
  });

  it("have names of their own, none of them tfjs-core's", () => {
    const names = Object.values(FusedKernel);
    expect(new Set(names).size).toBe(names.length);
    const core = new Set<unknown>(Object.values(tf).filter((v) => typeof v === 'string'));
    for (const name of names) expect(core.has(name), name).toBe(false);
  });
});

describe('@skipnet/kernel-internals', () => {
  it('is private and no package depends on it beyond its build (devDependencies only)', () => {
    const root = resolve(import.meta.dirname, '../../..');
    const own = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8'));
    expect(own.private).toBe(true);
    const manifests = ['packages', 'examples'].flatMap((folder) =>
      readdirSync(join(root, folder)).map((name) => join(root, folder, name, 'package.json')),
    );
    for (const path of manifests) {
      let manifest: Record<string, Record<string, string> | undefined>;
      try {
        manifest = JSON.parse(readFileSync(path, 'utf8'));
      } catch {
        continue; // a folder without a package
      }
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        expect(manifest[field]?.['@skipnet/kernel-internals'], `${path} ${field}`).toBeUndefined();
      }
    }
  });
});
