import cliProgress from 'cli-progress';
import type { TrainCallbacks } from './callbacks.ts';
import { checkProgressMode, formatMetric, type ProgressMode, progressLines } from './progress.ts';

/** How often the bar reads the metrics back from the device (each read waits for the queued steps). */
const READ_EVERY_MS = 1000;

/**
 * Progress as callbacks, in Node. The bar (cli-progress, on `stream`) shows batch, loss, accuracy, images/s and
 * ETA, reading the metrics at most once a second and at the epoch's last batch; the plain lines (for CI logs
 * and pipes) are {@link progressLines}. 'auto' is the bar when `stream` is a terminal.
 */
export function progressCallbacks(
  mode: ProgressMode,
  write: (line: string) => void,
  stream: NodeJS.WriteStream = process.stderr,
): TrainCallbacks {
  checkProgressMode(mode);
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return {};
  if (resolved === 'lines') return progressLines(write);
  let bar: cliProgress.SingleBar | null = null;
  let lastRead = Number.NEGATIVE_INFINITY;
  let shown = { loss: '-', acc: '-', ips: '-' };
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
      shown = { loss: '-', acc: '-', ips: '-' };
      bar.start(info.batches ?? 0, info.skip, shown);
    },
    onBatchEnd: async (b) => {
      if (b.batches === null) bar?.setTotal(b.batch);
      if (performance.now() - lastRead >= READ_EVERY_MS || b.batch === b.batches) {
        const m = await b.metrics();
        lastRead = performance.now();
        shown = {
          loss: formatMetric(m.trainLoss),
          acc: formatMetric(m.trainAcc),
          ips: m.examplesPerSec.toFixed(1),
        };
      }
      bar?.update(b.batch, shown);
    },
    onEvaluateStart: stop,
    onTrainEnd: stop,
  };
}
