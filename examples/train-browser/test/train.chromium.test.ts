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

  it('Stop saves the run and Resume continues it to the end', async () => {
    const { page, lines } = await openPage(
      session,
      `/?${SETTINGS.replace('epochs=1', 'epochs=2').replace('subset=256', 'subset=128')}`,
    );
    await page.click('#train');
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('batch 1/4'));
    await page.click('#stop');
    expect(await finished(page, 60_000)).toBe('done');
    expect(lines).toContainEqual(
      expect.stringMatching(/^stopped: training aborted in epoch 1 after batch \d/),
    );
    expect(lines.filter((l) => l.startsWith('epoch '))).toEqual([]);
    expect(await page.isEnabled('#resume')).toBe(true);

    await page.click('#resume');
    await page.waitForFunction(() => document.body.dataset['state'] === 'running');
    expect(await finished(page, 90_000)).toBe('done');
    expect(lines.filter((l) => /^epoch \d, loss/.test(l)).map((l) => l.split(',')[0])).toEqual([
      'epoch 1',
      'epoch 2',
    ]);
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
