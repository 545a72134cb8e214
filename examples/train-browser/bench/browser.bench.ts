// `pnpm bench` here: the gzipped sizes of the example's bundle and of each package's browser bundle, and the seed
// ResNet's training step on wasm in headless Chromium against the same step (src/step-bench.ts) in Node, paired,
// on this machine in this run. Prints Markdown for BENCHMARKS.md.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { selectBackend } from '@skipnet/backend';
import { it } from 'vitest';
import type { StepBench } from '../src/step-bench.ts';
import { timeSeedSteps } from '../src/step-bench.ts';
import { browserEntries, bundleWithEsbuild } from '../test/bundle.ts';
import { finished, openPage, siteDir, startSession } from '../test/chromium.ts';

const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const gzip = (data: string | Uint8Array) => gzipSync(data, { level: 9 }).length;

it('sizes', async () => {
  const assets = join(siteDir, 'assets');
  const files = readdirSync(assets).map((name) => ({ name, bytes: readFileSync(join(assets, name)) }));
  const sum = (ext: string) =>
    files.filter((f) => extname(f.name) === ext).reduce((n, f) => n + gzip(f.bytes), 0);
  const rows = [
    '| the example (`dist/`) | gzipped |',
    '| --- | ---: |',
    `| all JavaScript (every page, every backend chunk) | ${kB(sum('.js'))} |`,
    `| tfjs-backend-wasm's three .wasm builds | ${kB(sum('.wasm'))} |`,
  ];
  console.log(rows.join('\n'));
  const packageRows = [
    '| package entry (minified by esbuild) | gzipped | of which not tfjs-core |',
    '| --- | ---: | ---: |',
  ];
  for (const entry of browserEntries()) {
    const whole = await bundleWithEsbuild(entry, { minify: true });
    const own = await bundleWithEsbuild(entry, { minify: true, external: ['@tensorflow/tfjs-core'] });
    packageRows.push(`| \`${entry.specifier}\` | ${kB(gzip(whole.code))} | ${kB(gzip(own.code))} |`);
  }
  console.log(packageRows.join('\n'));
});

it('the seed step on wasm, Chromium against Node', async () => {
  const pairs = Number(process.env['PAIRS'] ?? 3);
  const session = await startSession();
  const chromium: StepBench[] = [];
  const node: StepBench[] = [];
  let device = '';
  const nodeChoice = await selectBackend('wasm', {
    threads: Number(process.env['SKIPNET_WASM_THREADS'] ?? 1),
  });
  try {
    for (let i = 0; i < pairs; i++) {
      const { page, lines } = await openPage(session, '/bench.html?backend=wasm&batch=64&steps=5');
      if ((await finished(page, 600_000)) !== 'done') throw new Error(lines.join('\n'));
      const result = (await page.evaluate(() => window.benchResult))!;
      device = result.device;
      chromium.push(result);
      await page.close();
      node.push(await timeSeedSteps(64, 5));
    }
  } finally {
    await session.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    [
      `${cpus()[0]?.model}, ${availableParallelism()} cores, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      `${pairs} pairs, each the median of 5 steps after a warm-up (batch 64, 96×96, full width, SGD):`,
      '| where | backend | ms per step (each pair) | img/s (median) |',
      '| --- | --- | --- | ---: |',
      `| Chromium ${session.browser.version()} | ${device} | ${chromium.map((r) => r.medianMs.toFixed(0)).join(', ')} | ${median(chromium.map((r) => r.imagesPerSec)).toFixed(1)} |`,
      `| Node ${process.version} | ${nodeChoice.device} | ${node.map((r) => r.medianMs.toFixed(0)).join(', ')} | ${median(node.map((r) => r.imagesPerSec)).toFixed(1)} |`,
    ].join('\n'),
  );
}, 3_600_000);
