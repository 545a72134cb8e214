import { fixturePath, webgpuForTests } from '@skipnet/test-support';
import { setupWebGPU } from '@skipnet/webgpu';
import { describe, expect, it } from 'vitest';
import { FULL_CHECK, gpuCheck, TINY_CHECK } from './gpu-report.ts';

// scripts/gpu-check.sh's report, every section at the tiny size, on this machine's adapter (Mesa's software one
// in CI): so the script is known to run before a GPU machine is lent for it.
const { info, skipReason } = await webgpuForTests(setupWebGPU);

describe.skipIf(!info)(`gpu-check --tiny${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('prints the loader rates, parity, kernels per step and the training rates, and passes', async () => {
    const lines: string[] = [];
    const fixtures = fixturePath('seed-resnet-narrow');
    const code = await gpuCheck({ ...TINY_CHECK, fixtures }, (...printed) => lines.push(...printed));
    const report = lines.join('\n');
    console.log(report);
    expect(code).toBe(0);
    for (const row of [/\| main thread \| [\d,]+ \|/, /\| worker pool \(\d+ workers?\) \| [\d,]+ \|/]) {
      expect(report).toMatch(row);
    }
    const count = (system: RegExp) => {
      const match = new RegExp(`\\| ${system.source} \\| ([\\d,]+) \\| ([\\d,]+) \\|`).exec(report);
      expect(match, system.source).not.toBeNull();
      return Number(match![2]!.replaceAll(',', ''));
    };
    const stock = count(/tfjs-backend-webgpu, stock/);
    const unfused = count(/\+ skipnet filter gradient \(im2col\), not fused/);
    const fused = count(/\+ skipnet filter gradient \(im2col\), fused/);
    // Issue 15's target: at most half of stock's dispatches (and of ours unfused).
    expect(fused).toBeLessThanOrEqual(stock / 2);
    expect(fused).toBeLessThanOrEqual(unfused / 2);
    const rate = (system: string) => new RegExp(`\\| ${system} \\| 2 \\| [\\d.,]+ \\| [\\d.,]+ \\|`);
    expect(report).toMatch(rate('tfjs-backend-webgpu, stock'));
    for (const method of TINY_CHECK.filterGradients) {
      expect(report).toMatch(rate(`\\+ skipnet filter gradient \\(${method}\\), fused`));
    }
    expect(report.match(/\| ok \|/g)?.length).toBe(12);
  });
});

describe('gpu-check on a GPU', () => {
  it('runs the same sections at the seed size (widths and 96×96), batch 64 and 256, counting at 64', () => {
    expect(FULL_CHECK).toMatchObject({
      batches: [64, 256],
      imageSize: 96,
      profileBatch: 64,
      allowSoftware: false,
    });
    expect(FULL_CHECK.widths).toBeUndefined();
  });
});
