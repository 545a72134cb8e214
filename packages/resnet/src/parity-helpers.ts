// Shared by the tests (not part of the package): where the PyTorch fixtures are, and reading one.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '@skipnet/nn';
import type * as tf from '@tensorflow/tfjs-core';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('parity tests: no pnpm-workspace.yaml above the test file');
    dir = parent;
  }
  return dir;
}

/** The fixtures folder beside the repository (`<repo>/../shared/fixtures`); throws when absent. */
export function fixturesDir(): string {
  const dir = resolve(repoRoot(), '..', 'shared', 'fixtures');
  if (!existsSync(join(dir, 'seed-resnet-narrow', 'io.safetensors'))) {
    throw new Error(
      `PyTorch fixtures not found at ${dir}: the parity tests need the shared fixtures (seed-resnet-narrow, seed-resnet-full) beside the repository`,
    );
  }
  return dir;
}

export function readFixture(name: string, file: string): Record<string, tf.Tensor> {
  return readSafetensors(new Uint8Array(readFileSync(join(fixturesDir(), name, file))));
}
