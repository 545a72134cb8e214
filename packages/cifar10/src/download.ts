import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createProgress, type ProgressMode } from './progress.ts';

export interface DownloadOptions {
  url: string;
  /** Final path; the bytes go to `<dest>.part` first and are renamed only once complete and checked. */
  dest: string;
  /** Expected MD5 (hex), or null to skip the check. */
  md5: string | null;
  /** Further attempts after a failed one (each resumes where the last stopped). */
  retries: number;
  /** Give up on a connection that sends nothing for this long. */
  timeoutMs: number;
  progress: ProgressMode;
  log: (line: string) => void;
  label: string;
}

/** The download arrived whole but is not the file expected: its MD5 differs. The partial file is deleted. */
export class ChecksumError extends Error {
  override name = 'ChecksumError';
}

/** A failure worth another attempt (connection cut, stall, 5xx) versus one that will not change (404). */
class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** One request: appends to the partial file when the server honours the Range, else starts it over. */
async function attempt(o: DownloadOptions, part: string): Promise<void> {
  const have = await sizeOf(part);
  const controller = new AbortController();
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, o.timeoutMs);
  };
  poke();
  try {
    let res: Response;
    try {
      res = await fetch(o.url, {
        headers: have > 0 ? { range: `bytes=${have}-` } : {},
        signal: controller.signal,
        redirect: 'follow',
      });
    } catch (e) {
      throw new DownloadError(
        stalled ? `no response within ${o.timeoutMs} ms` : `request failed: ${describe(e)}`,
        true,
      );
    }
    if (res.status === 416 && have > 0) {
      // Our partial file is at least as long as the resource: let the checksum decide, or start over if longer.
      const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? Number.NaN);
      await res.body?.cancel();
      if (total === have) return;
      await rm(part, { force: true });
      throw new DownloadError(
        `partial file (${have} bytes) did not match the server's (${total} bytes)`,
        true,
      );
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new DownloadError(
        `HTTP ${res.status} ${res.statusText}`,
        res.status >= 500 || res.status === 429,
      );
    }
    let start = 0;
    let total = Number(res.headers.get('content-length') ?? Number.NaN);
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        await res.body.cancel();
        await rm(part, { force: true });
        throw new DownloadError(
          `server answered the range request with an unexpected range (${m?.[0]})`,
          true,
        );
      }
      start = have;
      total = m[3] === '*' ? Number.NaN : Number(m[3]);
    }
    const progress = createProgress(o.progress, o.label, total, start, o.log);
    let received = start;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        poke();
        progress.update(received);
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
        counter,
        createWriteStream(part, { flags: start > 0 ? 'a' : 'w' }),
      );
    } catch (e) {
      throw new DownloadError(
        stalled ? `connection stalled for ${o.timeoutMs} ms` : `connection lost: ${describe(e)}`,
        true,
      );
    } finally {
      progress.stop();
    }
    if (Number.isFinite(total) && received !== total) {
      throw new DownloadError(`connection closed after ${received} of ${total} bytes`, true);
    }
  } finally {
    clearTimeout(timer);
  }
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.message}${cause}`;
}

/**
 * Downloads `url` to `dest`: streamed into `<dest>.part`, resumed with HTTP Range after a cut connection (and
 * across runs), checked against the MD5, and renamed into place only when whole and correct. The caller holds the
 * cache lock, so the partial file is this process's alone.
 */
export async function download(o: DownloadOptions): Promise<void> {
  const part = `${o.dest}.part`;
  // A partial file from an earlier run may belong to another file (a changed mirror): if the whole then fails
  // the checksum, start over once rather than fail.
  const resumedEarlierRun = (await sizeOf(part)) > 0;
  await fetchWithRetries(o, part);
  if (o.md5) {
    let sum = await md5File(part);
    if (sum !== o.md5.toLowerCase() && resumedEarlierRun) {
      o.log(
        `${o.label}: checksum mismatch after resuming an earlier partial download; downloading it afresh`,
      );
      await rm(part, { force: true });
      await fetchWithRetries(o, part);
      sum = await md5File(part);
    }
    if (sum !== o.md5.toLowerCase()) {
      await rm(part, { force: true });
      throw new ChecksumError(
        `checksum mismatch for ${o.url}: MD5 ${sum}, expected ${o.md5}; the download was deleted`,
      );
    }
  }
  await rename(part, o.dest);
}

async function fetchWithRetries(o: DownloadOptions, part: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await attempt(o, part);
      return;
    } catch (e) {
      const retryable = e instanceof DownloadError && e.retryable;
      const message = e instanceof Error ? e.message : String(e);
      if (!retryable || i >= o.retries) {
        throw new Error(`${message}${i > 0 ? ` (after ${i + 1} attempts)` : ''}`);
      }
      o.log(`${o.label}: ${message}; retrying (${i + 1}/${o.retries}), resuming from the partial file`);
      await new Promise((r) => setTimeout(r, 250 * (i + 1)));
    }
  }
}
