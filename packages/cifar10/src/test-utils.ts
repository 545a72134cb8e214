// Helpers for this package's tests only (not exported from index.ts).
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTarGz } from '@skipnet/test-support';
import { CIFAR10_CLASSES, encodeRecords, IMAGE_BYTES } from './format.ts';
import { Rng } from './random.ts';

/** Random HWC images and labels 0..numClasses-1. */
export function randomImages(count: number, seed: number, numClasses = 10) {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i + rng.int(3)) % numClasses);
  return { images, labels };
}

export interface TinyCifar {
  /** Per file: HWC images and labels (train files 1..5, then test). */
  train: { images: Uint8Array; labels: Uint8Array };
  test: { images: Uint8Array; labels: Uint8Array };
  files: Map<string, Uint8Array>;
}

/** A tiny CIFAR-10-format set: 5 train files of `perFile` records and a test file of `testCount`. */
export function tinyCifar(perFile = 3, testCount = 4, seed = 1): TinyCifar {
  const files = new Map<string, Uint8Array>();
  const train = randomImages(perFile * 5, seed);
  for (let f = 0; f < 5; f++) {
    files.set(
      `data_batch_${f + 1}.bin`,
      encodeRecords(
        train.images.subarray(f * perFile * IMAGE_BYTES, (f + 1) * perFile * IMAGE_BYTES),
        train.labels.subarray(f * perFile, (f + 1) * perFile),
      ),
    );
  }
  const test = randomImages(testCount, seed + 1);
  files.set('test_batch.bin', encodeRecords(test.images, test.labels));
  files.set('batches.meta.txt', new TextEncoder().encode(`${CIFAR10_CLASSES.join('\n')}\n\n`));
  return { train, test, files };
}

export function tinyCifarTarGz(set: TinyCifar): Buffer {
  return makeTarGz([
    { name: 'cifar-10-batches-bin/', type: '5' },
    ...[...set.files].map(([name, data]) => ({ name: `cifar-10-batches-bin/${name}`, data })),
  ]);
}

export async function writeCifarFolder(dir: string, set: TinyCifar): Promise<string> {
  const folder = join(dir, 'cifar-10-batches-bin');
  await mkdir(folder, { recursive: true });
  for (const [name, data] of set.files) await writeFile(join(folder, name), data);
  return folder;
}

export function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export interface LoopbackServer {
  url: string;
  /** The Range header of each request, or null. */
  requests: (string | null)[];
  /** Bytes sent before cutting the connection on the next full (non-Range) request, or null. */
  cutAfter: number | null;
  /** With cutAfter: cut only once this holds (polled), e.g. once the client has stored the bytes. */
  cutWhen: () => boolean;
  /** Bytes sent before going silent (connection left open) on the next full request, or null. */
  stallAfter: number | null;
  /** Wait this long before answering (ms). */
  delayMs: number;
  /** Answer every request with this status instead. */
  status: number | null;
  /**
   * Full (non-Range) responses without a Content-Length: 'chunked', or 'close' (the end of the body is the end of
   * the connection). Range requests are still answered with their length.
   */
  lengthless: 'chunked' | 'close' | null;
  /** Bytes sent before ending the next full response cleanly, as if it were whole (with `lengthless`), or null. */
  endEarlyAfter: number | null;
  /** On the next full request, send one byte every this many ms (a trickle that never stalls), or null. */
  trickleMs: number | null;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 serving `body` with Range support; it can cut a connection or fail on demand. */
export async function serve(body: Buffer): Promise<LoopbackServer> {
  const state = {
    requests: [] as (string | null)[],
    cutAfter: null as number | null,
    cutWhen: () => true,
    stallAfter: null as number | null,
    delayMs: 0,
    status: null as number | null,
    lengthless: null as 'chunked' | 'close' | null,
    endEarlyAfter: null as number | null,
    trickleMs: null as number | null,
  };
  const server = createServer((req: IncomingMessage, res) => {
    const range = req.headers.range ?? null;
    state.requests.push(range);
    if (state.delayMs > 0) setTimeout(() => answer(range, res), state.delayMs);
    else answer(range, res);
  });
  const answer = (range: string | null, res: ServerResponse) => {
    if (state.status !== null) {
      res.writeHead(state.status, { 'content-type': 'text/plain' });
      res.end('failure requested by the test');
      return;
    }
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
      res.end(body.subarray(start));
      return;
    }
    if (state.lengthless) {
      // Without a Content-Length Node sends chunked; turned off, the body ends when the connection closes.
      if (state.lengthless === 'close') res.useChunkedEncodingByDefault = false;
      res.writeHead(200, { 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    }
    if (state.endEarlyAfter !== null) {
      const n = state.endEarlyAfter;
      state.endEarlyAfter = null;
      res.end(body.subarray(0, n));
      return;
    }
    if (state.trickleMs !== null) {
      const every = state.trickleMs;
      state.trickleMs = null;
      // Bounded: stops at the end of the body, when the client goes away, or after 200 bytes.
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= Math.min(body.length, 200) || res.destroyed) {
          clearInterval(timer);
          res.destroy();
          return;
        }
        res.write(body.subarray(sent, ++sent));
      }, every);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (state.cutAfter !== null) {
      const n = state.cutAfter;
      state.cutAfter = null;
      // Wait for the client to take the bytes in: a stream that errors drops what it has not yet handed on.
      const deadline = Date.now() + 10_000;
      const cut = () => {
        if (state.cutWhen() || Date.now() > deadline) res.socket?.destroy();
        else setTimeout(cut, 10);
      };
      res.write(body.subarray(0, n), cut);
      return;
    }
    if (state.stallAfter !== null) {
      const n = state.stallAfter;
      state.stallAfter = null;
      res.write(body.subarray(0, n));
      return;
    }
    res.end(body);
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/**
 * Runs `body` (top-level-await JavaScript that may import this package's TypeScript sources by URL) in a separate
 * Node process, a loader hook transpiling the .ts files with esbuild; resolves to the JSON it printed on
 * stdout (or `{ error }`), with its stderr. The process must end by itself within 60 s. (esbuild, not typescript's
 * compiler: loading that cost each child three times the CPU, and two children at once missed the 60 s on a
 * machine loaded ~17 processes per core.)
 */
export async function runInChildProcess(body: string): Promise<Record<string, unknown> & { stderr: string }> {
  const { spawn } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const require = createRequire(import.meta.url);
  const esbuild = pathToFileURL(require.resolve('esbuild')).href;
  const hooks = `
    import { readFileSync } from 'node:fs';
    import { fileURLToPath } from 'node:url';
    import { transformSync } from ${JSON.stringify(esbuild)};
    export async function load(url, context, next) {
      if (!url.endsWith('.ts')) return next(url, context);
      const source = readFileSync(fileURLToPath(url), 'utf8');
      const { code } = transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: fileURLToPath(url) });
      return { format: 'module', source: code, shortCircuit: true };
    }`;
  // Bare imports in `body` resolve from this package, as they would in its tests.
  const cpuBackend = pathToFileURL(require.resolve('@tensorflow/tfjs-backend-cpu')).href;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
    try {
      ${body.replaceAll("'@tensorflow/tfjs-backend-cpu'", JSON.stringify(cpuBackend))}
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: e.message }));
    }`;
  const dir = await mkdtemp(join(tmpdir(), 'skipnet-child-'));
  const file = join(dir, 'child.mjs');
  await writeFile(file, script);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      void rm(dir, { recursive: true, force: true });
      try {
        resolvePromise({ ...JSON.parse(out), stderr: err });
      } catch {
        reject(new Error(`child exited with ${code ?? signal} without a result: ${err.slice(-2000)}`));
      }
    });
  });
}

/**
 * Runs `loadCifar10(options)` from this package's TypeScript sources in a separate Node process, resolving to what
 * it printed: the train labels, or the error.
 */
export async function loadInChildProcess(
  options: object,
): Promise<{ labels?: number[]; error?: string; stderr: string }> {
  const { pathToFileURL } = await import('node:url');
  const here = dirname(fileURLToPath(import.meta.url));
  return runInChildProcess(`
    const { loadCifar10 } = await import(${JSON.stringify(pathToFileURL(join(here, 'load.ts')).href)});
    const data = await loadCifar10(${JSON.stringify(options)});
    process.stdout.write(JSON.stringify({ labels: [...data.train.labels] }));
  `) as Promise<{ labels?: number[]; error?: string; stderr: string }>;
}
