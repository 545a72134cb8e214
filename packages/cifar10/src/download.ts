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
  /** Give up when the whole download, every attempt included, has not finished this long after it started. */
  deadlineMs: number;
  progress: ProgressMode;
  log: (line: string) => void;
  label: string;
}

/** The download arrived whole but is not the file expected: its MD5 differs. The partial file is deleted. */
export class ChecksumError extends Error {
  override name = 'ChecksumError';
}

/** The download did not finish within `deadlineMs`; the partial file is kept for the next run to resume. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
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

/**
 * How a response body ended: `whole` when its length was known and all of it arrived; otherwise (the server sent
 * no length: chunked or closed to end it) only a request for the bytes after it can tell a whole file from a cut
 * one, and `received` is what the partial file holds.
 */
type Ended = { whole: true } | { whole: false; received: number };

/**
 * One request: appends to the partial file when the server honours the Range, else starts it over. `lastUnknown`
 * is the length of the previous body that ended without a length, if the last request gave one: a server that
 * ignores Range and sends the same length again has confirmed it.
 */
async function attempt(
  o: DownloadOptions,
  part: string,
  deadline: number,
  lastUnknown: number | null,
): Promise<Ended> {
  const have = await sizeOf(part);
  const controller = new AbortController();
  let why: 'stalled' | 'deadline' | null = null;
  let timer: NodeJS.Timeout | undefined;
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      why = 'stalled';
      controller.abort();
    }, o.timeoutMs);
  };
  const deadlineTimer = setTimeout(
    () => {
      why = 'deadline';
      controller.abort();
    },
    Math.max(0, deadline - Date.now()),
  );
  let received = have;
  let total = Number.NaN;
  const deadlineError = () =>
    new DeadlineError(
      `the download did not finish within ${formatDuration(o.deadlineMs)}: ${received.toLocaleString('en-US')}` +
        `${Number.isFinite(total) ? ` of ${total.toLocaleString('en-US')}` : ''} bytes arrived (the partial file ` +
        'is kept; a later load resumes it)',
    );
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
      if (why === 'deadline') throw deadlineError();
      throw new DownloadError(
        why === 'stalled' ? `no response within ${o.timeoutMs} ms` : `request failed: ${describe(e)}`,
        true,
      );
    }
    if (res.status === 416 && have > 0) {
      // Our partial file is at least as long as the resource: whole if the lengths agree (or the server does
      // not say), else start over.
      const length = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? Number.NaN);
      await res.body?.cancel();
      if (length === have || Number.isNaN(length)) return { whole: true };
      await rm(part, { force: true });
      throw new DownloadError(
        `partial file (${have} bytes) did not match the server's (${length} bytes)`,
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
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    total = encoded ? Number.NaN : Number(res.headers.get('content-length') ?? Number.NaN);
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
      if (lastUnknown !== null) {
        o.log(
          `${o.label}: the server has more than the ${have.toLocaleString('en-US')} bytes sent before: that ` +
            'download was interrupted; resuming it',
        );
      }
    }
    received = start;
    const progress = createProgress(o.progress, o.label, total, start, o.log);
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
      if (why === 'deadline') throw deadlineError();
      throw new DownloadError(
        why === 'stalled' ? `connection stalled for ${o.timeoutMs} ms` : `connection lost: ${describe(e)}`,
        true,
      );
    } finally {
      progress.stop();
    }
    if (Number.isFinite(total)) {
      if (received !== total) {
        throw new DownloadError(`connection closed after ${received} of ${total} bytes`, true);
      }
      return { whole: true };
    }
    // No length: a server that ignored the Range and sent as much as last time has confirmed the length.
    if (res.status === 200 && lastUnknown === received) return { whole: true };
    return { whole: false, received };
  } finally {
    clearTimeout(timer);
    clearTimeout(deadlineTimer);
  }
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.message}${cause}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}

/**
 * Downloads `url` to `dest`: streamed into `<dest>.part`, resumed with HTTP Range after a cut connection (and
 * across runs), checked against the MD5, and renamed into place only when whole and correct. A body that ends
 * without the server having said its length is not taken as whole: a Range request for the bytes after it either
 * finds the end (416) or resumes an interrupted download. The whole download, attempts included, must finish
 * within `deadlineMs`. The caller holds the cache lock, so the partial file is this process's alone.
 */
export async function download(o: DownloadOptions): Promise<void> {
  const part = `${o.dest}.part`;
  const deadline = Date.now() + o.deadlineMs;
  // A partial file from an earlier run may belong to another file (a changed mirror): if the whole then fails
  // the checksum, start over once rather than fail.
  const resumedEarlierRun = (await sizeOf(part)) > 0;
  await fetchWhole(o, part, deadline);
  if (o.md5) {
    let sum = await md5File(part);
    if (sum !== o.md5.toLowerCase() && resumedEarlierRun) {
      o.log(
        `${o.label}: checksum mismatch after resuming an earlier partial download; downloading it afresh`,
      );
      await rm(part, { force: true });
      await fetchWhole(o, part, deadline);
      sum = await md5File(part);
    }
    if (sum !== o.md5.toLowerCase()) {
      const size = await sizeOf(part);
      await rm(part, { force: true });
      throw new ChecksumError(
        `checksum mismatch for ${o.url}: MD5 ${sum}, expected ${o.md5}; the download (the whole file, ` +
          `${size.toLocaleString('en-US')} bytes) was deleted`,
      );
    }
  }
  await rename(part, o.dest);
}

/**
 * Requests until the partial file holds the whole resource: failures are retried (`retries` times, resuming),
 * and bodies without a length are followed by a request for what comes after them (not a failure, but bounded the
 * same way, so a server that keeps ending early without a length cannot loop forever).
 */
async function fetchWhole(o: DownloadOptions, part: string, deadline: number): Promise<void> {
  let failures = 0;
  let unconfirmed = 0;
  let lastUnknown: number | null = null;
  for (;;) {
    let ended: Ended;
    try {
      ended = await attempt(o, part, deadline, lastUnknown);
    } catch (e) {
      if (e instanceof DeadlineError) throw e;
      const retryable = e instanceof DownloadError && e.retryable;
      const message = e instanceof Error ? e.message : String(e);
      if (!retryable || failures >= o.retries) {
        throw new Error(`${message}${failures > 0 ? ` (after ${failures + 1} attempts)` : ''}`);
      }
      failures++;
      lastUnknown = null;
      const have = await sizeOf(part);
      const from = have > 0 ? `, resuming after the ${have.toLocaleString('en-US')} bytes already here` : '';
      o.log(`${o.label}: ${message}; retrying (${failures}/${o.retries})${from}`);
      await new Promise((r) => setTimeout(r, 250 * failures));
      continue;
    }
    if (ended.whole) return;
    if (unconfirmed++ > o.retries) {
      throw new Error(
        `the server ended ${unconfirmed} responses without saying their length, and could not confirm the file ` +
          `is whole (it ignores Range requests and sent different lengths); download it another way and pass tarball`,
      );
    }
    o.log(
      `${o.label}: the server sent ${ended.received.toLocaleString('en-US')} bytes without saying the length; ` +
        'asking for the bytes after them, to tell a whole file from an interrupted download',
    );
    lastUnknown = ended.received;
  }
}
