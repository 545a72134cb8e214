/**
 * CIFAR-10 from bytes the caller supplies, on any platform: the extracted binary files (a browser's `File`s from a
 * file input, or files read from disk) or the official `.tar.gz` (a `Blob`, bytes, a stream, or a `fetch`
 * `Response`). Node's `loadCifar10` reads its cache folder through the same functions.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { readArchive } from './archive.ts';
import { CIFAR10_CLASSES, countRecords, decodeRecords, IMAGE_BYTES } from './format.ts';
import { CifarSplit, type Subset } from './split.ts';

/** MD5 of the official archive `cifar-10-binary.tar.gz` (170,052,171 bytes). */
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** A data set in memory. */
export interface CifarDataset {
  /** 'cifar10', or 'synthetic' for the built-in synthetic set (which is never CIFAR-10). */
  name: 'cifar10' | 'synthetic';
  /** The folder the files were read from, or null when made or read in memory. */
  dir: string | null;
  classNames: readonly string[];
  train: CifarSplit;
  test: CifarSplit;
}

/** Keep only part of each split: the first N images, or `{ perClass: N }`. */
export interface SubsetOptions {
  train?: Subset;
  test?: Subset;
}

/**
 * A file of the CIFAR-10 binary layout: a browser `File` (from `<input type="file" multiple>`) fits as it is, or
 * anything with a name, a size and its bytes.
 */
export interface CifarFile {
  /** The file's name, e.g. `data_batch_1.bin` (folders before it are ignored). */
  readonly name: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface ReadCifarFilesOptions {
  subset?: SubsetOptions;
  /**
   * The folder or archive the files are in, to name them in errors (`<source>/data_batch_1.bin`); without it, a
   * file is named by its own name.
   */
  source?: string;
}

/** What to do about a `.bin` file that is not whole records, when the files were picked, fetched or given as bytes. */
const GIVEN_FILES_REMEDY =
  'Pick or download the extracted files again, or give the archive cifar-10-binary.tar.gz itself (its MD5 is checked).';

const META = 'batches.meta.txt';
const TEST = 'test_batch.bin';
const TRAIN = /^data_batch_(\d+)\.bin$/;

function baseName(path: string): string {
  return path.slice(path.search(/[^\\/]*$/));
}

/**
 * Reads CIFAR-10 from its binary files: `data_batch_<n>.bin` (train, in numeric order, any number of files and
 * records), `test_batch.bin` and, optionally, `batches.meta.txt` (one class name per line; without it, CIFAR-10's
 * ten names). Other files are ignored. Every file must be a whole number of 3,073-byte records with labels below
 * the number of classes; the error names the file and the record. A set whose class names all start with
 * `synthetic-` is named 'synthetic', so it can never pass for CIFAR-10.
 */
export function readCifarFiles(
  files: Iterable<CifarFile> | ArrayLike<CifarFile>,
  options: ReadCifarFilesOptions = {},
): Promise<CifarDataset> {
  return readFiles(files, options, GIVEN_FILES_REMEDY);
}

/**
 * {@link readCifarFiles}, with `remedy` said after the error for a file that is not whole records: each way to
 * the files (a cache folder, an archive, files given) has its own.
 */
export async function readFiles(
  files: Iterable<CifarFile> | ArrayLike<CifarFile>,
  options: ReadCifarFilesOptions,
  remedy: string,
): Promise<CifarDataset> {
  const byName = new Map<string, CifarFile>();
  for (const file of Array.from(files)) {
    const name = baseName(file.name);
    if (byName.has(name)) throw new Error(`cifar10: two files are named ${name}; pass one of each`);
    byName.set(name, file);
  }
  const where = (name: string) => (options.source ? `${options.source}/${name}` : name);
  const trainFiles = [...byName.keys()]
    .map((n) => ({ n, m: TRAIN.exec(n) }))
    .filter((f) => f.m)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((f) => byName.get(f.n)!);
  const test = byName.get(TEST);
  if (trainFiles.length === 0 || !test) {
    const missing = [
      ...(trainFiles.length === 0 ? ['data_batch_1.bin … data_batch_5.bin'] : []),
      ...(test ? [] : [TEST]),
    ];
    const got = [...byName.keys()].slice(0, 10).join(', ') || 'no files';
    throw new Error(
      `cifar10: ${options.source ?? 'the files given'} lack ${missing.join(' and ')} (got ${got}). CIFAR-10's ` +
        `binary version holds data_batch_1.bin … data_batch_5.bin and test_batch.bin (and batches.meta.txt).`,
    );
  }
  const meta = byName.get(META);
  const classNames = meta
    ? new TextDecoder()
        .decode(await meta.arrayBuffer())
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length > 0)
    : CIFAR10_CLASSES;
  if (classNames.length === 0 || classNames.length > 256) {
    throw new Error(`cifar10: ${where(META)} should list 1–256 class names, one per line`);
  }
  const name = classNames.every((c) => c.startsWith('synthetic-')) ? 'synthetic' : 'cifar10';
  const readSplit = async (split: 'train' | 'test', parts: CifarFile[]) => {
    const counts = parts.map((f) => countRecords(f.size, where(baseName(f.name)), remedy));
    const total = counts.reduce((a, b) => a + b, 0);
    const images = new Uint8Array(total * IMAGE_BYTES);
    const labels = new Uint8Array(total);
    let offset = 0;
    for (const f of parts) {
      const bytes = new Uint8Array(await f.arrayBuffer());
      offset += decodeRecords(bytes, where(baseName(f.name)), classNames.length, images, labels, offset);
    }
    return new CifarSplit({ dataset: name, name: split, classNames, images, labels });
  };
  return applySubset(
    {
      name,
      dir: null,
      classNames,
      train: await readSplit('train', trainFiles),
      test: await readSplit('test', [test]),
    },
    options.subset,
  );
}

/** What {@link readCifarTarball} reads: the archive's bytes, a `Blob`/`File`, a stream, or a `fetch` `Response`. */
export type TarballSource = Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array> | Response;

export interface ReadCifarTarballOptions {
  /** Expected MD5 of the archive (default {@link CIFAR10_MD5}); null skips the check. */
  md5?: string | null;
  subset?: SubsetOptions;
  /** The archive's name in errors (default: the response's URL, the file's name, or 'the archive'). */
  name?: string;
  /** Called as bytes arrive: bytes so far, and the total when known. */
  onProgress?: (bytes: number, total: number | null) => void;
}

/**
 * Reads CIFAR-10 from its official archive, `cifar-10-binary.tar.gz` (or the same as a plain `.tar`), streamed:
 * unpacked in memory with the caps of {@link readArchive} (no entry larger than a CIFAR-10 file, no more than the
 * archive holds in all; links and paths outside the archive rejected), then read as {@link readCifarFiles} does.
 * The MD5 of the bytes read is checked against `md5` before anything is returned. A `Response` must be OK, and
 * one that ends before its `Content-Length` is an interrupted download.
 *
 * @example
 * const data = await readCifarTarball(await fetch('/data/cifar-10-binary.tar.gz')); // a URL serving it with CORS
 * const fromPicker = await readCifarTarball(input.files[0]);
 */
export async function readCifarTarball(
  source: TarballSource,
  options: ReadCifarTarballOptions = {},
): Promise<CifarDataset> {
  const expected = options.md5 === undefined ? CIFAR10_MD5 : options.md5;
  const { stream, name, total } = openSource(source, options.name);
  const hasher = expected ? md5.create() : null;
  let received = 0;
  let ended: () => void = () => {};
  const allRead = new Promise<void>((resolve) => {
    ended = resolve;
  });
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hasher?.update(chunk);
      received += chunk.byteLength;
      options.onProgress?.(received, total);
      controller.enqueue(chunk);
    },
    flush() {
      ended();
    },
  });
  const files: CifarFile[] = [];
  const folders = new Set<string>();
  try {
    for await (const entry of readArchive(stream.pipeThrough(hashing), name)) {
      const file = baseName(entry.path);
      if (file !== META && file !== TEST && !TRAIN.test(file)) continue;
      folders.add(entry.path.slice(0, entry.path.length - file.length));
      const bytes = entry.bytes;
      files.push({
        name: file,
        size: bytes.byteLength,
        arrayBuffer: async () =>
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      });
    }
  } catch (e) {
    if (total !== null && received < total) {
      throw new Error(
        `cifar10: the download of ${name} was interrupted after ${received.toLocaleString('en-US')} of ` +
          `${total.toLocaleString('en-US')} bytes (${(e as Error).message}); fetch it again`,
      );
    }
    throw new Error(`cifar10: ${(e as Error).message}`);
  }
  await allRead;
  if (total !== null && received !== total) {
    throw new Error(
      `cifar10: the download of ${name} ended after ${received.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ` +
        `bytes (interrupted); fetch it again`,
    );
  }
  if (hasher && expected) {
    const sum = bytesToHex(hasher.digest());
    if (sum !== expected.toLowerCase()) {
      throw new Error(
        `cifar10: checksum mismatch for ${name}: MD5 ${sum}, expected ${expected}. The file is damaged, cut short, or ` +
          `not cifar-10-binary.tar.gz: fetch it again, or pass md5: null to trust it.`,
      );
    }
  }
  if (folders.size > 1) {
    throw new Error(
      `cifar10: ${name} holds CIFAR files in several folders (${[...folders].join(', ')}); expected one`,
    );
  }
  return readFiles(
    files,
    { source: `${name}:${[...folders][0] ?? ''}`.replace(/\/$/, ''), subset: options.subset },
    `The archive is damaged or not CIFAR-10's binary version: get cifar-10-binary.tar.gz again, with its MD5 ` +
      `(${CIFAR10_MD5}) checked.`,
  );
}

function openSource(
  source: TarballSource,
  name: string | undefined,
): { stream: ReadableStream<Uint8Array>; name: string; total: number | null } {
  if (typeof Response !== 'undefined' && source instanceof Response) {
    const label = name ?? (source.url || 'the response');
    if (!source.ok || !source.body) {
      throw new Error(`cifar10: ${label} answered HTTP ${source.status} ${source.statusText}`.trimEnd());
    }
    const length = source.headers.get('content-length');
    const encoded = (source.headers.get('content-encoding') ?? 'identity') !== 'identity';
    // With a content encoding, Content-Length counts the encoded bytes, not those the body yields.
    return { stream: source.body, name: label, total: length && !encoded ? Number(length) : null };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const fileName = (source as Blob & { name?: string }).name;
    return { stream: source.stream(), name: name ?? fileName ?? 'the archive', total: source.size };
  }
  if (source instanceof ReadableStream) return { stream: source, name: name ?? 'the archive', total: null };
  if (!(source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
    throw new Error('cifar10: readCifarTarball takes a Blob, bytes, a ReadableStream or a Response');
  }
  const bytes =
    source instanceof ArrayBuffer
      ? new Uint8Array(source)
      : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return {
    stream: new ReadableStream<Uint8Array>({
      start(controller) {
        // In slices, so hashing, unpacking and reading overlap instead of holding a second whole copy.
        for (let i = 0; i < bytes.byteLength; i += 1 << 20)
          controller.enqueue(bytes.subarray(i, i + (1 << 20)));
        controller.close();
      },
    }),
    name: name ?? 'the archive',
    total: bytes.byteLength,
  };
}

export function applySubset(dataset: CifarDataset, subset: SubsetOptions | undefined): CifarDataset {
  if (!subset) return dataset;
  return {
    ...dataset,
    train: subset.train === undefined ? dataset.train : dataset.train.subset(subset.train),
    test: subset.test === undefined ? dataset.test : dataset.test.subset(subset.test),
  };
}
