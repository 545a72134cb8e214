/**
 * Reading CIFAR-10's `.tar.gz` from bytes, on any platform: gunzip with the platform's `DecompressionStream`, tar
 * entries with `modern-tar`, and the checks that keep a hostile archive from filling memory or a disk.
 */
import { createTarDecoder, type ParsedTarEntry } from 'modern-tar';
import { RECORD_BYTES } from './format.ts';

/** The size of each batch file in CIFAR-10's archive (10,000 records): no entry of the archive is larger. */
export const MAX_ENTRY_BYTES = 10_000 * RECORD_BYTES;
/**
 * What the whole archive may unpack to: its six batch files (184,380,000 bytes) plus headers and the two small
 * text files, with room to spare. A gzip bomb stops here instead of filling memory or the disk.
 */
export const MAX_ARCHIVE_BYTES = 200_000_000;

/** Caps on what an archive may unpack to (the defaults fit CIFAR-10's archive). */
export interface ArchiveLimits {
  /** Largest entry, in bytes (default {@link MAX_ENTRY_BYTES}). */
  entryBytes: number;
  /** Largest unpacked archive, tar headers included (default {@link MAX_ARCHIVE_BYTES}). */
  totalBytes: number;
}

export const CIFAR_ARCHIVE_LIMITS: ArchiveLimits = {
  entryBytes: MAX_ENTRY_BYTES,
  totalBytes: MAX_ARCHIVE_BYTES,
};

/** One plain file of an archive, its path relative to the archive's root. */
export interface ArchiveEntry {
  path: string;
  bytes: Uint8Array;
}

const ENTRY_KINDS: Record<string, string> = {
  link: 'hard link',
  symlink: 'symbolic link',
  'character-device': 'character device',
  'block-device': 'block device',
  fifo: 'FIFO',
};

/**
 * Why an entry must not be unpacked, or null. Only plain files and folders whose paths stay inside the archive's
 * root are allowed: `..`, absolute paths and links (a link could point a later entry outside) are path traversal.
 */
function unsafeEntry(path: string, type: string): string | null {
  if (type !== 'file' && type !== 'directory') {
    return `it is a ${ENTRY_KINDS[type] ?? type} entry; only plain files and folders are allowed (path traversal)`;
  }
  if (/^([\\/]|[A-Za-z]:)/.test(path)) return 'its path is absolute (path traversal)';
  if (path.split(/[\\/]+/).includes('..')) return "its path contains '..' (path traversal)";
  return null;
}

/**
 * An archive that cannot be used: `refused` when it breaks a rule (a link, a path outside it, an entry or a total
 * beyond the caps), else unreadable (corrupt, truncated, not a tar).
 */
export class ArchiveError extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
  }
}

/**
 * The entries of a `.tar.gz` or plain `.tar` (sniffed by gzip's magic bytes) streamed from `stream`, each plain
 * file whole, folders skipped. Throws {@link ArchiveError}, naming `source` and the entry, on a link, a path
 * outside the archive, an entry larger than `limits.entryBytes` (checked on its header, before a byte of it is
 * unpacked), more than `limits.totalBytes` unpacked in all, or a truncated or corrupt archive. Stopping early
 * (a `break`, an error) cancels the stream, so decompression stops too.
 */
export async function* readArchive(
  stream: ReadableStream<Uint8Array>,
  source: string,
  limits: ArchiveLimits = CIFAR_ARCHIVE_LIMITS,
): AsyncGenerator<ArchiveEntry, void, undefined> {
  let unpacked = 0;
  const count = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      unpacked += chunk.byteLength;
      if (unpacked > limits.totalBytes) {
        controller.error(
          new ArchiveError(
            `${source} unpacks to more than ${limits.totalBytes.toLocaleString('en-US')} bytes, more than ` +
              `CIFAR-10's archive holds: it is not the CIFAR-10 archive (a decompression bomb?)`,
            true,
          ),
        );
        return;
      }
      controller.enqueue(chunk);
    },
  });
  const tar = (await sniffGzip(stream)).pipeThrough(count).pipeThrough(createTarDecoder({ strict: true }));
  const entries = tar.getReader();
  try {
    for (;;) {
      const next = await entries.read().catch((e: unknown) => {
        throw unreadable(e, source, `${source} is not a readable archive`);
      });
      if (next.done) return;
      const { header, body } = next.value as ParsedTarEntry;
      const why = unsafeEntry(header.name, header.type ?? 'file');
      if (why) throw new ArchiveError(`${source}: entry '${header.name}' was rejected: ${why}`, true);
      if (header.size > limits.entryBytes) {
        throw new ArchiveError(
          `${source}: entry '${header.name}' is ${header.size.toLocaleString('en-US')} bytes, more than any file of ` +
            `CIFAR-10's archive (${limits.entryBytes.toLocaleString('en-US')} bytes): it is not the CIFAR-10 ` +
            `archive (a decompression bomb?)`,
          true,
        );
      }
      if (header.type === 'directory') {
        await body.cancel();
        continue;
      }
      const bytes = await readBody(body, header.size).catch((e: unknown) => {
        throw unreadable(e, source, `${source}: entry '${header.name}' could not be read`);
      });
      yield { path: header.name.replace(/^(\.\/)+/, ''), bytes };
    }
  } finally {
    await entries.cancel().catch(() => {});
  }
}

async function readBody(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let offset = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes.set(value, offset);
    offset += value.byteLength;
  }
  if (offset !== size) throw new Error(`the archive ends after ${offset} of its ${size} bytes (truncated)`);
  return bytes;
}

/** `stream`, gunzipped when it starts with gzip's magic bytes (1f 8b). */
async function sniffGzip(stream: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  let head = new Uint8Array(0);
  while (head.byteLength < 2) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(head.byteLength + value.byteLength);
    joined.set(head);
    joined.set(value, head.byteLength);
    head = joined;
  }
  const replay = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.byteLength > 0) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  return gzipped
    ? replay.pipeThrough(new DecompressionStream('gzip') as TransformStream<Uint8Array, Uint8Array>)
    : replay;
}

/** The error for a stream that failed: a cap's own error as it is, a cut archive said to be cut. */
function unreadable(e: unknown, source: string, what: string): ArchiveError {
  if (e instanceof ArchiveError) return e;
  if (/unexpected end|truncated/i.test(message(e))) {
    return new ArchiveError(
      `${source} ends early (${message(e)}): it was cut short, by an interrupted download or a partial copy`,
      false,
    );
  }
  return new ArchiveError(`${what}: ${message(e)}`, false);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
