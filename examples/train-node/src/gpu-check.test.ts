import { fixturePath, webgpuForTests } from '@skipnet/test-support';
import { setupWebGPU } from '@skipnet/webgpu';
import { describe, expect, it } from 'vitest';
import { gpuCheck, TINY_CHECK } from './gpu-report.ts';

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
    expect(fused).toBeLessThanOrEqual(unfused / 2);
    expect(fused).toBeLessThan(stock);
    for (const method of TINY_CHECK.filterGradients) {
      expect(report).toMatch(
        new RegExp(`\\| \\+ skipnet filter gradient \\(${method}\\), fused \\| 2 \\| [\\d.,]+ \\|`),
      );
    }
    expect(report.match(/\| ok \|/g)?.length).toBe(12);
  });
});
