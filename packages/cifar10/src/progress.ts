import cliProgress from 'cli-progress';

/**
 * How downloads report progress: a bar on a terminal, plain lines (one every 10% or 15 s), or nothing. 'auto' (the
 * default) is the bar on a terminal and lines elsewhere. The same words as `@skipnet/trainer`'s `ProgressMode`.
 */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'none'];

/** Refuses a mode that is not a {@link ProgressMode}, so a misspelt one is not taken for another. */
export function checkProgressMode(mode: unknown): void {
  if (!MODES.includes(mode as ProgressMode)) {
    throw new Error(
      `cifar10: progress must be ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)}`,
    );
  }
}

export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

const MB = 1e6;

/** A bar (cli-progress) on a TTY, else a plain line every 10% or 15 s, so CI logs stay short. */
export function createProgress(
  mode: ProgressMode,
  label: string,
  total: number,
  start: number,
  log: (line: string) => void,
): Progress {
  const resolved = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, stop() {} };
  if (!(total > 0)) {
    // The server sent no length: report bytes only.
    let lastTime = Date.now();
    log(`${label}: downloading (size unknown)`);
    return {
      update(bytes) {
        if (Date.now() - lastTime > 15_000) {
          lastTime = Date.now();
          log(`${label}: ${(bytes / MB).toFixed(1)} MB`);
        }
      },
      stop() {},
    };
  }
  if (resolved === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {done}/{size} MB | {speed} MB/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const t0 = Date.now();
    const size = (total / MB).toFixed(1);
    bar.start(total, start, { done: (start / MB).toFixed(1), size, speed: '0.0' });
    return {
      update(bytes) {
        const s = (Date.now() - t0) / 1000;
        bar.update(bytes, {
          done: (bytes / MB).toFixed(1),
          speed: s > 0 ? ((bytes - start) / MB / s).toFixed(1) : '0.0',
        });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastTenth = Math.floor((start / total) * 10);
  let lastTime = Date.now();
  log(
    `${label}: ${start > 0 ? `resuming at ${(start / MB).toFixed(1)} MB of` : 'downloading'} ${(total / MB).toFixed(1)} MB`,
  );
  return {
    update(bytes) {
      const tenth = Math.floor((bytes / total) * 10);
      const now = Date.now();
      if (tenth > lastTenth || now - lastTime > 15_000) {
        lastTenth = tenth;
        lastTime = now;
        log(
          `${label}: ${(bytes / MB).toFixed(1)} / ${(total / MB).toFixed(1)} MB (${Math.floor((bytes / total) * 100)}%)`,
        );
      }
    },
    stop() {},
  };
}
