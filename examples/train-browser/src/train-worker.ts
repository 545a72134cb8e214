// The training runs in this worker, so that the page stays responsive (tfjs's wasm and cpu backends compute on
// the thread that calls them): it reports lines, progress and the plot to the page, which only draws.
import {
  checkpointWeights,
  type History,
  plotSvg,
  type TrainCallbacks,
  TrainingAbortedError,
} from '@skipnet/trainer';
import type { FromWorker, ToWorker } from './protocol.ts';
import { backendFor, hasCheckpoint, runTraining, store } from './run.ts';
import type { TrainSettings } from './settings.ts';

const post = (message: FromWorker, transfer: Transferable[] = []) => self.postMessage(message, { transfer });
const log = (line: string) => post({ type: 'log', line });

/** Lets the worker take the page's messages (Stop) between batches: tfjs's reads never yield to its event loop. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Progress beside the bar, and the d2l plot growing at the Animator's five points an epoch. `run` gives the
 * settings the run trains with (known once a resumed run has read its checkpoint).
 */
function liveView(run: () => TrainSettings): TrainCallbacks {
  let history: History = { points: [], epochs: [] };
  let epochs = run().epochs;
  let lastRead = 0;
  const plot = () =>
    post({
      type: 'plot',
      svg: plotSvg(history, { epochs, title: run().model === 'seed' ? 'seed ResNet' : 'CIFAR ResNet' }),
    });
  return {
    onTrainStart: (info) => {
      epochs = info.epochs;
      plot();
    },
    onEpochStart: (info) => {
      post({
        type: 'progress',
        label: `epoch ${info.epoch + 1}/${epochs}`,
        value: info.skip,
        max: info.batches ?? 1,
        rate: '',
      });
    },
    onBatchEnd: async (b) => {
      const every = b.batches === null ? null : Math.max(1, Math.floor(b.batches / 5));
      const point = every !== null && (b.batch % every === 0 || b.batch === b.batches);
      // Reading the metrics waits for the device: at the plot's points, and beside the bar at most twice a second.
      if (point || performance.now() - lastRead > 500) {
        lastRead = performance.now();
        const m = await b.metrics();
        post({
          type: 'progress',
          label: `epoch ${b.epoch + 1}/${epochs}, batch ${b.batch}/${b.batches ?? '?'}, loss ${m.trainLoss.toFixed(3)}, train acc ${m.trainAcc.toFixed(3)}`,
          value: b.batch,
          max: b.batches ?? b.batch,
          rate: `${m.examplesPerSec.toFixed(1)} img/s`,
        });
        if (point) {
          history.points.push({
            epoch: b.epoch + b.batch / b.batches!,
            trainLoss: m.trainLoss,
            trainAcc: m.trainAcc,
          });
          plot();
        }
      }
      await yieldToEvents();
    },
    onEvaluateStart: (info) => {
      post({
        type: 'progress',
        label: `epoch ${info.epoch + 1}/${epochs}: evaluating on the test set`,
        value: 1,
        max: 1,
        rate: '',
      });
    },
    onEpochEnd: (info) => {
      history = structuredClone(info.history);
      plot();
      const r = info.record;
      post({
        type: 'progress',
        label: `epoch ${r.epoch}/${epochs} done: loss ${r.loss.toFixed(3)}, test acc ${r.testAcc.toFixed(3)}`,
        value: 1,
        max: 1,
        rate: '',
      });
      return yieldToEvents();
    },
  };
}

let controller: AbortController | null = null;

async function train(
  settings: TrainSettings,
  files: File[],
  resume: { given: readonly string[] } | null,
): Promise<void> {
  controller = new AbortController();
  let outcome: FromWorker & { type: 'finished' };
  let used = settings;
  try {
    post({ type: 'backend', choice: await backendFor(settings.backend) });
    await runTraining(settings, { files }, resume, {
      log,
      onSettings: (run) => {
        used = run;
        post({ type: 'settings', settings: run });
      },
      signal: controller.signal,
      callbacks: liveView(() => used),
      onData: (dataset) => post({ type: 'dataset', synthetic: dataset.name === 'synthetic' }),
    });
    outcome = { type: 'finished', outcome: 'done', message: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    outcome = {
      type: 'finished',
      outcome: error instanceof TrainingAbortedError ? 'stopped' : 'error',
      message,
    };
  } finally {
    controller = null;
  }
  // Whether a run is saved, before the run's end: a page (or a script) that sees it end can Resume at once.
  let saved = false;
  try {
    saved = await hasCheckpoint();
  } catch (error) {
    log(`error: cannot read the saved run: ${(error as Error).message}`);
  }
  post({ type: 'saved', saved });
  post(outcome);
}

self.addEventListener('message', (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'train':
      void train(message.settings, message.files, message.resume ? { given: message.given } : null);
      break;
    case 'stop':
      controller?.abort();
      break;
    case 'weights':
      checkpointWeights(store).then(
        (bytes) => post({ type: 'weights', bytes, message: null }, [bytes.buffer]),
        (error: Error) => post({ type: 'weights', bytes: null, message: error.message }),
      );
      break;
    case 'saved?':
      void hasCheckpoint().then((saved) => post({ type: 'saved', saved }));
      break;
  }
});
