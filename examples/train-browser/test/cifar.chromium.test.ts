// CIFAR-10 from bytes the user supplies, in the built page in headless Chromium: the tarball and the extracted
// .bin files through the file input, the tarball from a URL of another origin that allows it (CORS), each checked
// as the library does (the tarball's MD5, the files' record layout); a damaged file or a server without CORS is an
// error in the log that names it, with the page in the error state.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, missingPrerequisite, openPage, type Session, startSession } from './chromium.ts';
import { md5, tarGz, tinyCifarFiles } from './tiny-cifar.ts';

const skip = missingPrerequisite();
// 64 train and 32 test images: two batches and one test batch of the CIFAR-style ResNet at width 8.
const files = tinyCifarFiles(64, 32);
const tarball = tarGz(files);
const SETTINGS = 'backend=wasm&model=cifar&widths=8,16,32,64&dataset=cifar10&epochs=1&batch-size=32&seed=1';
/** What the official archive's MD5 check says of any other file. */
const NOT_OFFICIAL =
  /^error: cifar10: checksum mismatch for tiny\.tar\.gz: MD5 [0-9a-f]{32}, expected c32a1d4ab5d03f1284b67883e8d87530\. The file is damaged, cut short, or not cifar-10-binary\.tar\.gz/;

let session: Session;
/** Another origin than the site's: serves the tarball with CORS at /cors/, without at /no-cors/. */
let mirror: { server: Server; url: string };
beforeAll(async () => {
  if (skip) return;
  session = await startSession();
  const server = createServer((request, response) => {
    const cors = request.url === '/cors/tiny.tar.gz';
    if (!cors && request.url !== '/no-cors/tiny.tar.gz') return void response.writeHead(404).end();
    response.writeHead(200, {
      'Content-Type': 'application/gzip',
      'Content-Length': tarball.length,
      ...(cors ? { 'Access-Control-Allow-Origin': '*' } : {}),
    });
    response.end(tarball);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  mirror = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});
afterAll(async () => {
  await session?.close();
  await new Promise((done) => (mirror ? mirror.server.close(done) : done(undefined)));
});

/** Opens the page with `settings`, picks `picked` in the file input, presses Train and waits for the end. */
async function train(
  settings: string,
  picked: Array<[string, Buffer]> = [],
): Promise<{ page: Page; lines: string[]; state: string }> {
  const { page, lines } = await openPage(session, `/?${settings}`);
  if (picked.length > 0) {
    await page.setInputFiles(
      'input[name="files"]',
      picked.map(([name, buffer]) => ({ name, mimeType: 'application/octet-stream', buffer })),
    );
  }
  await page.click('#train');
  return { page, lines, state: await finished(page, 60_000) };
}

function expectTrainedOnTinyCifar(lines: string[], state: string): void {
  expect(state, lines.join('\n')).toBe('done');
  expect(lines).toContainEqual('dataset: CIFAR-10, 64 train / 32 test images, resized to 32×32');
  expect(lines).toContainEqual(
    expect.stringMatching(/^epoch 1, loss \d+\.\d{3}, train acc \d\.\d{3}, test acc/),
  );
}

describe.skipIf(skip)(
  `CIFAR-10 from your files or a URL, in Chromium${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    it('the tarball through the file input, checked against the MD5 given (md5 setting)', async () => {
      const { page, lines, state } = await train(`${SETTINGS}&md5=${md5(tarball)}`, [
        ['tiny.tar.gz', tarball],
      ]);
      expect(lines).toContainEqual('reading tiny.tar.gz (checking its MD5)');
      expectTrainedOnTinyCifar(lines, state);
      // The SYNTHETIC banner is for the built-in set only.
      expect(await page.isHidden('#banner')).toBe(true);
      await page.close();
    });

    it('the extracted .bin files through the file input', async () => {
      const { page, lines, state } = await train(SETTINGS, [...files]);
      expectTrainedOnTinyCifar(lines, state);
      await page.close();
    });

    it('the tarball from a URL of another origin that allows the page (CORS)', async () => {
      const url = `${mirror.url}/cors/tiny.tar.gz`;
      const { page, lines, state } = await train(
        `${SETTINGS}&md5=${md5(tarball)}&url=${encodeURIComponent(url)}`,
      );
      expect(lines).toContainEqual(`downloading ${url} (checking its MD5)`);
      expectTrainedOnTinyCifar(lines, state);
      await page.close();
    });

    it('a file that is not the official archive, without its MD5 given: the checksum error, nothing trained', async () => {
      const { page, lines, state } = await train(SETTINGS, [['tiny.tar.gz', tarball]]);
      expect(state).toBe('error');
      expect(lines).toContainEqual(expect.stringMatching(NOT_OFFICIAL));
      expect(lines.filter((l) => l.startsWith('epoch '))).toEqual([]);
      await page.close();
    });

    it('a damaged tarball (cut short) whose MD5 is given: the archive error names the file', async () => {
      const cut = tarball.subarray(0, tarball.length - 4000);
      const { page, lines, state } = await train(`${SETTINGS}&md5=${md5(cut)}`, [['tiny.tar.gz', cut]]);
      expect(state).toBe('error');
      expect(lines).toContainEqual(expect.stringMatching(/^error: cifar10: .*tiny\.tar\.gz/));
      await page.close();
    });

    it('a damaged .bin file: the error names the file, what is wrong and what to do in a page', async () => {
      const damaged = files.get('data_batch_1.bin')!.subarray(0, 3073 * 10 + 5);
      const { page, lines, state } = await train(SETTINGS, [
        ['data_batch_1.bin', damaged],
        ['test_batch.bin', files.get('test_batch.bin')!],
      ]);
      expect(state).toBe('error');
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^error: data_batch_1\.bin: 30,735 bytes is not a whole number of 3,073-byte CIFAR records .* Pick or download the extracted files again, or give the archive cifar-10-binary\.tar\.gz itself/,
        ),
      );
      // Node's advice (delete the cache folder) means nothing in a page.
      expect(lines.filter((l) => l.startsWith('error: ')).join('\n')).not.toMatch(/folder/);
      await page.close();
    });

    it('a URL whose server does not allow the page (no CORS): the error says so', async () => {
      const url = `${mirror.url}/no-cors/tiny.tar.gz`;
      const { page, lines, state } = await train(`${SETTINGS}&url=${encodeURIComponent(url)}`);
      expect(state).toBe('error');
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^error: ${url.replaceAll('.', '\\.')}: the download failed .*CORS`),
        ),
      );
      await page.close();
    });
  },
);
