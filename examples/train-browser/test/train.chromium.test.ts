// The built training page in headless Chromium: the issue's URL trains one epoch of the seed ResNet (small width,
// synthetic set) on wasm; Stop saves and Resume continues; the downloaded checkpoint loads in Node.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@skipnet/nn';
import { seedResNet } from '@skipnet/resnet';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { createServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, missingPrerequisite, openPage, type Session, startSession } from './chromium.ts';

const skip = missingPrerequisite();
const SETTINGS =
  'backend=wasm&model=seed&widths=8,16,32,64&dataset=synthetic&epochs=1&subset=256&batch-size=32&seed=1';
/** Where screenshots go for the README (docs/), when asked: SKIPNET_SCREENSHOTS=1. */
const screenshots = process.env['SKIPNET_SCREENSHOTS'] ? join(import.meta.dirname, '..', 'docs') : null;

let session: Session;
beforeAll(async () => {
  if (!skip) session = await startSession();
});
afterAll(async () => {
  await session?.close();
});

/** The running mean loss of each progress line ("  epoch 1/1, batch 3/8, loss 2.301, ..."), in order. */
function progressLosses(lines: string[]): number[] {
  return lines.flatMap((l) => {
    const m = /^ {2}epoch \d+\/\d+, batch (\d+)\/\d+, loss (\d+\.\d+)/.exec(l);
    return m ? [Number(m[2])] : [];
  });
}

describe.skipIf(skip)(`training in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('one epoch on wasm from the URL: the epoch line, a falling loss, the plot, a checkpoint nn reads back', async () => {
    const { page, lines } = await openPage(session, `/?${SETTINGS}&autostart=1`);
    const state = await finished(page, 150_000);
    expect(state, lines.join('\n')).toBe('done');
    // Threaded in the worker too: the site is cross-origin isolated (on a 2-core machine, 1 thread of the build).
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^backend: wasm — CPU \(WebAssembly, XNNPACK, (\d+ threads|threaded build on 1 thread: .*)\)$/,
      ),
    );
    expect(lines).toContainEqual(
      'dataset: SYNTHETIC (built in, not CIFAR-10), 256 train / 256 test images, resized to 96×96',
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^epoch 1, loss \d+\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}, time \d+\.\d$/,
      ),
    );
    const losses = progressLosses(lines);
    expect(losses.length).toBeGreaterThanOrEqual(5);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);

    // The plot: the train loss curve has a point per Animator step, and the test accuracy is drawn.
    const curves = await page.$$eval('#plot svg polyline', (lines) =>
      lines.map((l) => (l.getAttribute('points') ?? '').trim().split(/\s+/).length),
    );
    expect(curves.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...curves)).toBeGreaterThanOrEqual(5);
    if (screenshots) {
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, 'trained.png'), fullPage: true });
    }

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('weights.safetensors');
    await tf.setBackend('cpu');
    const weights = readSafetensors(new Uint8Array(readFileSync(await download.path())));
    expect(Object.keys(weights)).toHaveLength(111); // the seed's state_dict: 60 parameters, 51 BatchNorm buffers
    const model = seedResNet({ widths: [8, 16, 32, 64] });
    model.loadStateDict(weights);
    model.eval();
    const logits = tf.tidy(() => model.forward(tf.zeros([1, 96, 96, 3])));
    expect(logits.shape).toEqual([1, 10]);
    tf.dispose([logits, ...Object.values(weights)]);
    model.dispose();
    await page.close();
  });

  it("Stop saves; Resume continues with the checkpoint's settings, and its history goes on as if never stopped", async () => {
    // Not the defaults in any setting that shapes the run, so that Resume from a page with none set must take
    // every one from the checkpoint. 32×32 and width 8: 8 quick batches an epoch.
    const run =
      'backend=wasm&model=seed&widths=8,16,32,64&image-size=32&dataset=synthetic&subset=256&batch-size=32' +
      '&lr=0.05&momentum=0.9&seed=3';
    const { page, lines } = await openPage(session, `/?${run}&epochs=2`);
    // Stop as the first batch is reported, from inside the page: a click from here would land some batches later,
    // however many the load allows (the first batches, the epoch's end, or after the run).
    await page.evaluate(() => {
      const log = document.getElementById('log')!;
      new MutationObserver((_, observer) => {
        if (!log.textContent?.includes('batch 1/8')) return;
        observer.disconnect();
        document.getElementById('stop')!.click();
      }).observe(log, { childList: true });
    });
    await page.click('#train');
    expect(await finished(page, 60_000), lines.join('\n')).toBe('done');
    const stopped = lines
      .map((l) => /^stopped: training aborted in epoch (\d) after batch (\d)/.exec(l))
      .find(Boolean);
    expect(stopped, lines.join('\n')).toBeTruthy();
    const [stopEpoch, stopBatch] = [Number(stopped![1]), Number(stopped![2])];
    // Saved before the run is reported done: Resume is there at once.
    expect(await page.isEnabled('#resume')).toBe(true);

    // Under a onecycle schedule, sized in optimizer steps, another batch size than the run's is refused before
    // anything trains, as the CLI's --resume refuses it; the run stays as it was (it goes on below).
    const refusedFrom = lines.length;
    await page.goto(`${session.site.url}/?backend=wasm&schedule=onecycle&batch-size=16`);
    await page.waitForSelector('#resume:enabled');
    await page.click('#resume');
    expect(await finished(page, 30_000), lines.join('\n')).toBe('error');
    expect(lines.slice(refusedFrom)).toContainEqual(
      expect.stringMatching(
        /^error: Resume: batch-size 16 is not the run's batch-size 32, and schedule onecycle is sized in optimizer steps/,
      ),
    );
    expect(lines.slice(refusedFrom).filter((l) => /^ {2}epoch |^resume: /.test(l))).toEqual([]);
    const beforeStop = lines.length;

    // A fresh page (same browser profile) with no setting but the backend, and one field changed by hand.
    await page.goto(`${session.site.url}/?backend=wasm`);
    await page.waitForSelector('#resume:enabled');
    await page.fill('input[name="epochs"]', '3');
    await page.click('#resume');
    expect(await finished(page, 90_000), lines.join('\n')).toBe('done');
    const resumed = lines.slice(beforeStop);
    // The trainer names the one setting of yours that differs from the checkpoint's ...
    expect(resumed.filter((l) => l.startsWith('resume: settings differ'))).toEqual([
      "resume: settings differ from the checkpoint's, yours are used: epochs 3 (checkpoint 2)",
    ]);
    // ... and the page each it took from the checkpoint instead of the form's defaults, and shows them.
    const taken = resumed.find((l) => l.startsWith("resume: the checkpoint's settings"));
    for (const setting of [
      'widths 8,16,32,64',
      'image-size 32',
      'subset 256',
      'batch-size 32',
      'lr 0.05',
      'momentum 0.9',
      'seed 3',
    ]) {
      expect(taken).toContain(setting);
    }
    expect(taken).not.toContain('epochs');
    expect(await page.inputValue('input[name="widths"]')).toBe('8,16,32,64');
    expect(await page.inputValue('input[name="lr"]')).toBe('0.05');
    expect(await page.inputValue('input[name="epochs"]')).toBe('3');
    // It goes on from the batch after the stop (the next epoch's first when the stop came at an epoch's end).
    const [nextEpoch, nextBatch] = stopBatch === 8 ? [stopEpoch + 1, 1] : [stopEpoch, stopBatch + 1];
    expect(resumed.filter((l) => l.startsWith('  epoch '))[0]).toMatch(
      new RegExp(`^ {2}epoch ${nextEpoch}/3, batch ${nextBatch}/8, loss`),
    );
    const plotOf = () =>
      page.$$eval('#plot svg polyline', (curves) =>
        curves.map((c) => c.getAttribute('points')?.trim().split(/\s+/).length),
      );
    const resumedPlot = await plotOf();

    // The same run never stopped: the same epochs, and the same plot (the points from before the stop kept).
    const straightStart = lines.length;
    await page.goto(`${session.site.url}/?${run}&epochs=3&autostart=1`);
    expect(await finished(page, 90_000), lines.join('\n')).toBe('done');
    const epochLine = /^epoch (\d), loss (\d+\.\d+), train acc (\d\.\d+), test acc (\d\.\d+)/;
    const epochs = (from: string[]) =>
      from.flatMap((l) => {
        const m = epochLine.exec(l);
        return m ? [m.slice(1, 5).map(Number)] : [];
      });
    const interrupted = epochs(lines.slice(0, straightStart));
    const straight = epochs(lines.slice(straightStart));
    expect(interrupted.map(([e]) => e)).toEqual([1, 2, 3]);
    expect(straight.map(([e]) => e)).toEqual([1, 2, 3]);
    // Printed with 3 decimals: equal up to the last digit's rounding.
    for (const [i, row] of interrupted.entries()) {
      for (const [j, value] of row.entries()) {
        expect(
          Math.abs(value - straight[i]![j]!),
          `epoch ${i + 1}: ${row} against ${straight[i]}`,
        ).toBeLessThanOrEqual(0.0011);
      }
    }
    expect(await plotOf()).toEqual(resumedPlot);
    await page.close();
  });

  it('the dev server (pnpm dev) serves the page isolated, and Train trains', async () => {
    const root = join(import.meta.dirname, '..');
    const server = await createServer({
      root,
      configFile: join(root, 'vite.config.ts'),
      server: { host: '127.0.0.1', port: 0 },
      logLevel: 'warn',
    });
    await server.listen();
    const page = await session.browser.newPage();
    try {
      const lines: string[] = [];
      page.on('console', (message) => lines.push(message.text()));
      await page.goto(`${server.resolvedUrls!.local[0]}?${SETTINGS.replace('subset=256', 'subset=64')}`);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      await page.click('#train');
      expect(await finished(page, 120_000), lines.join('\n')).toBe('done');
      expect(lines).toContainEqual(expect.stringMatching(/^epoch 1, loss \d+\.\d{3}, train acc/));
    } finally {
      await page.close();
      await server.close();
    }
  });
});
