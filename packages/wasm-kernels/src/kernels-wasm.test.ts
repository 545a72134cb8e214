import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relaxedSimdWasm, simdWasm } from './kernels-wasm.ts';
import { importingSharedMemory } from './wasm-module.ts';

// The committed WebAssembly must be what csrc/kernels.c compiles to. Without clang-19 this is skipped locally (the
// package itself needs no compiler); CI installs clang-19 and lld-19, and there a missing compiler fails the test.
const clang = process.env.CLANG ?? 'clang-19';
const hasClang = spawnSync(clang, ['--version']).status === 0;
const skipReason = hasClang ? '' : ` (skipped: ${clang} not found; apt-get install clang-19 lld-19)`;
const script = join(import.meta.dirname, '..', 'scripts', 'build-wasm.mjs');

describe('the committed kernels.wasm', () => {
  it('has a compiler to check it with, on CI', () => {
    if (process.env.CI === 'true')
      expect(hasClang, `${clang} is missing on CI: apt-get install clang-19 lld-19`).toBe(true);
  });

  describe.skipIf(!hasClang)(`is rebuilt byte for byte from csrc/kernels.c${skipReason}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'skipnet-kernels-test-'));
    let check: SpawnSyncReturns<string>;
    beforeAll(() => {
      check = spawnSync(process.execPath, [script, '--check', '--wasm-dir', dir], { encoding: 'utf8' });
    }, 120_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('src/kernels-wasm.ts matches a fresh build', () => {
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
    });

    it.each([
      ['relaxedSimd', relaxedSimdWasm],
      ['simd', simdWasm],
    ])('%s: the shared-memory variant made at load time is what wasm-ld links', (name, base64) => {
      const bytes = Buffer.from(base64, 'base64');
      expect(Buffer.compare(bytes, readFileSync(join(dir, `${name}.wasm`)))).toBe(0);
      const linked = readFileSync(join(dir, `${name}-shared.wasm`));
      expect(Buffer.compare(Buffer.from(importingSharedMemory(bytes)), linked)).toBe(0);
    });
  });
});
