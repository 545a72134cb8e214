import cliProgress from 'cli-progress';
import type { BatchEndInfo, TrainCallbacks } from './callbacks.ts';

/** How progress is shown: a live bar on a terminal, plain lines otherwise ('auto'), or nothing. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : String(v));

/**
 * Progress as callbacks. The bar (cli-progress, on stderr) shows batch, loss, accuracy, images/s and ETA; the
 * plain lines (for CI logs and pipes) come five times an epoch, at the Animator's points.
 */
export function progressCallbacks(
  mode: ProgressMode,
  write: (line: string) => void,
  stream: NodeJS.WriteStream = process.stderr,
): TrainCallbacks {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return {};
  if (resolved === 'lines') {
    let every = 1;
    let epochs = 0;
    return {
      onEpochStart: (info) => {
        epochs = info.epochs;
        every = info.batches === null ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(info.batches / 5));
      },
      onBatchEnd: (b: BatchEndInfo) => {
        if (b.batch % every !== 0 && b.batch !== b.batches) return;
        const of = b.batches === null ? '' : `/${b.batches}`;
        write(
          `  epoch ${b.epoch + 1}/${epochs}, batch ${b.batch}${of}, loss ${fmt(b.trainLoss)}, ` +
            `train acc ${fmt(b.trainAcc)}, ${b.examplesPerSec.toFixed(1)} img/s`,
        );
      },
    };
  }
  let bar: cliProgress.SingleBar | null = null;
  // Stopped before evaluation, so that the epoch line (on stdout) never lands on the bar's row.
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    onEpochStart: (info) => {
      bar = new cliProgress.SingleBar(
        {
          stream,
          format:
            `epoch ${info.epoch + 1}/${info.epochs} {bar} {value}/{total} | loss {loss} | acc {acc} | ` +
            '{ips} img/s | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(info.batches ?? 0, info.skip, { loss: '-', acc: '-', ips: '-' });
    },
    onBatchEnd: (b) => {
      if (b.batches === null) bar?.setTotal(b.batch);
      bar?.update(b.batch, {
        loss: fmt(b.trainLoss),
        acc: fmt(b.trainAcc),
        ips: b.examplesPerSec.toFixed(1),
      });
    },
    onEvaluateStart: stop,
    onTrainEnd: stop,
  };
}
