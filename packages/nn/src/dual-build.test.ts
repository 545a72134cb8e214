import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Options } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../tsup.config.ts';

// An application that `import`s @skipnet/nn and `require`s a package built on it (the trainer's CommonJS build)
// loads both builds of nn in one process. Build them as published (tsup.config.ts, without types) and use them
// together in a plain Node process, as such an application does.
const packageDir = resolve(import.meta.dirname, '..');
let dist: string;

beforeAll(async () => {
  // Inside the package, so that the builds resolve @tensorflow/tfjs-core as the published package would.
  const cache = join(packageDir, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  dist = mkdtempSync(join(cache, 'dual-build-'));
  const options = config as Options;
  const entry = Object.fromEntries(
    Object.entries(options.entry as Record<string, string>).map(([name, path]) => [
      name,
      join(packageDir, path),
    ]),
  );
  await build({ ...options, entry, outDir: dist, dts: false, sourcemap: false, silent: true, config: false });
});

afterAll(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
});

const program = `
import { createRequire } from 'node:module';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
const esm = await import('./index.js');
const cjs = createRequire(import.meta.url)('./index.cjs');
await tf.setBackend('cpu');

const model = new esm.Sequential(
  new esm.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, bias: false }),
  new esm.Linear({ inFeatures: 4, outFeatures: 2, bias: false }),
);
const conv = model.at(0);
const before = Array.from(conv.weight.dataSync());
cjs.init.xavierInit(model, { seed: 1 }); // the CommonJS copy walks the ESM model
const after = Array.from(conv.weight.dataSync());

class Mine extends esm.Module { forward(x) { return x; } }
let error;
try { cjs.readSafetensors(new Uint8Array(3)); } catch (e) { error = e; }
console.log(JSON.stringify({
  copies: esm.Conv2d !== cjs.Conv2d,
  convIsCjsConv: conv instanceof cjs.Conv2d,
  convIsCjsModule: conv instanceof cjs.Module,
  cjsConvIsEsmConv: new cjs.Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 1 }) instanceof esm.Conv2d,
  convIsCjsLinear: conv instanceof cjs.Linear,
  mineIsCjsModule: new Mine() instanceof cjs.Module,
  mineIsMine: new Mine() instanceof Mine,
  plainIsMine: {} instanceof Mine,
  primitiveIsModule: 3 instanceof cjs.Module,
  errorIsEsmSafetensorsError: error instanceof esm.SafetensorsError,
  xavierChanged: after.some((v, i) => v !== before[i]),
  xavierBound: Math.max(...after.map(Math.abs)) <= Math.sqrt(6 / (3 * 9 + 4 * 9)),
}));
`;

describe('the ESM and CommonJS builds in one process', () => {
  it('pass each other’s instanceof checks, so a walk in one copy reaches a model of the other', () => {
    const file = join(dist, 'mixed.mjs');
    writeFileSync(file, program);
    const output = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({
      copies: true,
      convIsCjsConv: true,
      convIsCjsModule: true,
      cjsConvIsEsmConv: true,
      convIsCjsLinear: false,
      mineIsCjsModule: true,
      mineIsMine: true,
      plainIsMine: false,
      primitiveIsModule: false,
      errorIsEsmSafetensorsError: true,
      xavierChanged: true,
      xavierBound: true,
    });
  });

  it('carry tfjs-core’s gradient configs once per format, shared by the main and the ./gradients entry', () => {
    // Each entry bundled its own copy in the CommonJS build before (index.cjs and gradients.cjs, 300 KB each).
    for (const extension of ['.js', '.cjs']) {
      const files = readdirSync(dist).filter((f) => f.endsWith(extension));
      const copies = files.filter((f) => readFileSync(join(dist, f), 'utf8').includes('absGradConfig'));
      expect(copies, extension).toHaveLength(1);
    }
  });
});
