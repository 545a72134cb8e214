// The PyTorch fixture replay (test support's replaySeedFixtureBytes) in the built site's parity page, in headless Chromium: on
// wasm (threaded: the site is cross-origin isolated), and on webgpu through SwiftShader.
import { type ParityReport, parityTolerance } from '@skipnet/test-support';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finished,
  missingPrerequisite,
  openPage,
  type Session,
  SWIFTSHADER_WEBGPU,
  startSession,
} from './chromium.ts';

const skip = missingPrerequisite();

let session: Session;
beforeAll(async () => {
  if (!skip) session = await startSession(SWIFTSHADER_WEBGPU);
});
afterAll(async () => {
  await session?.close();
});

async function replay(
  path: string,
  timeout: number,
): Promise<{ page: Page; report: ParityReport; lines: string[]; requests: string[] }> {
  const { page, lines, requests } = await openPage(session, path);
  const state = await finished(page, timeout);
  const report = (await page.evaluate(() => window.parityReport)) as ParityReport | undefined;
  if (!report) throw new Error(`the parity page ended '${state}' without a report:\n${lines.join('\n')}`);
  return { page, report, lines, requests };
}

function expectNarrowParity(report: ParityReport): void {
  const names = (check: string) =>
    report.entries
      .filter((e) => e.check === check)
      .map((e) => e.name)
      .sort();
  // The fixture README's tolerances, from test support rather than from the page under test.
  for (const e of report.entries) {
    expect(e.error, `${e.name} relative error`).toBeLessThanOrEqual(parityTolerance(e));
  }
  expect(names('logits (eval)')).toEqual(['logits.eval']);
  expect(names('loss')).toEqual(['loss']);
  expect(report.parameters).toHaveLength(60);
  expect(names('gradients')).toEqual(report.parameters.map((n) => `grad.${n}`).sort());
  expect(names('state after one SGD step')).toEqual(report.stateKeys.map((k) => `after.${k}`).sort());
  expect(names('losses of 3 SGD steps')).toEqual(['losses.3steps']);
}

describe.skipIf(skip)(
  `the seed ResNet matches PyTorch in Chromium${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    it('on wasm, threaded (narrow fixture: logits, loss, 60 gradients, the state after a step, 3 losses)', async () => {
      const { page, report, lines, requests } = await replay('/parity.html?backend=wasm', 100_000);
      // The site is cross-origin isolated, so tfjs takes its threaded build (on a 2-core machine, 1 thread of it).
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^backend: wasm — CPU \(WebAssembly, XNNPACK, (\d+ threads|threaded build on 1 thread: .*)\)$/,
        ),
      );
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(requests).toContainEqual(
        expect.stringMatching(/^\/assets\/tfjs-backend-wasm-threaded-simd-[\w-]+\.wasm$/),
      );
      expectNarrowParity(report);
      await page.close();
    });

    it('auto passes over the software WebGPU adapter, saying so, and takes threaded wasm', async () => {
      const { page, lines } = await replay('/parity.html?backend=auto', 100_000);
      expect(lines).toContainEqual(expect.stringMatching(/^backend: wasm — CPU \(WebAssembly, XNNPACK, /));
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^ {2}passed over webgpu: the only WebGPU adapter is a software one \(.*swiftshader.*\)$/i,
        ),
      );
      await page.close();
    });

    // SwiftShader compiles and runs every WGSL pipeline on the CPU: 55–107 s here on a busy 2-core machine (load
    // 15–35), two thirds of it compiling (a second replay in the same page takes a third of the first).
    it('on webgpu (SwiftShader: a software adapter, taken because webgpu is asked for by name)', {
      timeout: 300_000,
    }, async (context) => {
      // Asked on the training page, which computes nothing until Train (the parity page would start a replay).
      const { page } = await openPage(session, '/');
      const adapter = await page.evaluate(async () => {
        const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        return gpu ? (await gpu.requestAdapter()) !== null : false;
      });
      await page.close();
      if (!adapter) {
        // Chromium 156 with SWIFTSHADER_WEBGPU offers one; an older or differently built Chromium may not.
        const reason = 'this Chromium offers no WebGPU adapter even with the SwiftShader flags';
        if (process.env['CI'] === 'true') throw new Error(reason);
        context.skip(reason);
      }
      const { page: parity, report, lines } = await replay('/parity.html?backend=webgpu', 280_000);
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^backend: webgpu — CPU pretending to be a GPU \(WebGPU software adapter: .*swiftshader/i,
        ),
      );
      expectNarrowParity(report);
      await parity.close();
    });
  },
);
