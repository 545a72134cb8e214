import type { BatchEndInfo, TrainCallbacks } from './callbacks.ts';

/**
 * How progress is shown: a live bar on a terminal (Node only), plain lines, or nothing. 'auto' (the default) is
 * the bar on a terminal and lines elsewhere (pipes, CI logs, a browser). `@skipnet/cifar10` uses the same words.
 */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'none'];

/** Refuses a mode that is not a {@link ProgressMode}, so a misspelt one is not taken for another. */
export function checkProgressMode(mode: unknown): void {
  if (!MODES.includes(mode as ProgressMode)) {
    throw new Error(`progress must be ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)}`);
  }
}

export const formatMetric = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : String(v));

/**
 * Plain progress lines through `write`: five times an epoch at the Animator's points when the epoch's length is
 * known, else after batches 1, 2, 4, 8, … (a source without `length`, in its first epoch). Each line reads the
 * metrics back from the device, so these are also the only reads between epochs.
 */
export function progressLines(write: (line: string) => void): TrainCallbacks {
  let every: number | null = null;
  let next = 1;
  let epochs = 0;
  return {
    onEpochStart: (info) => {
      epochs = info.epochs;
      every = info.batches === null ? null : Math.max(1, Math.floor(info.batches / 5));
      next = 1;
    },
    onBatchEnd: async (b: BatchEndInfo) => {
      if (every === null) {
        if (b.batch < next) return;
        next = 2 * b.batch;
      } else if (b.batch % every !== 0 && b.batch !== b.batches) return;
      const m = await b.metrics();
      const of = b.batches === null ? '' : `/${b.batches}`;
      write(
        `  epoch ${b.epoch + 1}/${epochs}, batch ${b.batch}${of}, loss ${formatMetric(m.trainLoss)}, ` +
          `train acc ${formatMetric(m.trainAcc)}, ${m.examplesPerSec.toFixed(1)} img/s`,
      );
    },
  };
}

/**
 * Progress as callbacks: 'auto' and 'lines' give {@link progressLines}, 'none' nothing. The bar needs a terminal:
 * the Node entry's `progressCallbacks` draws it.
 */
export function progressCallbacks(mode: ProgressMode, write: (line: string) => void): TrainCallbacks {
  checkProgressMode(mode);
  if (mode === 'none') return {};
  if (mode === 'bar') {
    throw new Error("progress: 'bar' draws on a terminal, from @skipnet/trainer in Node; use 'lines' here");
  }
  return progressLines(write);
}
