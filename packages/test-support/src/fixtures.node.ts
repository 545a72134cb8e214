// The one way tests find the PyTorch fixtures: `../shared/fixtures` beside the repository (see its README), from
// this file up to the workspace root. A missing fixture is an error that says where it was looked for.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { type ParityReport, type ReplayModel, replaySeedFixtureBytes } from './parity.ts';
import { parseSafetensors, type SafetensorsEntry, safetensorsToTensors } from './safetensors.ts';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`@skipnet/test-support: no pnpm-workspace.yaml above ${import.meta.dirname}`);
    dir = parent;
  }
  return dir;
}

/** `<repository>/../shared/fixtures`; throws, saying where it looked, when it is not there. */
export function fixturesDir(): string {
  const dir = resolve(repoRoot(), '..', 'shared', 'fixtures');
  if (!existsSync(join(dir, 'README.md'))) {
    throw new Error(
      `PyTorch fixtures not found at ${dir}: the tests need the shared fixtures (shared/fixtures, see its README) beside the repository`,
    );
  }
  return dir;
}

/** The path of a fixture file or folder, e.g. `fixturePath('seed-resnet-narrow', 'io.safetensors')`; it must exist. */
export function fixturePath(...parts: string[]): string {
  const path = join(fixturesDir(), ...parts);
  if (!existsSync(path))
    throw new Error(`PyTorch fixture ${path} is missing (see ${fixturesDir()}/README.md)`);
  return path;
}

/** A fixture file's bytes. */
export function readFixtureBytes(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(...parts)));
}

/** A safetensors fixture's tensors (F32 as float32, I64 and U8 as int32); the caller disposes them. */
export function readFixtureTensors(...parts: string[]): Record<string, tf.Tensor> {
  return safetensorsToTensors(readFixtureBytes(...parts), parts.join('/'));
}

/** A safetensors file's entries, undecoded (dtype, shape, bytes). */
export function readSafetensorsFile(path: string): Map<string, SafetensorsEntry> {
  return parseSafetensors(new Uint8Array(readFileSync(path)), path);
}

/** {@link replaySeedFixtureBytes} on the fixture in `fixtureDir` (weights.safetensors, io.safetensors). */
export function replaySeedFixture(fixtureDir: string, model: ReplayModel): Promise<ParityReport> {
  const read = (file: string) => new Uint8Array(readFileSync(join(fixtureDir, file)));
  return replaySeedFixtureBytes({ weights: read('weights.safetensors'), io: read('io.safetensors') }, model, {
    label: fixtureDir,
  });
}
