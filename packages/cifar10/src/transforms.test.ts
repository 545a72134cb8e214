import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir, readSafetensorsFile } from './test-utils.ts';
import { horizontalFlip, randomCrop, resize, seedTransform, toFloat } from './transforms.ts';

describe('seed transform (PIL bilinear resize, /255, (x-0.5)/0.5)', () => {
  it('matches the PyTorch/PIL fixture resize/resize.safetensors', () => {
    const path = join(fixturesDir(), 'resize', 'resize.safetensors');
    if (!existsSync(path))
      throw new Error(`fixture missing: ${path} (shared/fixtures must sit beside the repo)`);
    const t = readSafetensorsFile(path);
    const images = t.get('images')!;
    const expected = t.get('normalized')!;
    expect(images.shape).toEqual([8, 32, 32, 3]);
    expect(expected.shape).toEqual([8, 96, 96, 3]);
    const { transform, normalize } = seedTransform();
    let batch = { data: images.bytes, count: 8, height: 32, width: 32 };
    for (const op of transform) batch = op.apply(batch, Math.random);
    const got = toFloat(batch.data, normalize);
    const want = new Float32Array(
      expected.bytes.buffer,
      expected.bytes.byteOffset,
      expected.bytes.byteLength / 4,
    );
    expect(got.length).toBe(want.length);
    let exact = 0;
    let within = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i]! - want[i]!);
      if (d === 0) exact++;
      if (d <= 2 / 255 + 1e-6) within++;
    }
    console.log(`resize parity: ${exact}/${got.length} exact, ${within} within one level`);
    expect(within / got.length).toBeGreaterThanOrEqual(0.999);
    expect(exact).toBe(got.length);
  });
});
